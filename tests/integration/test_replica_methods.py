"""Real pgBackRest: replicas built by Patroni's custom replica methods (a new member restores from
the repository instead of running pg_basebackup against the primary; with every member gone, a
`no_leader` member restores itself from the repository alone), and a new cluster bootstrapped
by a custom bootstrap method from a backup to a point in time."""

import pytest

from testkit.pgbackrest import STANZA, archived_primary, pgbackrest, pgbackrest_config, restore_method
from testkit.support import psql_value, wait_until

pytestmark = pytest.mark.staz_only

def test_replicas_restore_from_pgbackrest_with_and_without_a_leader(make_cluster):
    cluster = make_cluster()
    m0, config0 = archived_primary(cluster)
    psql_value(m0.pg_port, "CREATE TABLE restored(id int primary key); INSERT INTO restored SELECT generate_series(1, 100)")
    pgbackrest(config0, "backup", "--type=full")

    # A replica restored from the repository, not copied from the primary.
    m1 = cluster.add_member("m1", start=False)
    config1 = pgbackrest_config(cluster, m1)
    m1.overrides = {"postgresql": {"create_replica_methods": ["pgbackrest", "basebackup"],
                                   "pgbackrest": restore_method(config1)}}
    m1.write_config()
    m1.start()
    cluster.wait_for_healthy(replicas=1, timeout=120)
    log = m1.log_text()
    assert "replica has been created using pgbackrest" in log, log[-3000:]
    assert "with pg_basebackup" not in log, log[-3000:]
    psql_value(m0.pg_port, "INSERT INTO restored VALUES (101)")
    wait_until(lambda: psql_value(m1.pg_port, "SELECT count(*) FROM restored") == "101", 30,
               "a row written after the restore streams to m1")

    # Every member gone: a member with a no_leader method rebuilds from the repository alone.
    for member in (m1, m0):
        member.kill_daemon(sig=15)
        assert member.wait_daemon_exit(60) is not None, f"{member.name} did not stop"
    wait_until(lambda: not cluster.dcs_get("leader").strip(), 30, "the leader key is gone")
    m2 = cluster.add_member("m2", start=False)
    config2 = pgbackrest_config(cluster, m2)
    # With no primary to stream from, the standby replays the archive (Patroni's
    # recovery_conf.restore_command; staz takes it from the parameters).
    m2.overrides = {"postgresql": {"create_replica_methods": ["pgbackrest"],
                                   "pgbackrest": restore_method(config2, no_leader=True),
                                   "parameters": {"restore_command": f'pgbackrest --config={config2} --stanza={STANZA} archive-get %f "%p"'}}}
    m2.write_config()
    m2.start()
    wait_until(lambda: "replica has been created using pgbackrest" in m2.log_text(), 120,
               "m2 restored without a leader")
    assert "trying to bootstrap (without leader)" in m2.log_text()
    assert "with pg_basebackup" not in m2.log_text()
    # It replays the whole archive, so it holds everything the last leader wrote and, nobody
    # else being left, takes over with every row.
    wait_until(lambda: m2.status().get("role") == "primary", 90, "m2 leads the rebuilt cluster")
    wait_until(lambda: psql_value(m2.pg_port, "SELECT count(*) FROM restored") == "101", 30,
               "every row, the one written after the backup included, is on m2")


