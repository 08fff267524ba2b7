"""The mesh across failovers (issue 5): three zones x two members (pglogical 2.4.2 on
PostgreSQL 15, or Spock 5 with STAZ_MESH_PROVIDER=spock), writers in every zone through each
zone's HAProxy.

- Synchronous mode inside each zone: a switchover in one zone, then node loss of another zone's
  primary (staz + postgres, kill -9). Every subscription replicates again, and every
  acknowledged row ends up in all three zones: 0 lost, 0 skipped.
- Asynchronous mode with a replica held behind: with pglogical, rows of the lost timeline that
  reached the other zones are listed in divergence reports; with Spock, its standby guard keeps
  them from leaving the zone at all. Either way no commit made on the new primary is skipped
  by any subscriber (staz moved their origins back to the switch point).
- Synchronous mode, a subscriber zone's primary lost after confirming peer rows its standby
  never received (pglogical applies with synchronous_commit=local; Spock 5 reports its last
  received position once nothing waits for a local flush): the rows still reach the promoted
  standby."""

import json
import os
import signal
import time

import pytest

from testkit.mesh import MESH_DATABASE, MESH_TABLE
from testkit.mesh_workload import (ZoneWriters, count_outcome, healthy_pauses, ids_in, lsn_value, pauses_by_subscription,
                           start_mesh, wait_slot_copies_ready)
from testkit.support import NotYet, freeze_process, psql, wait_until

pytestmark = pytest.mark.staz_only

def divergence_reports(mesh, scope):
    return (mesh.mesh_status(scope) or {}).get("divergence_reports") or []


def held_slot_story(mesh, slot, limit=40):
    """What every daemon logged about held slots and post-failover checks, and what each
    PostgreSQL logged about `slot`: the failure message then tells the order of events even
    when the report's log tails are cut off."""
    lines = []
    for zone in mesh.zones.values():
        for member in zone.members.values():
            for path, words in ((member.log_path, ("held slot", "mesh integrity", "promoted self")),
                                (member.pg_log_path, (slot, "spock.readonly"))):
                try:
                    with open(path, errors="replace") as handle:
                        lines += [(line[:23], f"{member.name}: {line.strip()[:240]}") for line in handle
                                  if any(word in line for word in words)]
                except OSError:
                    pass
    # Both logs start with the time (2026-12-04 14:14:54,785 / 2026-12-04 14:14:54.785).
    lines.sort(key=lambda pair: pair[0].replace(",", "."))
    return "\n".join(text for _, text in lines[-limit:])


