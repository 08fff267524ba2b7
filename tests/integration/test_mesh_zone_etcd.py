"""Three zones, each on its own one-member etcd (named in every member's `mesh.zones` entry), as
zones across regions are run: a zone's HA never depends on another zone's etcd.

With zone-c's etcd stopped, zone-a loses its primary (node loss). Zone-a fails over on its own
etcd and zones a and b keep replicating to each other; zone-c, in failsafe mode, keeps its
primary and its writes, and the others report its DCS unreachable in GET /mesh. When zone-c's
etcd returns, the mesh catches up: every acknowledged row of every zone is in all three, once."""

import json
import time

import pytest

from testkit.mesh_workload import ZoneWriters, count_outcome, start_mesh
from testkit.support import NotYet, psql, wait_until

pytestmark = pytest.mark.staz_only


def zone_view(mesh, scope, other):
    """The `zones` entry for `other` in the GET /mesh of `scope`'s leader."""
    status = mesh.mesh_status(scope) or {}
    return next((z for z in status.get("zones", []) if z.get("scope") == other), {})


def test_zones_on_their_own_etcd_fail_over_while_another_zones_etcd_is_down(request, make_cluster, profile):
    mesh = start_mesh(make_cluster, request.node.staz_clusters.append, "on", own_etcd=True,
                      dcs={"failsafe_mode": True})
    ports = {scope: cluster.etcd_port for scope, cluster in mesh.zones.items()}
    assert len(set(ports.values())) == 3, ports
    mesh.note(f"etcd per zone: {ports}")
    # Every zone reads the others' keys from their own etcd.
    for scope in mesh.scopes:
        for other in mesh.scopes:
            if other == scope:
                continue
            view = zone_view(mesh, scope, other)
            assert view.get("dcs") == f"etcd3 http://127.0.0.1:{ports[other]}", (scope, view)
            assert view.get("dcs_reachable") is True, (scope, view)

    # stazctl, given zone-a's configuration, reads another zone's members from that zone's etcd.
    listed = mesh.zones["zone-a"].ctl("list", "zone-c", "-f", "json").stdout
    assert sorted(m["Member"] for m in json.loads(listed)) == sorted(mesh.zones["zone-c"].members), listed

    with ZoneWriters(mesh) as writers:
        writers.wait_all(30, 60, "before the faults")

        # 1. Zone-c's etcd stops. Its primary stays (failsafe: both members answer it).
        zone_c = mesh.zones["zone-c"]
        leader_c = zone_c.members[zone_c.leader_name()]
        zone_c.stop_etcd()
        stopped = time.monotonic()

        def failsafe_active():
            code, body = leader_c.rest("/patroni")
            if code != 200 or body.get("failsafe_mode_is_active") is not True:
                raise NotYet(f"{leader_c.name}: {code} {body.get('role') if isinstance(body, dict) else body}")
            return body
        wait_until(failsafe_active, 60, f"{leader_c.name} in failsafe mode")
        for scope in ("zone-a", "zone-b"):
            wait_until(lambda: zone_view(mesh, scope, "zone-c").get("dcs_reachable") is False or None, 30,
                       f"{scope}'s GET /mesh reporting zone-c's DCS unreachable")
        mesh.note(f"zone-c in failsafe mode, reported unreachable {time.monotonic() - stopped:.1f} s after its etcd stopped")
        table = mesh.zones["zone-a"].ctl("mesh").stdout
        assert "zone zone-c's DCS is unreachable from here" in table, table
        writers["zone-c"].wait_for_acks(20, 60, "with its etcd stopped")

        # 2. Zone-a loses its primary: it fails over on its own etcd.
        zone_a = mesh.zones["zone-a"]
        old_a = zone_a.leader_name()
        standby = next(m for name, m in zone_a.members.items() if name != old_a)
        wait_until(lambda: standby.status().get("logical_slots_ready") is True or None, 60,
                   f"{standby.name}'s copies of zone-a's mesh slots ready")
        wait_until(lambda: standby.rest("/sync")[0] == 200, 30, f"{standby.name} is zone-a's synchronous standby")
        fault = time.monotonic()
        zone_a.members[old_a].crash()
        mesh.note(f"zone-a: kill -9 of {old_a} (staz + postgres) with zone-c's etcd stopped")
        new_a = zone_a.wait_for_new_leader({old_a}, profile.failover_timeout)
        promoted = time.monotonic()
        mesh.wait_replicating(timeout=60, among=["zone-a", "zone-b"])
        print(f"\nMEASURED zone-a node loss with zone-c's etcd down: new leader {new_a} after {promoted - fault:.1f} s; "
              f"zones a and b replicating to each other {time.monotonic() - promoted:.1f} s later")
        writers["zone-a"].wait_for_acks(30, 60, "after the failover")
        # Zones a and b replicate to each other: rows written after the failover cross over.
        after_a, after_b = writers["zone-a"].acked[-5:], writers["zone-b"].acked[-5:]
        mesh.wait_rows("zone-b", after_a, timeout=30)
        mesh.wait_rows("zone-a", after_b, timeout=30)
        writers["zone-c"].wait_for_acks(20, 60, "after zone-a's failover, its etcd still stopped")
        assert leader_c.status().get("role") == "primary", "zone-c's primary did not keep its role"

        # 3. Zone-c's etcd returns: the mesh catches up.
        zone_c.restart_etcd()
        mesh.wait_replicating(timeout=120)
        for scope in ("zone-a", "zone-b"):
            wait_until(lambda: zone_view(mesh, scope, "zone-c").get("dcs_reachable") is True or None, 30,
                       f"{scope}'s GET /mesh reporting zone-c's DCS reachable again")
        writers.wait_all(20, 60, "at the end")

    missing, duplicated = count_outcome(mesh, writers, timeout=120)
    assert not missing, f"acknowledged rows missing: {missing}"
    assert not duplicated, f"rows applied twice (keyless table): {duplicated}"
    # Zone-c's primary never changed: it kept its role through the whole outage.
    assert zone_c.leader_name() == leader_c.name
    code, out, err = psql(leader_c.pg_port, "SELECT pg_is_in_recovery()")
    assert code == 0 and out == "f", (out, err)
