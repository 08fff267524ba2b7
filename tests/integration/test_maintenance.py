"""Operations: restart, reload, reinit, pending restart after edit-config, and maintenance
(pause/resume) mode, all driven through the ctl."""

import json
import os
import shutil
import signal
import time

from testkit.support import NotYet, pid_alive, psql, psql_value, wait_until
from testkit.workload import postmaster_start_time, wait_streaming_from


def two_member_cluster(make_cluster, haproxy=False):
    cluster = make_cluster()
    cluster.add_member("m0")
    cluster.add_member("m1")
    if haproxy:
        cluster.start_haproxy()
    leader = cluster.wait_for_healthy(replicas=1)
    replica = next(name for name in cluster.members if name != leader)
    return cluster, cluster.member_named(leader), cluster.member_named(replica)


def test_restart_reload_and_reinit(make_cluster, profile):
    cluster, leader, replica = two_member_cluster(make_cluster)
    scope = cluster.scope

    # restart: a new postmaster (its start time changes) that streams again.
    before = postmaster_start_time(replica)
    done = cluster.ctl("restart", scope, replica.name, "--force")
    assert f"Success: restart on member {replica.name}" in done.stdout, done.stdout
    after = wait_until(lambda: (lambda t: t != before and t)(postmaster_start_time(replica)),
                       30, f"{replica.name} postmaster start time changes")
    cluster.note(f"{replica.name} postmaster start time {before} -> {after}")
    wait_streaming_from(replica, leader, 60)

    # reload: POST /reload answers 202 on every member.
    done = cluster.ctl("reload", scope, "--force")
    for member in (leader, replica):
        assert (f"Reload request received for member {member.name} and will be processed "
                f"within {profile.loop_wait} seconds") in done.stdout, done.stdout

    # reinit: the replica's data directory vanishes under its running daemon.
    old_postmaster = replica.postmaster_pid()
    # The running postmaster removes and writes files of its own meanwhile (postmaster.pid,
    # stats): deleting under it races with that, so retry until the directory is gone.
    def deleted():
        shutil.rmtree(replica.data_dir, ignore_errors=True)
        return not os.path.exists(replica.data_dir)
    wait_until(deleted, 10, f"{replica.data_dir} deleted")
    cluster.note(f"deleted {replica.data_dir} (postmaster {old_postmaster} still running)")
    done = cluster.ctl("reinit", scope, replica.name, "--force")
    assert f"Success: reinitialize for member {replica.name}" in done.stdout, done.stdout
    psql_value(leader.pg_port, "CREATE TABLE after_reinit AS SELECT 42 AS answer")
    wait_streaming_from(replica, leader, profile.bootstrap_timeout)
    assert os.path.exists(os.path.join(replica.data_dir, "PG_VERSION"))
    assert not pid_alive(old_postmaster), "the postmaster of the deleted data dir still runs"
    wait_until(lambda: psql_value(replica.pg_port, "SELECT answer FROM after_reinit") == "42",
               30, f"{replica.name} replays writes made after the reinit")
    # GET /patroni is served from the member's last HA cycle (no SQL per request), and the
    # cycle after the clone runs as soon as it ends: the role follows within a cycle or two.
    wait_until(lambda: replica.status().get("role") == "replica", 2 * profile.loop_wait + 5,
               f"{replica.name} reports role replica after the reinit")


def pending_restart(member):
    status = member.status()
    if not status:
        raise NotYet(f"{member.name}: GET /patroni does not answer")
    return status.get("pending_restart", False)


def list_pending_column(cluster):
    rows = json.loads(cluster.ctl("list", "-f", "json").stdout)
    return {row["Member"]: row.get("Pending restart") for row in rows}


