"""The README's recipe for a zone seeded from another one: a mesh of zones a and b gains zone c,
whose data is a standby cluster's copy of zone a, then promoted, cleaned of zone a's copied node
with `stazctl mesh forget-copy`, and joined to the mesh (pglogical, or Spock with
STAZ_MESH_PROVIDER=spock).

What must hold: zone c starts with every row of zones a and b, then replicates with both, both
ways; nothing is lost; zone a's subscription and its slot on zone b are never touched (the
copy's own `drop_subscription` would have dropped that slot, its apply worker could have
consumed it); and `forget-copy` refuses on a standby."""

import signal

import pytest

from testkit.harness import Cluster
from testkit.mesh import MESH_TABLE, Mesh
from testkit.support import NotYet, psql_value, wait_until

pytestmark = pytest.mark.staz_only

SEED_SLOT = "zone_c"


def role_of(cluster, name):
    view = cluster.cluster_view() or {}
    return next((m.get("role") for m in view.get("members", []) if m["name"] == name), None)


def logical_slots(member):
    """The provider's slots (staz's held copies, `staz_held_*`, left out)."""
    out = psql_value(member.pg_port, "SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots "
                                     "WHERE slot_type = 'logical' AND slot_name NOT LIKE 'staz%'", database="app")
    return set(out.split(",")) if out else set()


def insert(mesh, scope, ids):
    mesh.sql(scope, f"INSERT INTO public.{MESH_TABLE} (id, zone) SELECT g, '{scope}' FROM generate_series({ids[0]}, {ids[-1]}) g")


def ids_everywhere(mesh, ids, timeout):
    for scope in mesh.scopes:
        mesh.wait_rows(scope, ids, timeout=timeout)


def two_zones_and_a_standby_of_zone_a(request, make_cluster):
    """Zones a and b meshed (one member each) with 200 rows; zone c's c0 a standby cluster of
    zone a through the slot SEED_SLOT. Returns (mesh, zone_c, a0, b0, c0, rows, zone a's
    slots on zone b)."""
    mesh = Mesh(make_cluster, register=request.node.staz_clusters.append, zones=("zone-a", "zone-b"))
    mesh.add_members(per_zone=1)
    for cluster in mesh.zones.values():
        cluster.wait_for_healthy(replicas=0, timeout=180)
    mesh.wait_replicating(timeout=120)
    a0, b0 = mesh.zones["zone-a"].members["a0"], mesh.zones["zone-b"].members["b0"]
    # Zone c will stream from zone a through a permanent physical slot there.
    mesh.first.ctl("edit-config", "zone-a", "--set", f"slots.{SEED_SLOT}.type=physical", "--force")
    wait_until(lambda: psql_value(a0.pg_port, f"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{SEED_SLOT}'") == "1"
               or None, 30, "the seeding slot on zone a")
    insert(mesh, "zone-a", range(1, 101))
    insert(mesh, "zone-b", range(1001, 1101))
    rows = list(range(1, 101)) + list(range(1001, 1101))
    ids_everywhere(mesh, rows, timeout=30)
    a_slots_on_b = logical_slots(b0)
    assert len(a_slots_on_b) == 1, a_slots_on_b

    zone_c = Cluster(mesh.first.profile, scope="zone-c")
    request.node.staz_clusters.append(zone_c)
    zone_c.etcd_port = mesh.first.etcd_port
    c0 = zone_c.add_member("c0", overrides={"bootstrap": {"dcs": {"standby_cluster": {
        "host": "127.0.0.1", "port": a0.pg_port, "primary_slot_name": SEED_SLOT}}}})
    wait_until(lambda: role_of(zone_c, "c0") == "standby_leader" or None, 180, "c0 is zone c's standby leader")
    return mesh, zone_c, a0, b0, c0, rows, a_slots_on_b