def test_switchover_and_node_loss_in_sync_mode_lose_nothing(request, make_cluster, profile):
    # On Spock, zone-a's promoted member moves its subscriptions' origins only 2 s after
    # recovery ended (fault injection), so Spock's apply workers certainly start first: they
    # must apply nothing until the origins moved, or what the provider's held slot copy sends
    # again is applied twice. pglogical has no hand-off; the setting does nothing there.
    mesh = start_mesh(make_cluster, request.node.staz_clusters.append, "on",
                      daemon_env={"zone-a": {"STAZ_FAULT_HANDOFF_DELAY_MS": "2000"}})
    with ZoneWriters(mesh) as writers:
        writers.wait_all(30, 60, "before the faults")

        # 1. Switchover inside zone-b: the mesh keeps replicating.
        zone_b = mesh.zones["zone-b"]
        old_b = zone_b.leader_name()
        candidate = next(name for name in zone_b.members if name != old_b)
        zone_b.ctl("switchover", "zone-b", "--candidate", candidate, "--force")
        zone_b.wait_for_new_leader({old_b}, profile.failover_timeout)
        writers["zone-b"].wait_for_acks(30, 60, "after the switchover")
        mesh.wait_replicating(timeout=60)
        mesh.note(f"zone-b switched over {old_b} -> {candidate}; mesh replicating")

        # 2. Node loss of zone-a's primary. After zone-b's switchover zone-a may put a held slot
        # copy in a slot's place, and its replica then copies that slot again and restarts to
        # load it, dropping out of /sync for a few seconds: a primary lost in that window is
        # rightly not replaced (the replica may lack acknowledged commits). The promise tested
        # here is about a zone whose synchronous standby is in place, so the kill waits for it
        # (fresh-clone run 27 killed zone-a's primary 3 s into such a restart).
        zone_a = mesh.zones["zone-a"]
        old_a = zone_a.leader_name()
        wait_slot_copies_ready(mesh, timeout=60)
        standby = next(m for name, m in zone_a.members.items() if name != old_a)
        wait_until(lambda: standby.rest("/sync")[0] == 200, 30, f"{standby.name} is zone-a's synchronous standby")
        fault = time.monotonic()
        zone_a.members[old_a].crash()
        mesh.note(f"zone-a: kill -9 of {old_a} (staz + postgres)")
        new_a = zone_a.wait_for_new_leader({old_a}, profile.failover_timeout)
        promoted = time.monotonic()
        mesh.wait_replicating(timeout=15)
        replicating = time.monotonic()
        print(f"\nMEASURED zone-a node loss: new leader {new_a} after {promoted - fault:.1f} s; "
              f"all 6 subscriptions replicating {replicating - promoted:.1f} s after the promotion")
        writers["zone-a"].wait_for_acks(30, 60, "after the failover")
        writers.wait_all(20, 60, "at the end")

    missing, duplicated = count_outcome(mesh, writers, timeout=90)
    lost = sum(len(ids) for ids in missing.values())
    for scope in mesh.scopes:
        print(f"  {scope} divergence reports: {divergence_reports(mesh, scope)}")
    assert lost == 0, f"acknowledged rows missing: {missing}"
    assert not duplicated, f"rows applied twice (keyless table): {duplicated}"
    # Nothing is missing, so nothing may be reported (a report the operator must check by hand
    # for nothing is noise; Spock once reported a gap from the start of the provider's WAL).
    reports = {scope: divergence_reports(mesh, scope) for scope in mesh.scopes}
    assert not any(reports.values()), f"reports where no row is missing: {reports}"
    # Subscriptions are paused only where a zone changed its primary, and not over and over
    # (Spock once paused and resumed the same subscriptions about 60 times in 60 s).
    pauses = pauses_by_subscription(mesh)
    print(f"PAUSES by subscription: {pauses}")
    assert not healthy_pauses(mesh, pauses, ["zone-a", "zone-b"]), f"healthy subscriptions paused: {pauses}"
    assert all(count <= 4 for count in pauses.values()), f"subscriptions paused again and again: {pauses}"
    if mesh.provider == "spock":
        with open(zone_a.members[new_a].log_path, errors="replace") as handle:
            log = handle.read()
        for line in log.splitlines():
            if "gate" in line or "resumes from" in line or "apply worker" in line:
                print(f"HANDOFF {new_a}: {line}")
        assert "resumes from" in log, f"{new_a} never moved a subscription's origin"
        assert "may be applied twice" not in log, f"{new_a} reports a hand-off it lost"
    # The promoted member kept the mesh slots: the subscriptions from zone-a use them.
    slots = mesh.sql("zone-a", "SELECT count(*) FROM pg_replication_slots WHERE plugin = "
                     f"'{mesh.output_plugin}' AND NOT coalesce(wal_status = 'lost', false)", database=MESH_DATABASE)
    assert int(slots) >= 2, f"zone-a's new primary has {slots} usable mesh slots"


def assert_lost_timeline_reported(mesh):
    """Both subscriber zones report the range of zone-a's lost timeline they hold."""
    def reported():
        found = {}
        for scope in ("zone-b", "zone-c"):
            mine = [r for r in divergence_reports(mesh, scope)
                    if r.get("provider") == "zone_a" and r.get("kind") == "subscriber_ahead"]
            if not mine:
                raise NotYet(f"no report in {scope} yet")
            found[scope] = mine[-1]
        return found
    reports = wait_until(reported, 60, "divergence reports in zone-b and zone-c")
    for scope, report in reports.items():
        print(f"\nREPORT {scope}: {report}")
        start, end = lsn_value(report["from_lsn"]), lsn_value(report["to_lsn"])
        # Every row of the lost timeline in this zone was inserted inside the reported range
        # (`note` is the WAL position just before its insert; its commit ends after it).
        out = mesh.sql(scope, f"SELECT id, note FROM public.{MESH_TABLE} WHERE id <= 20 ORDER BY id")
        for line in out.splitlines():
            row, position = line.split("|")
            assert lsn_value(position) < end, (scope, row, position, report)
        assert start < end


