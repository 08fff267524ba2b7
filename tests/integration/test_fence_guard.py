"""The fencing guard (Sources/StazFence/FenceGuard.swift): while staz leads, a separate
`staz-fence-guard DATA_DIR` process holds the lease's fence deadline and SIGKILLs the
postmaster's process tree when staz can no longer act in time.

  * the guard is its own small executable, installed next to staz, not a second staz;
  * staz killed for good: PostgreSQL is gone before any other member promotes, at no sample
    do two members accept writes, and a replica takes over;
  * staz killed and restarted at once (as systemd would): the new process takes over the
    old guard's deadline and retires it; PostgreSQL keeps running, same leader;
  * staz and every PostgreSQL process frozen (SIGSTOP) past the lease: the postmaster is
    killed while still stopped, so it cannot answer anything when resumed."""

import os
import re
import signal
import subprocess
import time

import pytest

from testkit.support import psql_value, signal_pid, wait_until

pytestmark = pytest.mark.staz_only


def guards_of(member):
    """Pids of live fence guards of `member`'s data directory (from their command lines)."""
    wanted = os.path.realpath(member.data_dir).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                words = handle.read().split(b"\0")
            with open(f"/proc/{entry}/stat") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        is_guard = os.path.basename(words[0]) == b"staz-fence-guard" or b"--fence-guard" in words
        if is_guard and wanted in words and state != "Z":
            found.append(int(entry))
    return found


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def writable(member):
    try:
        return psql_value(member.pg_port, "SELECT pg_is_in_recovery()", timeout=2) == "f"
    except Exception:  # noqa: BLE001 - down or refusing: not writable
        return False


def test_the_guard_is_its_own_small_executable(three_node_cluster, profile):
    cluster, leader_name = three_node_cluster
    leader = cluster.member_named(leader_name)
    expected = os.path.join(os.path.dirname(os.path.realpath(profile.daemon)), "staz-fence-guard")
    assert os.access(expected, os.X_OK), f"no staz-fence-guard next to {profile.daemon}: build it with staz"
    guard = wait_until(lambda: guards_of(leader) or None, 10, f"a fence guard for {leader_name}")
    assert os.path.realpath(f"/proc/{guard[0]}/exe") == expected
    # Neither Foundation nor NIO: the guard runs for as long as the member leads.
    with open(f"/proc/{guard[0]}/maps") as handle:
        libraries = {line.split()[-1] for line in handle if line.rstrip().endswith(".so") or ".so." in line}
    assert not [path for path in libraries if "Foundation" in path], sorted(libraries)