def test_edit_config_pending_restart_then_restart_pending(make_cluster, profile):
    cluster, leader, replica = two_member_cluster(make_cluster)
    members = (leader, replica)
    assert psql_value(leader.pg_port, "SHOW max_connections") == "100"
    cluster.ctl("edit-config", cluster.scope, "-p", "max_connections=200", "--force")
    for member in members:
        wait_until(lambda: pending_restart(member) is True, 10 * profile.loop_wait + 10,
                   f"{member.name}: GET /patroni pending_restart true")
    # The member keys (what list reads) follow within a loop_wait.
    wait_until(lambda: list_pending_column(cluster) == {"m0": "*", "m1": "*"},
               5 * profile.loop_wait + 10, "ctl list -f json shows Pending restart '*'")
    assert "Pending restart" in cluster.ctl("list").stdout

    done = cluster.ctl("restart", cluster.scope, "--pending", "--force")
    for member in members:
        assert f"Success: restart on member {member.name}" in done.stdout, done.stdout
    for member in members:
        wait_until(lambda: pending_restart(member) is False, 10 * profile.loop_wait + 20,
                   f"{member.name}: pending_restart cleared")
        assert psql_value(member.pg_port, "SHOW max_connections") == "200"
    wait_until(lambda: set(list_pending_column(cluster).values()) == {None},
               5 * profile.loop_wait + 10, "ctl list no longer shows Pending restart")
    wait_streaming_from(replica, leader, 60)


def test_a_replica_restarted_before_its_primary_keeps_pg_controls_settings(make_cluster, profile):
    """Lowering max_connections and restarting the replica first: its pg_control still records
    the primary's 100, and PostgreSQL will not run a standby below it. As Patroni does
    (`ConfigHandler.effective_configuration`), staz starts it with pg_control's value and reports
    the setting as pending a restart; once the primary runs with 50 and the replica has replayed
    that, the replica's next restart takes 50."""
    cluster, leader, replica = two_member_cluster(make_cluster)
    cluster.ctl("edit-config", cluster.scope, "-p", "max_connections=50", "--force")
    wait_until(lambda: pending_restart(replica) is True, 10 * profile.loop_wait + 10,
               f"{replica.name}: pending_restart true")

    before = postmaster_start_time(replica)
    done = cluster.ctl("restart", cluster.scope, replica.name, "--force")
    assert f"Success: restart on member {replica.name}" in done.stdout, done.stdout
    wait_until(lambda: (lambda t: t != before and t)(postmaster_start_time(replica)),
               30, f"{replica.name} restarted")
    assert psql_value(replica.pg_port, "SHOW max_connections") == "100"
    wait_streaming_from(replica, leader, 60)
    def raised_reason():
        status = replica.status()
        reason = (status.get("pending_restart_reason") or {}).get("max_connections")
        if status.get("pending_restart") is not True or not reason:
            raise NotYet(f"{replica.name}: {status.get('pending_restart')} {status.get('pending_restart_reason')}")
        return reason
    reason = wait_until(raised_reason, 5 * profile.loop_wait + 10, f"{replica.name} reports max_connections pending")
    assert reason == {"old_value": "100", "new_value": "50"}, reason
    assert "max_connections value in pg_controldata: 100, in the global configuration: 50" in replica.log_text()

    done = cluster.ctl("restart", cluster.scope, leader.name, "--force")
    assert f"Success: restart on member {leader.name}" in done.stdout, done.stdout
    wait_until(lambda: psql_value(leader.pg_port, "SHOW max_connections") == "50", 60,
               f"{leader.name} runs with max_connections 50")
    # The primary's parameter-change record reaches the replica's pg_control when replayed.
    psql_value(leader.pg_port, "SELECT pg_catalog.pg_switch_wal()")
    wait_until(lambda: psql_value(replica.pg_port, "SELECT pg_catalog.pg_last_wal_replay_lsn() >= '"
                                  + psql_value(leader.pg_port, "SELECT pg_catalog.pg_current_wal_lsn()") + "'") == "t",
               60, f"{replica.name} replayed the primary's restart")
    done = cluster.ctl("restart", cluster.scope, replica.name, "--force")
    assert f"Success: restart on member {replica.name}" in done.stdout, done.stdout
    wait_until(lambda: psql_value(replica.pg_port, "SHOW max_connections") == "50", 60,
               f"{replica.name} runs with max_connections 50")
    wait_until(lambda: pending_restart(replica) is False, 10 * profile.loop_wait + 20,
               f"{replica.name}: pending_restart cleared")
    wait_streaming_from(replica, leader, 60)