def test_async_divergence_is_reported_and_new_commits_are_not_skipped(request, make_cluster, profile):
    mesh = start_mesh(make_cluster, request.node.staz_clusters.append, "off")
    zone_a = mesh.zones["zone-a"]
    old = zone_a.leader_name()
    replica = next(m for name, m in zone_a.members.items() if name != old)

    # Hold zone-a's replica behind: stop its WAL receiver, then commit rows on the primary
    # that reach zone-b and zone-c but never the replica. The stopped receiver is killed after
    # the primary, so what sits unread in its socket is lost with it (a SIGCONT would deliver
    # it); the replica's postmaster restarts its children and it recovers from its own WAL.
    code, receiver, err = psql(replica.pg_port, "SELECT pid FROM pg_stat_wal_receiver")
    assert code == 0 and receiver, err
    freeze_process(int(receiver))
    mesh.note(f"zone-a: WAL receiver of {replica.name} (pid {receiver}) stopped")
    lost_timeline = list(range(1, 21))
    try:
        for row in lost_timeline:
            mesh.sql("zone-a", f"INSERT INTO public.{MESH_TABLE} VALUES ({row}, 'zone-a', "
                     "pg_current_wal_lsn()::text)")
        if mesh.provider == "spock":
            # Spock's standby guard (spock.pg_standby_slot_names, set by staz to the streaming
            # standbys' slots) holds the logical walsenders back until the standby has the WAL:
            # no other zone gets ahead of the standby that will be promoted.
            time.sleep(5)
            for scope in ("zone-b", "zone-c"):
                assert ids_in(mesh, scope, 1, 21) == set(), f"{scope} got rows zone-a's standby lacks"
            mesh.note("rows 1..20 of zone-a held back from zone-b and zone-c by the standby guard")
        else:
            for scope in ("zone-b", "zone-c"):
                mesh.wait_rows(scope, lost_timeline, timeout=30)
            mesh.note("rows 1..20 of zone-a reached zone-b and zone-c, not zone-a's replica")
        zone_a.members[old].crash()
        mesh.note(f"zone-a: kill -9 of {old}")
    finally:
        os.kill(int(receiver), signal.SIGKILL)
    new = zone_a.wait_for_new_leader({old}, profile.failover_timeout)
    assert new == replica.name
    mesh.wait_replicating(timeout=60)

    if mesh.provider == "spock":
        # Nothing of the lost timeline left zone-a: no zone holds those rows and no zone
        # reports a divergence.
        time.sleep(5)
        for scope in mesh.scopes:
            assert ids_in(mesh, scope, 1, 21) == set(), scope
        for scope in ("zone-b", "zone-c"):
            assert not [r for r in divergence_reports(mesh, scope) if r.get("provider") == "zone_a"], scope
    else:
        assert_lost_timeline_reported(mesh)

    # New commits on the promoted primary reach both zones: nothing in the reused LSN range
    # was skipped.
    fresh = list(range(1001, 1051))
    for row in fresh:
        mesh.sql("zone-a", f"INSERT INTO public.{MESH_TABLE} VALUES ({row}, 'zone-a', 'new timeline')")
    for scope in ("zone-b", "zone-c"):
        mesh.wait_rows(scope, fresh, timeout=60)
    on_new_primary = ids_in(mesh, "zone-a", 1, 21)
    print(f"COUNTED rows of the lost timeline: {len(lost_timeline)} in zone-b/zone-c, "
          f"{len(on_new_primary)} on zone-a's new primary; 50 new-timeline rows in every zone")


