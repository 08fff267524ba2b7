"""An old primary whose timeline diverged and that cannot be rewound keeps its data directory
(Patroni's defaults: remove_data_directory_on_rewind_failure and
remove_data_directory_on_diverged_timelines off) until an operator reinitializes it."""

import os
import signal
import time

from testkit.support import child_process, freeze_process, psql, psql_value, wait_until
from testkit.workload import wait_streaming_from

KEPT_LINE = "keeping the data directory"


def child_pid(member, kind):
    """The child of the member's postmaster whose command line names `kind`, or None."""
    return child_process(member.postmaster_pid(), kind)


def test_a_diverged_old_primary_without_pg_rewind_keeps_its_data(make_cluster, profile):
    cluster = make_cluster()
    no_rewind = {"postgresql": {"use_pg_rewind": False}}
    for name in ("m0", "m1"):
        cluster.add_member(name, overrides=no_rewind)
    leader_name = cluster.wait_for_healthy(replicas=1)
    old = cluster.member_named(leader_name)
    successor = cluster.member_named(next(n for n in cluster.members if n != leader_name))
    psql(old.pg_port, "CREATE TABLE kept(id int)")
    wait_until(lambda: psql_value(successor.pg_port, "SELECT count(*) FROM pg_class WHERE relname = 'kept'") == "1",
               30, "the table reaches the successor")

    # Forced divergence: the old primary's walsender is frozen (what it has not sent yet stays
    # unsent; a frozen receiver would still find it in its socket) while the old primary commits
    # a row, which asynchronous replication acknowledges; then the old primary dies.
    sender = wait_until(lambda: child_pid(old, "walsender"), 30, f"{old.name}'s walsender")
    freeze_process(sender)
    psql(old.pg_port, "INSERT INTO kept VALUES (1)")
    marker = os.path.join(old.data_dir, "staz-it-marker")
    with open(marker, "w") as handle:
        handle.write("the old primary's data directory\n")
    old.crash()
    os.kill(sender, signal.SIGKILL)
    assert cluster.wait_for_new_leader({old.name}, profile.failover_timeout) == successor.name
    # The leader key names it once it holds the lock, a moment before its promotion ends.
    wait_until(lambda: psql(successor.pg_port, "INSERT INTO kept VALUES (2)")[0] == 0, 10,
               f"{successor.name} accepting writes after taking the lock")

    # The old primary comes back: no pg_rewind, timelines diverged, so it keeps its data and
    # says why, and stays out of the way for several cycles.
    old.start()
    wait_until(lambda: KEPT_LINE in old.log_text() or None, 10 * profile.loop_wait + 30,
               f"{old.name} logs that it keeps its data directory")
    time.sleep(3 * profile.loop_wait)
    assert os.path.exists(marker), "the data directory was wiped"
    assert "reinitializing from the leader" not in old.log_text()
    status = old.status()
    assert status.get("role") != "primary", status
    assert cluster.leader_name() == successor.name

    # The operator's reinit replaces it with a copy of the leader's.
    done = cluster.ctl("reinit", cluster.scope, old.name, "--force")
    assert f"Success: reinitialize for member {old.name}" in done.stdout, done.stdout
    wait_streaming_from(old, successor, profile.bootstrap_timeout)
    assert not os.path.exists(marker)
    wait_until(lambda: psql_value(old.pg_port, "SELECT string_agg(id::text, ',' ORDER BY id) FROM kept") == "2",
               30, f"{old.name} has the successor's rows only")