def recovery_states(cluster):
    """{member: 'f' (primary) | 't' (replica) | 'down'} from each PostgreSQL itself."""
    states = {}
    for member in cluster.members.values():
        code, out, _ = psql(member.pg_port, "SELECT pg_is_in_recovery()", timeout=5)
        states[member.name] = out if code == 0 else "down"
    return states


def test_pause_leaves_a_crashed_primary_alone_until_resume(make_cluster, profile):
    cluster, leader, replica = two_member_cluster(make_cluster, haproxy=True)
    done = cluster.ctl("pause", cluster.scope, "--wait")
    assert "Success: cluster management is paused" in done.stdout, done.stdout
    for member in (leader, replica):
        assert member.status().get("pause") is True, member.status()

    killed = leader.kill_postmaster(signal.SIGKILL)
    assert killed
    wait_until(lambda: not pid_alive(killed), 10, "killed postmaster is gone")
    observed = []
    deadline = time.monotonic() + max(5 * profile.loop_wait, 10)
    while time.monotonic() < deadline:
        # Nothing restarts PostgreSQL, nothing promotes, nobody but the old leader holds
        # the lock (Patroni drops it when its PostgreSQL is gone; no one may take it).
        states = recovery_states(cluster)
        holder = cluster.leader_name()
        observed.append((states, holder))
        assert states == {leader.name: "down", replica.name: "t"}, observed
        assert holder in (None, leader.name), observed
        assert leader.postmaster_pid() is None, "PostgreSQL was restarted while paused"
        time.sleep(0.5)
    cluster.note(f"paused for {len(observed)} probes: {observed[-1]}")
    assert not cluster.primaries_by_rest() or cluster.primaries_by_rest() == [leader.name]

    done = cluster.ctl("resume", cluster.scope, "--wait")
    assert "Success: cluster management is resumed" in done.stdout, done.stdout

    def write_succeeds():
        ok, detail = cluster.write_through_haproxy(
            "CREATE TABLE IF NOT EXISTS after_resume(id int); INSERT INTO after_resume VALUES (1)")
        if not ok:
            raise NotYet(detail)
        return True
    wait_until(write_succeeds, profile.failover_timeout + 30,
               "a write through HAProxy after resume")
    states = recovery_states(cluster)
    assert sorted(states.values()).count("f") == 1, states
    cluster.wait_for_healthy(replicas=1, timeout=profile.bootstrap_timeout)


def test_pause_keeps_the_primary_running_while_etcd_is_away(make_cluster, profile):
    # Paused means hands off: a leader that cannot renew its lock keeps PostgreSQL running as a
    # primary (Patroni's "continue to run as primary after failing to update leader lock"), and
    # no fence may stop it, however long the DCS stays away.
    cluster, leader, replica = two_member_cluster(make_cluster)
    done = cluster.ctl("pause", cluster.scope, "--wait")
    assert "Success: cluster management is paused" in done.stdout, done.stdout
    postmaster = leader.postmaster_pid()
    cluster.freeze_etcd()
    try:
        observed = []
        deadline = time.monotonic() + 2 * profile.ttl + 5
        while time.monotonic() < deadline:
            states = recovery_states(cluster)
            observed.append(states)
            assert states == {leader.name: "f", replica.name: "t"}, observed
            assert leader.postmaster_pid() == postmaster, "the paused primary's PostgreSQL was stopped"
            time.sleep(0.5)
        cluster.note(f"etcd away for {2 * profile.ttl + 5} s while paused: {observed[-1]}")
    finally:
        cluster.thaw_etcd()

    # The member keys expired while etcd was frozen: until the daemons publish them again
    # (a loop later), the ctl finds no member to ask, as patronictl would.
    def resumed():
        done = cluster.ctl("resume", cluster.scope, "--wait", check=False)
        if done.returncode != 0:
            raise NotYet(done.stdout + done.stderr)
        return done
    done = wait_until(resumed, 15, "stazctl resume once the members are back in etcd", interval=1)
    assert "Success: cluster management is resumed" in done.stdout, done.stdout
    cluster.wait_for_healthy(replicas=1, timeout=profile.failover_timeout)
