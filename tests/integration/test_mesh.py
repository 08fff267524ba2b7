"""The managed three-zone mesh (issue 5; pglogical 2.4.2 on PostgreSQL 15, or Spock 5 with
STAZ_MESH_PROVIDER=spock): three zones of two
members each, one shared etcd, every member configured with the same `mesh` section. From empty
data directories the zone leaders build the full mesh themselves; reconciliation is idempotent
and repairs a dropped subscription and an overridden setting."""

import os
import pwd
import re
import subprocess
import time

import pytest

from testkit.mesh import MESH_DATABASE, MESH_KEYLESS_TABLE, MESH_TABLE, Mesh
from testkit.support import PG_BIN, SUPERUSER_PASSWORD, NotYet, psql, wait_until

# MeshCatalogLock.key in StazMesh: every staz writer of the subscription catalog holds it.
MESH_CATALOG_LOCK = 0x7374617A6D657368
LOCK_HOLDER = "staz-test-catalog-lock"


def hold_catalog_lock(port):
    """A session holding the mesh catalog lock, as the integrity check does while it pauses a
    subscription; released by release_catalog_lock."""
    env = dict(os.environ, PGPASSWORD=SUPERUSER_PASSWORD, PGAPPNAME=LOCK_HOLDER)
    holder = subprocess.Popen([f"{PG_BIN}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                               "-d", MESH_DATABASE, "-Atc", f"SELECT pg_advisory_lock({MESH_CATALOG_LOCK})",
                               "-c", "SELECT pg_sleep(300)"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def held():
        code, out, _ = psql(port, "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                            f"WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = '{LOCK_HOLDER}'")
        if code != 0 or out != "1":
            raise NotYet("catalog lock not held yet")
        return True
    wait_until(held, 10, "the test session holds the mesh catalog lock")
    return holder


def release_catalog_lock(port, holder):
    psql(port, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{LOCK_HOLDER}'")
    holder.wait(timeout=10)

pytestmark = pytest.mark.staz_only


@pytest.fixture
def mesh(request, make_cluster):
    return Mesh(make_cluster, register=request.node.staz_clusters.append)


def catalog_snapshot(mesh, scope):
    """The mesh catalog rows of a zone's leader (nodes, interfaces, subscriptions, sets)."""
    p = mesh.provider
    return mesh.sql(scope, f"""
        SELECT string_agg(line, E'\\n' ORDER BY line) FROM (
          SELECT 'if ' || n.node_name || ' ' || i.if_id || ' ' || i.if_name || ' ' || i.if_dsn AS line
            FROM {p}.node n JOIN {p}.node_interface i ON i.if_nodeid = n.node_id
          UNION ALL SELECT 'sub ' || sub_name || ' ' || sub_origin_if || ' ' || sub_target_if || ' '
                           || sub_enabled || ' ' || sub_slot_name || ' ' || sub_replication_sets::text
                           || ' ' || sub_forward_origins::text FROM {p}.subscription
          UNION ALL SELECT 'local ' || node_id || ' ' || node_local_interface FROM {p}.local_node
          UNION ALL SELECT 'set ' || set_name FROM {p}.replication_set
          UNION ALL SELECT 'table ' || set_id || ' ' || set_reloid::text FROM {p}.replication_set_table
        ) lines""")


def test_three_zones_converge_replicate_and_repair(mesh, profile):
    started = time.monotonic()
    mesh.add_members(per_zone=2)
    for cluster in mesh.zones.values():
        cluster.wait_for_healthy(replicas=1, timeout=180)
    healthy = time.monotonic() - started
    mesh.wait_replicating(timeout=120)
    converged = time.monotonic() - started
    mesh.note(f"zones healthy after {healthy:.1f} s, 6 subscriptions replicating after {converged:.1f} s")
    print(f"\nMEASURED mesh bootstrap (3 zones x 2 members, empty data dirs -> 6 subscriptions "
          f"replicating): {converged:.1f} s (zones healthy: {healthy:.1f} s)")

    # The required settings are on every member, replicas included. `output_plugin_libraries`
    # exists only on servers patched to require it (Debian's 15.20 here; 15.18 has none): staz
    # sets it where the server knows it, and so this checks it only there.
    # A replica restarts once to load the logical slots it copied (slot failover), so it may
    # not answer for a moment: wait for it, within a bound.
    def settings_of(member):
        code, out, err = psql(member.pg_port, "SELECT current_setting('wal_level') || ' ' || "
                              "current_setting('track_commit_timestamp') || ' ' || "
                              f"current_setting('{mesh.provider}.conflict_resolution') || ' ' || "
                              "coalesce(current_setting('output_plugin_libraries', true), '(none)')")
        if code != 0:
            raise NotYet(err)
        return out

    for cluster in mesh.zones.values():
        for member in cluster.members.values():
            out = wait_until(lambda: settings_of(member), 30, f"{member.name} answers", interval=0.5)
            assert out in (f"logical on last_update_wins pgoutput, test_decoding, {mesh.output_plugin}",
                           "logical on last_update_wins (none)"), (member.name, out)

    # A row written in any zone appears in the other two.
    for index, scope in enumerate(mesh.scopes):
        mesh.sql(scope, f"INSERT INTO public.{MESH_TABLE} VALUES ({index + 1}, '{scope}', 'first')")
    for scope in mesh.scopes:
        mesh.wait_rows(scope, [1, 2, 3], timeout=30)
    mesh.note("rows from every zone present in every zone")

    # Reconciling a converged mesh changes nothing: the passes apply nothing, plan nothing,
    # and the catalogs stay byte for byte the same.
    before = {scope: catalog_snapshot(mesh, scope) for scope in mesh.scopes}
    for scope in mesh.scopes:
        for reconcile in mesh.wait_for_passes(scope, 2, timeout=30):
            assert reconcile["applied"] == [] and reconcile["pending"] == [], (scope, reconcile)
            assert reconcile["converged"] is True and reconcile["errors"] == [], (scope, reconcile)
    after = {scope: catalog_snapshot(mesh, scope) for scope in mesh.scopes}
    assert before == after

    # A missing subscription is re-created (zone-b -> zone-a dropped in zone-a). Rows written
    # while it is missing are not resent (a new slot starts at its creation): write after.
    dropped = mesh.subscription("zone-b", "zone-a")
    mesh.sql("zone-a", f"SELECT {mesh.fn('drop_subscription')}(subscription_name => '{dropped}')")
    mesh.note(f"dropped {dropped}")
    repair_started = time.monotonic()

    def recreated_and_replicating():
        status = mesh.sql("zone-a", f"SELECT status FROM {mesh.fn('subscription_status')}("
                          f"subscription_name => '{dropped}')")
        if status != "replicating":
            raise NotYet(status or "missing")
        return True
    wait_until(recreated_and_replicating, 60, f"{dropped} re-created and replicating")
    print(f"MEASURED dropped subscription replicating again after {time.monotonic() - repair_started:.1f} s")
    # Created once at bootstrap and once now, both by staz (its log names every action).
    created = sum(1 for member in mesh.zones["zone-a"].members.values()
                  for line in member.log_text().splitlines()
                  if f"INFO: mesh: app: create subscription {dropped} " in line)
    assert created == 2, f"{dropped} created {created} times by staz"
    mesh.sql("zone-b", f"INSERT INTO public.{MESH_TABLE} VALUES (10, 'zone-b', 'after repair')")
    mesh.wait_rows("zone-a", [10], timeout=30)
    mesh.wait_rows("zone-c", [10], timeout=30)
    mesh.wait_replicating(timeout=30)
    mesh.note("dropped subscription repaired")

    # A wrong setting is repaired: an ALTER SYSTEM override of a setting the mesh needs (Spock
    # accepts only last_update_wins as its conflict resolution, so there its exception mode).
    name, wrong, wanted = ((f"{mesh.provider}.conflict_resolution", "apply_remote", "last_update_wins")
                           if mesh.provider == "pglogical" else
                           ("spock.exception_behaviour", "transdiscard", "discard"))
    mesh.sql("zone-c", f"ALTER SYSTEM SET {name} = '{wrong}'", database="postgres")
    mesh.sql("zone-c", "SELECT pg_reload_conf()", database="postgres")
    mesh.note(f"zone-c: {name} overridden with {wrong}")

    def repaired():
        value = mesh.sql("zone-c", f"SHOW {name}", database="postgres")
        if value != wanted:
            raise NotYet(value)
        auto = mesh.sql("zone-c", f"SELECT count(*) FROM pg_file_settings WHERE name = "
                        f"'{name}' AND sourcefile LIKE '%postgresql.auto.conf'",
                        database="postgres")
        if auto != "0":
            raise NotYet("override still in postgresql.auto.conf")
        return True
    wait_until(repaired, 30, f"{name} back to {wanted}")
    resets = sum(1 for member in mesh.zones["zone-c"].members.values()
                 for line in member.log_text().splitlines()
                 if f"INFO: mesh: reset {name} in postgresql.auto.conf" in line)
    assert resets == 1, f"staz reset the override {resets} times"

    # And the mesh still carries writes everywhere.
    mesh.sql("zone-c", f"INSERT INTO public.{MESH_TABLE} VALUES (20, 'zone-c', 'end')")
    for scope in ("zone-a", "zone-b"):
        mesh.wait_rows(scope, [20], timeout=30)


def test_stazctl_mesh_and_replicated_ddl(mesh, profile):
    mesh.add_members(per_zone=1)
    for cluster in mesh.zones.values():
        cluster.wait_for_healthy(replicas=0, timeout=120)
    mesh.wait_replicating(timeout=120)

    # DDL through the provider's DDL replication, from the first zone's leader.
    ctl = mesh.first.ctl("mesh", "ddl", f"CREATE TABLE public.ddl_demo (id int PRIMARY KEY, v text)")
    assert "replicated" in ctl.stdout, ctl.stdout
    for scope in mesh.scopes:
        wait_until(lambda scope=scope: mesh.sql(scope, "SELECT to_regclass('public.ddl_demo') IS NOT NULL") == "t",
                   30, f"ddl_demo in {scope}")

    # The new table joins the default replication set in every zone; then rows flow.
    def in_default_set(scope):
        return mesh.sql(scope, f"SELECT count(*) FROM {mesh.provider}.tables WHERE relname = 'ddl_demo' "
                        "AND set_name = 'default'") == "1"
    for scope in mesh.scopes:
        wait_until(lambda scope=scope: in_default_set(scope), 30, f"ddl_demo in the default set of {scope}")
    mesh.sql("zone-b", "INSERT INTO public.ddl_demo VALUES (1, 'from b')")
    for scope in ("zone-a", "zone-c"):
        wait_until(lambda scope=scope: mesh.sql(scope, "SELECT v FROM public.ddl_demo WHERE id = 1") == "from b",
                   30, f"ddl_demo row in {scope}")

    # An apply worker may restart after DDL and show "down" for a moment (its provider's
    # primary answers, so staz leaves it running). Every subscription must be replicating again
    # within 30 s; a single snapshot failed fresh-clone run 10.
    def all_replicating():
        table = mesh.first.ctl("mesh").stdout
        for name in mesh.expected_subscriptions():
            assert name in table, table
        if table.count("replicating") < 6:
            raise NotYet(table)
        return table
    table = wait_until(all_replicating, 30, "all six subscriptions replicating in stazctl mesh")
    for scope in mesh.scopes:
        assert f"Zone: {scope}" in table, table

    # DDL refused with a clear message when it fails, nothing half-applied.
    bad = mesh.first.ctl("mesh", "ddl", "CREATE TABLE public.ddl_demo (id int)", check=False)
    assert bad.returncode != 0 and "already exists" in (bad.stdout + bad.stderr)

    # Apply lag in seconds for every outgoing slot in use: a caught-up consumer is 0, not blank.
    def lag_seconds():
        missing = []
        for scope in mesh.scopes:
            for slot in (mesh.mesh_status(scope) or {}).get("slots", []):
                if slot.get("active") and not slot.get("held") and slot.get("lag_seconds") is None:
                    missing.append(f"{scope}/{slot.get('name')}")
        if missing:
            raise NotYet(f"no lag in seconds: {missing}")
        return True
    wait_until(lag_seconds, 30, "every active mesh slot has an apply lag in seconds")

    if mesh.provider != "spock":
        # pglogical only logs its conflicts: staz counts the log's lines from when it began
        # reading (test_mesh_schema.py makes one and sees it counted), and says since when.
        databases = (mesh.mesh_status("zone-c") or {}).get("databases", [])
        assert databases and all("conflicts_counted_since" in d and "conflicts_resolved" in d for d in databases), databases
        return
    # A conflict, made on purpose: zone-c holds id 2 that was never replicated (repair mode),
    # then zone-b inserts id 2. The newer update wins in zone-c, and the resolution is counted.
    mesh.sql("zone-c", "BEGIN; SELECT spock.repair_mode(true); "
             "INSERT INTO public.ddl_demo VALUES (2, 'only in c'); COMMIT;")
    mesh.sql("zone-b", "INSERT INTO public.ddl_demo VALUES (2, 'from b')")

    def newest_wins():
        value = mesh.sql("zone-c", "SELECT v FROM public.ddl_demo WHERE id = 2")
        if value != "from b":
            raise NotYet(f"zone-c's row 2 is {value!r}")
        return True
    wait_until(newest_wins, 30, "zone-b's row 2 wins in zone-c")

    def resolved():
        database = next(d for d in (mesh.mesh_status("zone-c") or {}).get("databases", [{}]) if d.get("name") == MESH_DATABASE)
        if not database.get("conflicts_resolved"):
            raise NotYet(f"conflicts_resolved={database.get('conflicts_resolved')}")
        return database
    database = wait_until(resolved, 30, "zone-c's GET /mesh counts the resolved conflict")
    assert "ddl_demo" in database.get("last_conflict", ""), database
    code, metrics = mesh.leader_member("zone-c").rest("/metrics")
    counted = re.search(r'^staz_mesh_conflicts_resolved\{[^}]*database="' + MESH_DATABASE + r'"[^}]*\} (\S+)$',
                        metrics if code == 200 else "", re.M)
    assert counted and float(counted.group(1)) >= 1, metrics
    table = mesh.first.ctl("mesh").stdout
    assert "conflicts resolved" in table, table


def test_dsns_follow_membership_and_the_checked_leader(mesh, profile):
    """A zone's own node DSN follows its member keys: when a member is lost the zone's node gets
    a new local interface without it, and when it is back, with it again. A subscriber reaches a
    provider zone through the leader its integrity check last handled, alone: after a
    switchover the subscription moves to the new leader (add an interface, switch, drop the
    old one) only once the check has run, and while another writer holds the subscriber's
    catalog lock (as the check does while it pauses) it stays where it was."""
    mesh.add_members(per_zone=2)
    for cluster in mesh.zones.values():
        cluster.wait_for_healthy(replicas=1, timeout=180)
    mesh.wait_replicating(timeout=120)
    zone_a = mesh.zones["zone-a"]
    leader = zone_a.members[mesh.leader("zone-a")]
    replica = next(m for m in zone_a.members.values() if m.name != leader.name)
    port, leader_port = f"{replica.pg_port}", f"{leader.pg_port}"

    def zone_a_dsns():
        """(own node DSN in zone-a, provider DSN of zone-a's subscription in zone-b)."""
        own = (mesh.mesh_status("zone-a") or {}).get("databases", [{}])[0].get("node_dsn", "")
        subs = (mesh.mesh_status("zone-b") or {}).get("databases", [{}])[0].get("subscriptions", [])
        seen = [s["provider_dsn"] for s in subs if s["provider_node"] == "zone_a"]
        return own, (seen[0] if seen else "")

    def interfaces_of_zone_a_in(scope):
        return int(mesh.sql(scope, f"SELECT count(*) FROM {mesh.provider}.node_interface i JOIN {mesh.provider}.node n "
                            "ON n.node_id = i.if_nodeid WHERE n.node_name = 'zone_a'"))

    def switches_in_zone_b():
        return sum(1 for member in mesh.zones["zone-b"].members.values()
                   for line in member.log_text().splitlines()
                   if "INFO: mesh: app: switch subscription sub_zone_a_zone_b to interface" in line)

    own, provider = zone_a_dsns()
    assert port in own and leader_port in own, own
    assert f"port={leader_port} " in provider and port not in provider, provider

    replica.crash()
    moved_at = time.monotonic()

    def own_without_replica():
        own, _ = zone_a_dsns()
        if port in own:
            raise NotYet(f"own={own}")
        return True
    wait_until(own_without_replica, 60, f"zone-a's own DSN without {replica.name}")
    mesh.wait_replicating(timeout=60)
    print(f"\nMEASURED own DSN moved off a lost member and mesh replicating: {time.monotonic() - moved_at:.1f} s "
          f"(member key TTL {profile.ttl} s)")
    assert f"port={leader_port} " in zone_a_dsns()[1], "a replica's loss moved no subscription"
    for scope in mesh.scopes:
        assert interfaces_of_zone_a_in(scope) == 1, f"{scope} kept an old interface of zone_a"
    mesh.sql("zone-a", f"INSERT INTO public.{MESH_TABLE} VALUES (30, 'zone-a', 'one member')")
    mesh.sql("zone-b", f"INSERT INTO public.{MESH_TABLE} VALUES (31, 'zone-b', 'to zone-a')")
    mesh.wait_rows("zone-b", [30], timeout=30)
    mesh.wait_rows("zone-c", [30, 31], timeout=30)
    mesh.wait_rows("zone-a", [31], timeout=30)

    replica.start()
    zone_a.wait_for_healthy(replicas=1, timeout=120)

    def own_with_replica():
        own, _ = zone_a_dsns()
        if port not in own:
            raise NotYet(f"own={own}")
        return True
    wait_until(own_with_replica, 60, f"zone-a's own DSN with {replica.name} again")

    # Switchover in zone-a while a session holds zone-b's catalog lock: zone-b's check cannot
    # pause its subscription, so the subscription stays on the old leader.
    switched_before = switches_in_zone_b()
    zone_b_leader = mesh.leader_member("zone-b")
    holder = hold_catalog_lock(zone_b_leader.pg_port)
    try:
        zone_a.ctl("switchover", "zone-a", "--candidate", replica.name, "--force")
        zone_a.wait_for_new_leader({leader.name}, profile.failover_timeout)
        time.sleep(3 * mesh.reconcile_interval)
        _, provider = zone_a_dsns()
        assert f"port={leader_port} " in provider, f"zone-b followed zone-a's new leader before its check ran: {provider}"
    finally:
        release_catalog_lock(zone_b_leader.pg_port, holder)

    def on_new_leader():
        _, provider = zone_a_dsns()
        if f"port={port} " not in provider:
            raise NotYet(f"provider={provider}")
        return True
    wait_until(on_new_leader, 60, f"zone-b's subscription on {replica.name}")
    mesh.wait_replicating(timeout=60)
    for scope in mesh.scopes:
        assert interfaces_of_zone_a_in(scope) == 1, f"{scope} kept an old interface of zone_a"
    assert switches_in_zone_b() == switched_before + 1, "zone-b switched its subscription more than once"
    mesh.sql("zone-a", f"INSERT INTO public.{MESH_TABLE} VALUES (32, 'zone-a', 'new leader')")
    mesh.sql("zone-c", f"INSERT INTO public.{MESH_TABLE} VALUES (33, 'zone-c', 'both members')")
    mesh.wait_rows("zone-b", [32, 33], timeout=30)
    mesh.wait_rows("zone-a", [33], timeout=30)


def test_an_apply_worker_killed_inside_a_transaction_loses_none_of_it(mesh, profile):
    """An apply worker can die inside a peer's transaction (a disable with immediate := true,
    its provider gone mid-stream, a crash). Spock then replays that transaction in "exception
    mode", and with its default `transdiscard` the replay rolls every change back while the
    origin still moves past the commit: the transaction is gone. staz runs Spock with
    `discard`, which keeps every change that applies. Forced here: zone-a's apply worker for
    zone-b is killed while it applies one large transaction; every row must arrive once, and
    Spock's exception log must stay empty."""
    mesh.add_members(per_zone=1)
    for cluster in mesh.zones.values():
        cluster.wait_for_healthy(replicas=0, timeout=180)
    mesh.wait_replicating(timeout=120)
    rows = 200_000
    low, high = 50_000_000, 50_000_000 + rows
    mesh.sql("zone-b", f"""INSERT INTO public.{MESH_TABLE} SELECT g, 'zone-b', 'one transaction'
                             FROM generate_series({low}, {high - 1}) g;
                           INSERT INTO public.{MESH_KEYLESS_TABLE} SELECT g, 'zone-b'
                             FROM generate_series({low}, {high - 1}) g""")
    mesh.note(f"zone-b: {rows} rows into both tables in one transaction")

    # The apply worker inside that transaction: it holds a transaction id until it commits.
    def applying():
        pid = mesh.sql("zone-a", "SELECT pid FROM pg_stat_activity WHERE backend_type LIKE '%apply%' "
                       "AND backend_xid IS NOT NULL LIMIT 1")
        if not pid:
            raise NotYet("no apply worker inside a transaction")
        return pid
    pid = wait_until(applying, 60, "zone-a's apply worker inside zone-b's transaction", interval=0.05)
    mesh.sql("zone-a", f"SELECT pg_terminate_backend({pid})")
    mesh.note(f"zone-a: apply worker {pid} killed inside the transaction")

    def arrived():
        counts = mesh.sql("zone-a", f"SELECT (SELECT count(*) FROM public.{MESH_TABLE} WHERE id >= {low}) || ' ' || "
                          f"(SELECT count(*) FROM public.{MESH_KEYLESS_TABLE} WHERE id >= {low})")
        if counts != f"{rows} {rows}":
            raise NotYet(f"zone-a has {counts} of {rows} {rows}")
        return True
    wait_until(arrived, 180, f"all {rows} rows of the interrupted transaction in zone-a, once", interval=1)
    if mesh.provider == "spock":
        assert mesh.sql("zone-a", "SELECT count(*) FROM spock.exception_log") == "0"

    # A worker that dies while its provider's primary answers is restarted, never paused: the
    # integrity check once paused such healthy subscriptions, and on Spock paused and resumed
    # the same ones about 60 times in 60 s. Forced: zone-a's apply workers are killed again and
    # again for 5 s, so every integrity round in that time sees them down.
    leader = mesh.zones["zone-a"].members[mesh.zones["zone-a"].leader_name()]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        mesh.sql("zone-a", "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                 "WHERE backend_type LIKE '%apply%'")
        time.sleep(0.1)
    mesh.note("zone-a: apply workers killed every 100 ms for 5 s")
    mesh.sql("zone-b", f"INSERT INTO public.{MESH_TABLE} VALUES (33, 'zone-b', 'after the worker deaths')")
    mesh.sql("zone-c", f"INSERT INTO public.{MESH_TABLE} VALUES (34, 'zone-c', 'after the worker deaths')")
    mesh.wait_rows("zone-a", [33, 34], timeout=60)
    log = leader.log_text()
    paused = [line for line in log.splitlines() if "paused until its primary is confirmed" in line]
    assert not paused, f"healthy subscriptions paused: {paused}"
    assert "is down while zone" in log, f"{leader.name}'s integrity check never saw a worker down"


def test_a_change_one_zone_cannot_apply_is_never_lost_silently(mesh, profile):
    """A change can fail to apply in one zone only (a constraint, a trigger, a column that
    zone lacks). With Spock, staz's exception settings skip just that change, the rest of the
    stream goes on, and the skip is reported: GET /mesh, the metric and a log line. pglogical
    has no exception mode: its worker stops at the change and applies nothing after it until
    the cause is gone, and nothing may be claimed skipped. Forced: zone-c alone refuses id 51
    (a local CHECK constraint); zone-b inserts ids 51 and 52."""
    mesh.add_members(per_zone=1)
    for cluster in mesh.zones.values():
        cluster.wait_for_healthy(replicas=0, timeout=120)
    mesh.wait_replicating(timeout=120)
    mesh.sql("zone-c", f"ALTER TABLE public.{MESH_TABLE} ADD CONSTRAINT zone_c_refuses_51 CHECK (id <> 51)")
    mesh.sql("zone-b", f"INSERT INTO public.{MESH_TABLE} VALUES (51, 'zone-b', 'refused in zone-c')")
    mesh.sql("zone-b", f"INSERT INTO public.{MESH_TABLE} VALUES (52, 'zone-b', 'after the refused one')")
    mesh.wait_rows("zone-a", [51, 52], timeout=30)

    def database_status():
        return next(d for d in (mesh.mesh_status("zone-c") or {}).get("databases", [{}])
                    if d.get("name") == MESH_DATABASE)
    if mesh.provider != "spock":
        # Stopped at the change: 52 never overtakes 51, and nothing is claimed skipped.
        time.sleep(5)
        assert mesh.sql("zone-c", f"SELECT count(*) FROM public.{MESH_TABLE} WHERE id IN (51, 52)") == "0"
        assert "skipped_changes" not in database_status()
        mesh.sql("zone-c", f"ALTER TABLE public.{MESH_TABLE} DROP CONSTRAINT zone_c_refuses_51")
        mesh.wait_rows("zone-c", [51, 52], timeout=60)
        return
    mesh.wait_rows("zone-c", [52], timeout=30)
    assert mesh.sql("zone-c", f"SELECT count(*) FROM public.{MESH_TABLE} WHERE id = 51") == "0"

    def reported():
        database = database_status()
        if not database.get("skipped_changes"):
            raise NotYet(f"skipped_changes={database.get('skipped_changes')}")
        return database
    database = wait_until(reported, 30, "zone-c's GET /mesh reports the skipped change")
    assert database["skipped_changes"] == 1, database
    assert "zone_c_refuses_51" in database.get("last_skipped_error", ""), database
    code, metrics = mesh.leader_member("zone-c").rest("/metrics")
    counted = re.search(r'^staz_mesh_skipped_changes\{[^}]*database="' + MESH_DATABASE + r'"[^}]*\} (\S+)$',
                        metrics if code == 200 else "", re.M)
    assert counted and float(counted.group(1)) == 1, metrics
    leader_log = mesh.leader_member("zone-c").log_text()
    assert "Spock skipped 1 change(s)" in leader_log, "no log line reports the skipped change"
    # Nothing else was skipped: zone-b's and zone-a's logs are empty.
    for scope in ("zone-a", "zone-b"):
        assert mesh.sql(scope, "SELECT count(*) FROM spock.exception_log") == "0", scope


def test_a_leader_daemon_restarted_mid_promotion_leaves_no_apply_gate(mesh, profile):
    """A daemon can die during a promotion between closing Spock's apply gate
    (`spock.readonly = all` in postgresql.conf) and opening it: its PostgreSQL would then apply
    nothing from the peers for good. The next daemon's first cycle rewrites the configuration,
    which drops the gate, without running the user's on_reload callback (nobody asked for a
    reload). Forced: zone-a's leader daemon is killed (PostgreSQL keeps running), the gate is
    written and reloaded, and the daemon started again. pglogical has no gate: the restarted
    daemon must keep its zone applying all the same."""
    calls = mesh.first.path("callbacks.log")
    script = mesh.first.path("callback.sh")
    with open(script, "w") as handle:
        handle.write(f"#!/bin/sh\necho \"$@\" >> {calls}\n")
    os.chmod(script, 0o755)
    postgres = pwd.getpwnam("postgres")
    os.chown(script, postgres.pw_uid, postgres.pw_gid)
    mesh.add_members(per_zone=1, extra={"postgresql": {"callbacks": {"on_reload": script}}})
    for cluster in mesh.zones.values():
        cluster.wait_for_healthy(replicas=0, timeout=180)
    mesh.wait_replicating(timeout=120)
    leader = mesh.leader_member("zone-a")

    def gate_is(wanted):
        code, out, err = psql(leader.pg_port, "SELECT current_setting('spock.readonly')")
        assert code == 0, err
        if out != wanted:
            raise NotYet(f"spock.readonly = {out}")
        return True
    leader.kill_daemon()
    assert leader.wait_daemon_exit(10) is not None, f"{leader.name}'s daemon outlived SIGKILL"
    mesh.note(f"zone-a: daemon of {leader.name} killed, PostgreSQL left running")
    if mesh.provider == "spock":
        with open(os.path.join(leader.data_dir, "postgresql.conf"), "a") as handle:
            handle.write("spock.readonly = 'all'\n")
        psql(leader.pg_port, "SELECT pg_reload_conf()")
        wait_until(lambda: gate_is("all"), 10, "the gate closed")
        mesh.note("zone-a: apply gate closed as a dying promotion leaves it")
    if os.path.exists(calls):
        os.unlink(calls)
    leader.start()
    if mesh.provider == "spock":
        wait_until(lambda: gate_is("off"), 30, "the restarted daemon drops the gate")
    mesh.sql("zone-b", f"INSERT INTO public.{MESH_TABLE} VALUES (41, 'zone-b', 'after the restart')")
    mesh.sql("zone-c", f"INSERT INTO public.{MESH_TABLE} VALUES (42, 'zone-c', 'after the restart')")
    mesh.wait_rows("zone-a", [41, 42], timeout=60)
    assert mesh.leader("zone-a") == leader.name, "the restarted daemon lost its zone's leadership"
    ran = open(calls).read() if os.path.exists(calls) else ""
    assert "on_reload" not in ran, f"a daemon start ran the on_reload callback: {ran!r}"


ORIGIN_HOLDER = "staz-test-origin-holder"


def test_an_origin_held_by_a_lost_worker_is_released(mesh, profile):
    """Under load Spock's and pglogical's managers can lose track of a running apply worker (its
    worker slot re-used): it keeps the subscription's replication origin, and every worker
    started for the subscription then fails with "replication origin with ID N is already active
    for PID P" (seen on fresh machines with both cores busy, one subscription down for good).
    Forced: zone-a's subscription to zone-b is disabled, a test session takes its origin as the
    lost worker did, and the subscription is enabled again. staz must end the holder and the
    subscription must replicate again."""
    mesh.add_members(per_zone=1)
    for cluster in mesh.zones.values():
        cluster.wait_for_healthy(replicas=0, timeout=180)
    mesh.wait_replicating(timeout=120)
    schema = mesh.provider
    disable, enable = ("sub_disable", "sub_enable") if schema == "spock" else \
        ("alter_subscription_disable", "alter_subscription_enable")
    sub = mesh.subscription("zone-b", "zone-a")
    origin = mesh.sql("zone-a", f"SELECT sub_slot_name FROM {schema}.subscription WHERE sub_name = '{sub}'")
    assert origin, f"no slot name for {sub}"
    mesh.sql("zone-a", f"SELECT {schema}.{disable}('{sub}', true)")
    port = mesh.leader_member("zone-a").pg_port
    env = dict(os.environ, PGPASSWORD=SUPERUSER_PASSWORD, PGAPPNAME=ORIGIN_HOLDER)

    def holding():
        # The disabled worker lets the origin go a moment later: until then the session fails.
        holder = subprocess.Popen([f"{PG_BIN}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                                   "-d", MESH_DATABASE, "-v", "ON_ERROR_STOP=1",
                                   "-c", f"SELECT pg_replication_origin_session_setup('{origin}')",
                                   "-c", "SELECT pg_sleep(300)"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        if holder.poll() is not None:
            raise NotYet("the origin is still busy")
        return holder
    holder = wait_until(holding, 30, f"a test session holds origin {origin}")
    mesh.sql("zone-a", f"SELECT {schema}.{enable}('{sub}', true)")
    mesh.note(f"zone-a: origin {origin} of {sub} held by a test session, subscription enabled again")
    try:
        # Every new worker fails at once; staz sees the subscription down, restarts it after
        # 10 s and ends the holder 2 s into that restart.
        holder.wait(timeout=60)
    finally:
        if holder.poll() is None:
            holder.kill()
    mesh.wait_replicating(timeout=60)
    mesh.sql("zone-b", f"INSERT INTO public.{MESH_TABLE} VALUES (41, 'zone-b', 'after the origin was freed')")
    mesh.sql("zone-c", f"INSERT INTO public.{MESH_TABLE} VALUES (43, 'zone-c', 'after the database restart')")
    mesh.wait_rows("zone-a", [41, 43], timeout=30)
    log = mesh.leader_member("zone-a").log_text()
    assert f"origin {origin} is still held by process" in log, "the holder was not ended by staz"
    # The whole database restarts: a lost worker, once ended, clears a registry slot the other
    # subscription's worker may hold, so that one is stopped and started with it.
    sibling = mesh.subscription("zone-c", "zone-a")
    assert f"pause subscription {sibling}" in log and f"resume subscription {sibling}" in log, \
        f"{sibling} was not restarted with {sub}"