def test_a_new_cluster_bootstraps_from_a_backup_to_a_point_in_time(make_cluster):
    """bootstrap.method running `pgbackrest restore --type=time`: the new cluster's leader holds
    exactly the rows committed before the target, and only then publishes the cluster."""
    source = make_cluster()
    m0, config0 = archived_primary(source)
    psql_value(m0.pg_port, "CREATE TABLE history(id int primary key); INSERT INTO history SELECT generate_series(1, 100)")
    pgbackrest(config0, "backup", "--type=full")
    # pgBackRest picks a backup that ended before the target, to the second.
    psql_value(m0.pg_port, "SELECT pg_sleep(2); INSERT INTO history SELECT generate_series(101, 200)")
    target = psql_value(m0.pg_port, "SELECT now()::text")
    psql_value(m0.pg_port, "SELECT pg_sleep(1.2); INSERT INTO history SELECT generate_series(201, 300)")
    segment = psql_value(m0.pg_port, "SELECT pg_walfile_name(pg_current_wal_lsn())")
    psql_value(m0.pg_port, "SELECT pg_switch_wal()")
    wait_until(lambda: psql_value(m0.pg_port, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") >= segment, 60,
               f"{segment} archived")

    restored = make_cluster(scope="restored")
    r0 = restored.add_member("r0", start=False)
    config_r0 = pgbackrest_config(restored, r0, repository=source)
    r0.overrides = {"bootstrap": {
        "method": "pitr",
        "pitr": {"command": f'pgbackrest --config={config_r0} --stanza={STANZA} --delta restore --type=time '
                            f'--target="{target}" --target-action=promote',
                 "keep_existing_recovery_conf": True, "no_params": True}}}
    r0.write_config()
    r0.start()
    wait_until(lambda: r0.status().get("role") == "primary", 180, "r0 leads the restored cluster")
    assert psql_value(r0.pg_port, "SELECT count(*) FROM history") == "200"
    sysid = psql_value(r0.pg_port, "SELECT system_identifier FROM pg_control_system()")
    # Published only after the roles and post_bootstrap, a moment after the promotion.
    wait_until(lambda: restored.dcs_get("initialize").strip() == sysid, 30, "initialize names the restored system")
    log = r0.log_text()
    assert "Running custom bootstrap script" in log and "initialized a new cluster" in log, log[-3000:]


def test_a_replica_whose_wal_is_gone_catches_up_from_the_archive(make_cluster):
    """postgresql.recovery_conf.restore_command: a replica that was down while the primary
    recycled the WAL it needs replays it from the pgBackRest archive, then streams again, instead
    of being cloned anew."""
    cluster = make_cluster()
    # Without slots (and with Patroni's smallest wal_keep_size, one segment) the primary keeps
    # almost no WAL for a stopped replica.
    m0, config0 = archived_primary(cluster, {"use_slots": False, "parameters": {"wal_keep_size": "16MB"}})
    m1 = cluster.add_member("m1", start=False)
    config1 = pgbackrest_config(cluster, m1)
    m1.overrides = {"postgresql": {"recovery_conf": {
        "restore_command": f'pgbackrest --config={config1} --stanza={STANZA} archive-get %f "%p"'}}}
    m1.write_config()
    m1.start()
    cluster.wait_for_healthy(replicas=1, timeout=120)
    psql_value(m0.pg_port, "CREATE TABLE archived(id int)")
    wait_until(lambda: psql_value(m1.pg_port, "SELECT count(*) FROM pg_class WHERE relname = 'archived'") == "1", 30,
               "m1 streams")

    m1.kill_daemon(sig=15)
    assert m1.wait_daemon_exit(60) is not None, "m1 did not stop"
    needed = psql_value(m0.pg_port, "SELECT pg_walfile_name(pg_current_wal_lsn())")
    for batch in range(8):
        psql_value(m0.pg_port, f"INSERT INTO archived SELECT generate_series({batch * 1000 + 1}, {batch * 1000 + 1000}); "
                               "SELECT pg_switch_wal(); CHECKPOINT")
    wait_until(lambda: psql_value(m0.pg_port, f"SELECT count(*) FROM pg_ls_waldir() WHERE name = '{needed}'") == "0", 60,
               f"the primary recycled {needed}, which m1 needs")
    last = psql_value(m0.pg_port, "SELECT pg_walfile_name(pg_current_wal_lsn())")
    psql_value(m0.pg_port, "SELECT pg_switch_wal()")
    wait_until(lambda: psql_value(m0.pg_port, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") >= last, 60,
               f"{last} archived")

    restarted_at = len(m1.log_text())
    m1.start()
    wait_until(lambda: psql_value(m1.pg_port, "SELECT count(*) FROM archived") == "8000", 90,
               "m1 replayed the recycled WAL from the archive")
    cluster.wait_for_healthy(replicas=1, timeout=60)
    assert "bootstrap from" not in m1.log_text()[restarted_at:], "m1 was cloned again"
    with open(cluster.path("pglog", "m1-postgresql.log"), errors="replace") as handle:
        server_log = handle.read()
    assert f'restored log file "{needed}" from archive' in server_log, server_log[-3000:]