@pytest.mark.parametrize("entry", ["staz-fence-guard", "staz --fence-guard"])
def test_both_entry_points_run_the_guard(profile, tmp_path, entry):
    """staz starts staz-fence-guard, or without it next to staz runs the same guard itself.
    With nothing armed and staz's end of the pipe closed, either exits 0 and says so, in
    Patroni's log format."""
    daemon = os.path.realpath(profile.daemon)
    program = ([os.path.join(os.path.dirname(daemon), "staz-fence-guard")] if entry == "staz-fence-guard"
               else [daemon, "--fence-guard"])
    done = subprocess.run(program + [str(tmp_path)], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO: fence guard \d+ started for ", done.stderr), done.stderr
    assert "staz exited while not leading, nothing to fence" in done.stderr, done.stderr
    if entry == "staz-fence-guard":
        refused = subprocess.run(program + ["relative/dir"], stdin=subprocess.DEVNULL, capture_output=True,
                                 text=True, timeout=30)
        assert refused.returncode == 2 and "usage: staz-fence-guard DATA_DIR" in refused.stderr, refused.stderr


def test_guard_fences_postgres_when_staz_dies(three_node_cluster, profile):
    cluster, leader_name = three_node_cluster
    leader = cluster.member_named(leader_name)
    others = [m for m in cluster.members.values() if m.name != leader_name]
    guard = wait_until(lambda: guards_of(leader) or None, 10, f"a fence guard for {leader_name}")
    assert len(guard) == 1, guard
    assert not any(guards_of(m) for m in others), "only the leader runs a guard"
    postmaster = leader.postmaster_pid()

    killed_at = time.monotonic()
    os.kill(leader.daemon_pid, signal.SIGKILL)  # the daemon alone: PostgreSQL keeps running
    cluster.note(f"SIGKILL to daemon {leader_name} only; postmaster {postmaster} keeps running")
    fenced_at, overlap = None, []
    deadline = killed_at + profile.failover_timeout
    while time.monotonic() < deadline:
        old_alive = alive(postmaster)
        if fenced_at is None and not old_alive:
            fenced_at = time.monotonic()
            cluster.note(f"postmaster {postmaster} gone {fenced_at - killed_at:.2f}s after the kill")
        promoted = [m.name for m in others if writable(m)]
        if promoted and alive(postmaster) and writable(leader):
            overlap.append((time.monotonic() - killed_at, promoted))
        if promoted and fenced_at is not None:
            break
        time.sleep(0.05)

    assert fenced_at is not None, f"postmaster {postmaster} still running {profile.failover_timeout}s after staz died"
    # The guard fires at the keeper's deadline: sent + ttl - margin, so within ttl of the kill.
    assert fenced_at - killed_at <= profile.ttl, f"fenced only {fenced_at - killed_at:.2f}s after the kill"
    assert not overlap, f"old and new primary accepted writes at the same time: {overlap}"
    new_leader = cluster.wait_for_new_leader({leader_name}, profile.failover_timeout)
    assert new_leader != leader_name
    wait_until(lambda: not guards_of(leader) or None, 5, "the old guard exits after fencing")
    assert not os.path.exists(os.path.join(leader.data_dir, "staz-fence-guard"))
    log = leader.log_text()
    assert "staz exited while leading" in log, log[-2000:]
    assert f"sent SIGKILL to postmaster {postmaster}" in log, log[-2000:]


def test_restarted_staz_takes_over_the_guard(three_node_cluster, profile):
    cluster, leader_name = three_node_cluster
    leader = cluster.member_named(leader_name)
    old_guard = wait_until(lambda: guards_of(leader) or None, 10, f"a fence guard for {leader_name}")[0]
    postmaster = leader.postmaster_pid()

    os.kill(leader.daemon_pid, signal.SIGKILL)
    leader.wait_daemon_exit(10)
    leader.start()  # at once, long before the lease could expire
    cluster.note(f"daemon {leader_name} killed and restarted; old guard {old_guard}")

    def replaced():
        guards = guards_of(leader)
        return guards if guards and old_guard not in guards else None
    new_guards = wait_until(replaced, 10, "a new guard replaces the old one")
    assert len(new_guards) == 1, new_guards
    # Several renewals later PostgreSQL still runs, untouched, and the leader did not change.
    time.sleep(profile.ttl + 1)
    assert leader.postmaster_pid() == postmaster, "the restarted staz's postmaster was fenced"
    assert writable(leader)
    assert cluster.leader_name() == leader_name
    log = leader.log_text()
    assert "taking over its deadline" in log, log[-3000:]
    assert f"retired the previous fence guard (pid {old_guard})" in log, log[-3000:]


def test_frozen_primary_is_killed_while_stopped(three_node_cluster, profile):
    cluster, leader_name = three_node_cluster
    leader = cluster.member_named(leader_name)
    wait_until(lambda: guards_of(leader) or None, 10, f"a fence guard for {leader_name}")
    postmaster = leader.postmaster_pid()
    processes = [postmaster] + [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == postmaster]
    daemon = leader.daemon_pid

    signal_pid(daemon, signal.SIGSTOP)
    for pid in processes:
        signal_pid(pid, signal.SIGSTOP)
    cluster.note(f"froze daemon {daemon} and {len(processes)} postgres processes of {leader_name}")
    try:
        # Still frozen: the guard (not frozen) must kill the postmaster by the fence deadline.
        wait_until(lambda: not alive(postmaster) or None, profile.ttl + 1,
                   f"postmaster {postmaster} killed while stopped", interval=0.1)
        new_leader = cluster.wait_for_new_leader({leader_name}, profile.failover_timeout)
    finally:
        for pid in processes:
            signal_pid(pid, signal.SIGCONT)
        signal_pid(daemon, signal.SIGCONT)
    assert new_leader != leader_name
    assert not any(alive(pid) for pid in processes), "a backend survived the fence"
    assert not writable(leader)
    cluster.wait_for_healthy(replicas=2, timeout=profile.bootstrap_timeout)


def _parent(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None
