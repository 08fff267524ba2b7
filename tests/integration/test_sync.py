"""Synchronous replication: the `sync` key, sync/async health checks, `list` roles, zero lost
acknowledged writes when the primary dies, strict mode blocking writes, quorum mode."""

import json
import subprocess
import threading
import time

import pytest

from testkit.support import NotYet, psql, psql_value, wait_until
from testkit.workload import AckedWriter


def sync_cluster(make_cluster, mode, strict=False, members=3):
    cluster = make_cluster()
    dcs = {"synchronous_mode": mode, "synchronous_mode_strict": strict}
    for index in range(members):
        cluster.add_member(f"m{index}", overrides={"bootstrap": {"dcs": dcs}})
    cluster.start_haproxy()
    leader = cluster.wait_for_healthy(replicas=members - 1)
    return cluster, leader


def sync_key(cluster):
    """The `sync` key as JSON, or None when it does not exist."""
    out = subprocess.run(["etcdctl", f"--endpoints=127.0.0.1:{cluster.etcd_port}", "get",
                          f"/service/{cluster.scope}/sync", "--print-value-only"],
                         capture_output=True, text=True, timeout=10,
                         env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"})
    text = out.stdout.strip()
    return json.loads(text) if text else None


def wait_sync_key(cluster, leader, count, timeout):
    def listed():
        value = sync_key(cluster)
        standbys = [n for n in ((value or {}).get("sync_standby") or "").split(",") if n]
        if not value or value.get("leader") != leader or len(standbys) != count:
            raise NotYet(f"sync key {value}")
        return value, standbys
    return wait_until(listed, timeout, f"/sync with leader {leader} and {count} standby(s)")


def show_ssn(member):
    return psql_value(member.pg_port, "SHOW synchronous_standby_names")


def test_sync_mode_on_lists_one_standby_and_fails_over_without_loss(make_cluster, profile):
    cluster, leader = sync_cluster(make_cluster, "on")
    _, standbys = wait_sync_key(cluster, leader, 1, 30 + 5 * profile.loop_wait)
    sync_name = standbys[0]
    async_name = next(n for n in cluster.members if n not in (leader, sync_name))
    assert show_ssn(cluster.member_named(leader)) == sync_name
    wait_until(lambda: psql_value(cluster.member_named(leader).pg_port,
                                  f"SELECT sync_state FROM pg_stat_replication WHERE application_name = '{sync_name}'")
               == "sync", 20, f"{sync_name} synchronous in pg_stat_replication")
    wait_until(lambda: cluster.member_named(sync_name).rest("/sync")[0] == 200, 20, "GET /sync 200 on the sync standby")
    assert cluster.member_named(sync_name).rest("/async")[0] == 503
    assert cluster.member_named(async_name).rest("/async")[0] == 200
    assert cluster.member_named(async_name).rest("/sync")[0] == 503
    assert cluster.member_named(leader).rest("/read-only-sync")[0] == 200
    listing = cluster.ctl("list").stdout
    assert "Sync Standby" in listing, listing

    writer = AckedWriter(cluster)
    writer.create_table()
    writer.start()
    try:
        writer.wait_for_acks(30, 60, "before the primary is killed")
        cluster.member_named(leader).crash()
        new_leader = cluster.wait_for_new_leader({leader}, profile.failover_timeout)
        assert new_leader == sync_name, f"{new_leader} promoted, but {sync_name} was the synchronous standby"
        writer.wait_for_acks(20, profile.failover_timeout, "after the failover")
    finally:
        writer.stop()
    missing = writer.missing_on(cluster.member_named(new_leader).pg_port)
    assert not missing, f"acknowledged ids lost: {missing[:20]}"
    print(f"\nSYNC FAILOVER: {len(writer.acked)} acked writes, 0 lost")


def blocking_insert(port, sql, result):
    code, out, err = psql(port, sql, timeout=120)
    result.append((code, time.monotonic()))


def test_strict_mode_blocks_writes_until_a_replica_returns(make_cluster, profile):
    cluster, leader = sync_cluster(make_cluster, "on", strict=True, members=2)
    wait_sync_key(cluster, leader, 1, 30 + 5 * profile.loop_wait)
    primary = cluster.member_named(leader)
    psql_value(primary.pg_port, "CREATE TABLE strict_check(id int)")
    replica = next(m for n, m in cluster.members.items() if n != leader)
    replica.kill_daemon()
    replica.wait_daemon_exit(10)
    replica.stop_postgres_hard()
    cluster.note("replica stopped")
    time.sleep(3 * profile.loop_wait + 2)
    ssn = show_ssn(primary)
    assert ssn, "strict mode must keep synchronous_standby_names set with no replica"

    result = []
    thread = threading.Thread(target=blocking_insert, args=(primary.pg_port, "INSERT INTO strict_check VALUES (1)", result))
    thread.start()
    time.sleep(5)
    assert not result, f"insert completed with no synchronous replica: {result}"
    replica.start()
    thread.join(timeout=profile.bootstrap_timeout)
    assert result and result[0][0] == 0, f"blocked insert did not complete after the replica returned: {result}"
    assert psql_value(replica.pg_port, "SELECT count(*) FROM strict_check") == "1"


def test_quorum_mode_uses_any_and_fails_over(make_cluster, profile):
    cluster, leader = sync_cluster(make_cluster, "quorum")
    value, standbys = wait_sync_key(cluster, leader, 2, 30 + 5 * profile.loop_wait)
    assert value.get("quorum") == 1, value
    primary = cluster.member_named(leader)
    ssn = wait_until(lambda: show_ssn(primary).startswith("ANY 1 (") and show_ssn(primary), 20, "ANY 1 (..)")
    assert all(name in ssn for name in standbys), ssn
    wait_until(lambda: cluster.member_named(standbys[0]).rest("/quorum")[0] == 200, 20,
               "GET /quorum 200 on a quorum standby")
    listing = cluster.ctl("list").stdout
    assert "Quorum Standby" in listing, listing

    writer = AckedWriter(cluster)
    writer.create_table()
    writer.start()
    try:
        writer.wait_for_acks(30, 60, "before the primary is killed")
        primary.crash()
        new_leader = cluster.wait_for_new_leader({leader}, profile.failover_timeout)
        writer.wait_for_acks(20, profile.failover_timeout, "after the failover")
    finally:
        writer.stop()
    missing = writer.missing_on(cluster.member_named(new_leader).pg_port)
    assert not missing, f"acknowledged ids lost: {missing[:20]}"


@pytest.mark.staz_only
def test_double_fault_refuses_async_promotion_until_forced(make_cluster, profile):
    cluster, leader = sync_cluster(make_cluster, "on")
    _, standbys = wait_sync_key(cluster, leader, 1, 30 + 5 * profile.loop_wait)
    sync_name = standbys[0]
    survivor = next(m for n, m in cluster.members.items() if n not in (leader, sync_name))
    cluster.member_named(sync_name).crash()
    cluster.member_named(leader).crash()

    def refuses():
        reason = survivor.status().get("failover_blocked")
        if not reason:
            raise NotYet(f"status {survivor.status()}")
        return reason
    reason = wait_until(refuses, profile.failover_timeout, f"{survivor.name} reports the blocked failover")
    assert "may miss acknowledged commits" in reason and "--force" in reason, reason
    assert "not promoting because" in survivor.log_text()
    assert survivor.rest("/primary")[0] == 503

    cluster.ctl("failover", cluster.scope, "--candidate", survivor.name, "--force", check=False)
    wait_until(lambda: survivor.rest("/primary")[0] == 200, profile.failover_timeout,
               f"{survivor.name} promoted by the explicit failover")
    assert "acknowledged by the former primary may be lost" in survivor.log_text()