def test_peer_changes_confirmed_by_a_lost_primary_reach_its_successor(request, make_cluster, profile):
    """pglogical's apply worker commits with synchronous_commit=local and confirms a peer's
    change to the provider once it is flushed locally, so a subscriber zone's primary can
    confirm changes its synchronous standby never received. The provider's slot is then past
    them: when that primary dies and the standby takes over, nothing sends them again unless
    staz does. Forced here: zone-a's standby is held behind while zone-b's rows are applied and
    confirmed by zone-a's primary, which is then lost, its apply workers still connected to
    their providers (as a partitioned primary's would be)."""
    mesh = start_mesh(make_cluster, request.node.staz_clusters.append, "on")
    zone_a = mesh.zones["zone-a"]
    old = zone_a.leader_name()
    replica = next(m for name, m in zone_a.members.items() if name != old)
    subscription = mesh.subscription("zone-b", "zone-a")
    slot = mesh.sql("zone-a", f"SELECT slot_name FROM {mesh.fn('subscription_status')}('{subscription}')")
    assert slot, f"no slot name for {subscription} on zone-a's primary"
    # zone-a's ledger names the slot before anything was applied through it: that is where
    # zone-b finds the walsenders of zone-a's subscriptions once zone-a loses its primary.
    wait_until(lambda: slot in json.loads(zone_a.dcs_get("mesh") or "{}").get("subscription_slots", []),
               30, f"zone-a's mesh ledger names {slot}")
    rows = list(range(9_000_001, 9_000_021))

    # Hold zone-a's synchronous standby behind (as in the async test). Nothing is written in
    # zone-a meanwhile: its own commits would wait for this standby. pglogical's apply worker
    # does not wait (synchronous_commit=local), which is the point. The stopped window stays
    # well under wal_sender_timeout (60 s), or the primary would drop the standby from /sync
    # and no failover would happen at all. The mesh can be ready a moment before the primary
    # names its synchronous standby: wait for it, so the failover is certain.
    wait_until(lambda: replica.rest("/sync")[0] == 200, 30, f"{replica.name} is the synchronous standby")
    code, receiver, err = psql(replica.pg_port, "SELECT pid FROM pg_stat_wal_receiver")
    assert code == 0 and receiver, err
    freeze_process(int(receiver))
    mesh.note(f"zone-a: WAL receiver of {replica.name} (pid {receiver}) stopped")
    try:
        for row in rows:
            mesh.sql("zone-b", f"INSERT INTO public.{MESH_TABLE} VALUES ({row}, 'zone-b', "
                     "'confirmed by a lost primary')")
        written = mesh.sql("zone-b", "SELECT pg_current_wal_lsn()")
        for scope in ("zone-a", "zone-c"):
            mesh.wait_rows(scope, rows, timeout=30)

        # zone-b's slot for zone-a is past the last row: zone-a's old primary confirmed rows
        # its standby cannot have (its receiver is stopped), so zone-b will not resend them.
        def confirmed():
            position = mesh.sql("zone-b", "SELECT confirmed_flush_lsn FROM pg_replication_slots "
                                f"WHERE slot_name = '{slot}'")
            if not position or lsn_value(position) < lsn_value(written):
                raise NotYet(f"slot {slot} confirmed {position or 'nothing'} < {written}")
            return position
        position = wait_until(confirmed, 30, f"zone-b's slot {slot} confirmed past {written}",
                              interval=0.25)
        # ... and zone-a's standby is behind the WAL that holds them (zone-a's LSNs).
        code, out, err = psql(zone_a.members[old].pg_port, "SELECT pg_current_wal_lsn(), flush_lsn "
                              f"FROM pg_stat_replication WHERE application_name = '{replica.name}'")
        assert code == 0 and out, f"{replica.name} not in {old}'s pg_stat_replication: {err}"
        primary_wal, standby_flush = out.split("|")
        assert lsn_value(standby_flush) < lsn_value(primary_wal), (primary_wal, standby_flush)
        mesh.note(f"rows {rows[0]}..{rows[-1]} of zone-b applied by {old} and confirmed (slot "
                  f"{slot} at {position} >= {written}); {old} wrote up to {primary_wal}, "
                  f"{replica.name} flushed only {standby_flush}")
        # Its apply workers are stopped first and outlive it: their connections stay open, as
        # a partitioned primary's do, so each provider's walsender for zone-a keeps its slot
        # until wal_sender_timeout (60 s) unless staz ends it.
        code, out, err = psql(zone_a.members[old].pg_port,
                              "SELECT pid FROM pg_stat_activity WHERE backend_type ILIKE '%apply%'")
        assert code == 0 and out, f"no apply workers on {old}: {err}"
        stale_workers = [int(pid) for pid in out.split()]
        for pid in stale_workers:
            freeze_process(pid)
        zone_a.members[old].crash()
        fault = time.monotonic()
        mesh.note(f"zone-a: apply workers {stale_workers} of {old} stopped, then kill -9 of {old} (staz + postgres)")
    finally:
        # After the primary: what sits unread in the stopped receiver's socket dies with it.
        os.kill(int(receiver), signal.SIGKILL)
    try:
        new = zone_a.wait_for_new_leader({old}, profile.failover_timeout)
        promoted = time.monotonic()
        assert new == replica.name, f"zone-a promoted {new}, not its synchronous standby {replica.name}"
        # Half of wal_sender_timeout: the walsenders of the stopped workers must not be what
        # ends the wait.
        mesh.wait_replicating(timeout=30)
    finally:
        for pid in stale_workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    replicating = time.monotonic()

    def present():
        seen = ids_in(mesh, "zone-a", rows[0], rows[-1] + 1)
        if seen != set(rows):
            raise NotYet(f"missing on zone-a's new primary: {sorted(set(rows) - seen)}")
        return True
    try:
        wait_until(present, 60, f"zone-b's rows {rows[0]}..{rows[-1]} on zone-a's new primary")
    except AssertionError:
        missing = sorted(set(rows) - ids_in(mesh, "zone-a", rows[0], rows[-1] + 1))
        reports = divergence_reports(mesh, "zone-a")
        raise AssertionError(
            f"zone-b's rows confirmed by zone-a's lost primary {old} never reached its successor "
            f"{new}: missing {{'zone-b->zone-a': {missing}}}; zone-a divergence reports: "
            f"{reports}\nheld slots and failover checks, in time order:\n{held_slot_story(mesh, slot)}") from None
    present_after = time.monotonic() - promoted
    count = mesh.sql("zone-a", f"SELECT count(*) FROM public.{MESH_TABLE} "
                     f"WHERE id BETWEEN {rows[0]} AND {rows[-1]}")
    assert int(count) == len(rows), f"zone-a's new primary holds {count} rows of {len(rows)}"
    for scope in ("zone-b", "zone-c"):
        assert ids_in(mesh, scope, rows[0], rows[-1] + 1) == set(rows), scope
    print(f"\nMEASURED zone-a node loss with {len(rows)} confirmed, unreplicated peer rows: new "
          f"leader {new} after {promoted - fault:.1f} s; mesh replicating "
          f"{replicating - promoted:.1f} s and all rows present {present_after:.1f} s after "
          "the promotion")