def promote_when_caught_up(zone_c, a0, c0):
    """The quiet window: zone c replays all of zone a's WAL, then is promoted."""
    target = psql_value(a0.pg_port, "SELECT pg_current_wal_lsn()")
    wait_until(lambda: psql_value(c0.pg_port, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") == "t" or None,
               60, "zone c replayed zone a's last WAL")
    zone_c.ctl("promote-cluster", "zone-c", "--force")
    wait_until(lambda: role_of(zone_c, "c0") in ("leader", "primary") or None, 60, "zone c promoted")
    wait_until(lambda: psql_value(c0.pg_port, "SELECT pg_is_in_recovery()") == "f" or None, 30, "c0 out of recovery")


def local_node(mesh, member):
    return psql_value(member.pg_port, f"SELECT n.node_name FROM {mesh.provider}.local_node l "
                                      f"JOIN {mesh.provider}.node n USING (node_id)", database="app")


def test_a_zone_seeded_from_another_joins_the_mesh_and_leaves_its_slots_alone(request, make_cluster):
    # Zone c without a mesh section yet (so without the provider's library: no worker can start
    # from the copied catalog).
    mesh, zone_c, a0, b0, c0, before, a_slots_on_b = two_zones_and_a_standby_of_zone_a(request, make_cluster)
    # Rows written while zone c is seeded, in both zones: zone b's reach it through zone a.
    insert(mesh, "zone-a", range(101, 151))
    insert(mesh, "zone-b", range(1101, 1151))
    seeded = before + list(range(101, 151)) + list(range(1101, 1151))
    ids_everywhere(mesh, seeded, timeout=30)

    refused = zone_c.ctl("mesh", "forget-copy", "--force", check=False)
    assert refused.returncode != 0 and "no 'mesh' section" in refused.stdout + refused.stderr, refused
    c0.overrides["mesh"] = {**mesh.mesh_section(), "zones": ["zone-a", "zone-b", "zone-c"]}
    c0.write_config()
    refused = zone_c.ctl("mesh", "forget-copy", "--force", check=False)
    assert refused.returncode != 0 and "still a standby" in refused.stdout + refused.stderr, refused

    # No writes anywhere from here until zone c is in the mesh.
    promote_when_caught_up(zone_c, a0, c0)
    copied = local_node(mesh, c0)
    assert copied == "zone_a", f"zone c's copy holds {copied!r}"

    done = zone_c.ctl("mesh", "forget-copy", "--force")
    assert "forgot zone zone-a's node zone_a" in done.stdout, done.stdout
    assert psql_value(c0.pg_port, f"SELECT count(*) FROM pg_extension WHERE extname = '{mesh.provider}'", database="app") == "0"
    assert psql_value(c0.pg_port, "SELECT count(*) FROM pg_replication_origin") == "0"
    again = zone_c.ctl("mesh", "forget-copy", "--force")
    assert "nothing copied" in again.stdout, again.stdout

    # Zone c's staz restarts with the mesh section (its PostgreSQL with the library), and
    # zones a and b reload with zone c in their zone list.
    c0.kill_daemon(signal.SIGTERM)
    assert c0.wait_daemon_exit(60) is not None, "c0's staz stops"
    c0.start()
    mesh.scopes.append("zone-c")
    mesh.zones["zone-c"] = zone_c
    for member in (a0, b0):
        member.overrides["mesh"] = mesh.mesh_section()
        member.write_config()
        member.kill_daemon(signal.SIGHUP)
    mesh.wait_replicating(timeout=180)
    assert local_node(mesh, c0) == "zone_c"

    # Every zone writes; every row reaches every zone; zone c kept the seeded rows.
    insert(mesh, "zone-a", range(201, 221))
    insert(mesh, "zone-b", range(1201, 1221))
    insert(mesh, "zone-c", range(2001, 2021))
    after = seeded + list(range(201, 221)) + list(range(1201, 1221)) + list(range(2001, 2021))
    ids_everywhere(mesh, after, timeout=60)
    counts = {scope: mesh.sql(scope, f"SELECT count(*) FROM public.{MESH_TABLE}") for scope in mesh.scopes}
    assert set(counts.values()) == {str(len(after))}, counts
    # Zone a's slot on zone b is the one it had, still in use by zone a.
    assert a_slots_on_b <= logical_slots(b0), (a_slots_on_b, logical_slots(b0))

    def a_slot_active():
        name = next(iter(a_slots_on_b))
        active = psql_value(b0.pg_port, f"SELECT active FROM pg_replication_slots WHERE slot_name = '{name}'")
        if active != "t":
            raise NotYet(f"{name} active={active}")
        return True
    wait_until(a_slot_active, 30, "zone a's slot on zone b in use")

    # The seeding slot, unused since the promotion, would keep zone a's WAL: removed.
    mesh.first.ctl("edit-config", "zone-a", "--set", f"slots.{SEED_SLOT}=null", "--force")
    wait_until(lambda: psql_value(a0.pg_port, f"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{SEED_SLOT}'") == "0"
               or None, 30, "the seeding slot dropped")
    mesh.note(f"rows per zone: {counts}")


def test_a_copy_promoted_with_the_library_loaded_has_its_subscriptions_paused(request, make_cluster):
    """The recipe's steps out of order: zone c has its mesh section (so the provider's library)
    before `forget-copy`. Promoted, the copy's apply worker starts on zone a's slot on zone b;
    zone c's leader disables it at its first pass, and `forget-copy` refuses while the library is
    loaded. Zone a keeps receiving zone b's rows through its own slot."""
    mesh, zone_c, a0, b0, c0, rows, a_slots_on_b = two_zones_and_a_standby_of_zone_a(request, make_cluster)
    c0.overrides["mesh"] = {**mesh.mesh_section(), "zones": ["zone-a", "zone-b", "zone-c"]}
    c0.write_config()
    c0.kill_daemon(signal.SIGTERM)
    assert c0.wait_daemon_exit(60) is not None, "c0's staz stops"
    c0.start()
    wait_until(lambda: role_of(zone_c, "c0") == "standby_leader" or None, 60, "c0 is the standby leader again")
    assert mesh.provider in psql_value(c0.pg_port, "SHOW shared_preload_libraries"), "the library is loaded on the standby"
    promote_when_caught_up(zone_c, a0, c0)
    assert local_node(mesh, c0) == "zone_a"

    def copied_subscriptions_disabled():
        enabled = psql_value(c0.pg_port, f"SELECT count(*) FROM {mesh.provider}.subscription WHERE sub_enabled", database="app")
        if enabled != "0":
            raise NotYet(f"{enabled} copied subscription(s) enabled")
        return True
    wait_until(copied_subscriptions_disabled, 30, "the copy's subscriptions disabled by zone c's leader")
    assert f"disable subscription {mesh.subscription('zone-b', 'zone-a')} copied from another zone" in c0.log_text()
    code, body = c0.rest("/mesh")
    notes = " ".join((body.get("last_reconcile") or {}).get("notes", [])) if code == 200 else ""
    assert "stazctl mesh forget-copy" in notes, body
    refused = zone_c.ctl("mesh", "forget-copy", "--force", check=False)
    assert refused.returncode != 0 and "is loaded" in refused.stdout + refused.stderr, refused
    assert psql_value(c0.pg_port, f"SELECT count(*) FROM pg_extension WHERE extname = '{mesh.provider}'", database="app") == "1"

    # Zone a's slot on zone b is still zone a's: zone b's new rows reach zone a, not zone c.
    insert(mesh, "zone-b", range(1151, 1171))
    mesh.wait_rows("zone-a", list(range(1151, 1171)), timeout=30)
    assert a_slots_on_b <= logical_slots(b0)
    assert psql_value(c0.pg_port, f"SELECT count(*) FROM public.{MESH_TABLE} WHERE id >= 1151", database="app") == "0"