def test_a_primary_restarted_after_a_crash_applies_nothing_twice(request, make_cluster, profile):
    """Zone-c's postmaster is killed (staz keeps running and still holds the lock): staz starts
    it again as primary. With Spock, crash recovery moves only the node-numbered origins, so
    staz starts it behind the apply gate and moves each slot-named origin up to what recovery
    replayed before any apply worker applies, then opens the gate. Every acknowledged row
    ends up in all three zones, none twice."""
    mesh = start_mesh(make_cluster, request.node.staz_clusters.append, "on")
    zone_c = mesh.zones["zone-c"]
    leader = zone_c.members[zone_c.leader_name()]
    with ZoneWriters(mesh) as writers:
        writers.wait_all(30, 60, "before the crash")
        leader.kill_postmaster()
        mesh.note(f"zone-c: kill -9 of {leader.name}'s postmaster (staz keeps running)")

        def restarted():
            if "starting primary after failure" not in leader.log_text():
                raise NotYet("no restart logged yet")
            return True
        wait_until(restarted, profile.failover_timeout, f"{leader.name} restarting its primary")
        mesh.wait_replicating(timeout=60)
        writers["zone-c"].wait_for_acks(30, 60, "after the restart")
        writers.wait_all(20, 60, "at the end")

    missing, duplicated = count_outcome(mesh, writers, timeout=90)
    assert not any(missing.values()), f"acknowledged rows missing: {missing}"
    assert not duplicated, f"rows applied twice (keyless table): {duplicated}"
    assert zone_c.leader_name() == leader.name, "zone-c's leader changed: no crash restart was tested"
    if mesh.provider == "spock":
        code, out, err = psql(leader.pg_port, "SHOW spock.readonly")
        assert code == 0 and out == "off", (f"Spock's apply gate is left closed: {out}", err)
        # With writers running, recovery replayed commits past the last checkpoint: the
        # slot-named origins were behind and the hand-off moved them.
        moved = [line for line in leader.log_text().splitlines() if "resumes from" in line]
        assert moved, f"{leader.name} moved no subscription's origin after its crash"
