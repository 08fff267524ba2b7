"""Tags that steer the leader race: nofailover and failover_priority."""

import time

import pytest

from testkit.harness import LeaderWatch
from testkit.support import psql_value, wait_until


def test_nofailover_member_never_becomes_leader(make_cluster, profile):
    cluster = make_cluster()
    cluster.add_member("m0")
    cluster.add_member("m1")
    guarded = cluster.add_member("m2", tags={"nofailover": True})
    first = cluster.wait_for_healthy(replicas=2)
    assert first != "m2"

    watch = LeaderWatch(cluster)
    try:
        cluster.member_named(first).crash()
        second = cluster.wait_for_new_leader({first}, profile.failover_timeout)
        assert second != "m2"
        # With only the nofailover member left nobody may take the lock.
        cluster.member_named(second).crash()
        wait_until(lambda: cluster.cluster_view(exclude={first, second}) is not None and
                   cluster.leader_name(exclude={first, second}) is None,
                   profile.failover_timeout, "leader lock of the second leader expires")
        # Give m2 several loops past the expiry in which it could (wrongly) promote.
        time.sleep(profile.ttl + 3 * profile.loop_wait)
    finally:
        watch.stop()
    assert "m2" not in watch.leaders_seen(), watch.samples
    assert guarded.rest("/primary")[0] == 503
    assert psql_value(guarded.pg_port, "SELECT pg_is_in_recovery()") == "t"
    assert guarded.status().get("role") == "replica"


# Both orders, so an implementation that ignores the priority cannot pass by luck of timing.
@pytest.mark.parametrize("preferred", ["m1", "m2"])
def test_higher_failover_priority_wins_between_equal_candidates(make_cluster, profile, preferred):
    cluster = make_cluster()
    leader = cluster.add_member("m0")
    cluster.wait_for_healthy(replicas=0)
    for name in ("m1", "m2"):
        cluster.add_member(name, tags={"failover_priority": 2 if name == preferred else 1})
    assert cluster.wait_for_healthy(replicas=2) == "m0"

    def replicas_caught_up():
        target = psql_value(leader.pg_port, "SELECT pg_current_wal_flush_lsn()")
        positions = [psql_value(cluster.member_named(n).pg_port,
                                "SELECT pg_last_wal_receive_lsn() = '%s' AND "
                                "pg_last_wal_replay_lsn() = '%s'" % (target, target))
                     for n in ("m1", "m2")]
        return positions == ["t", "t"] and target
    wait_until(replicas_caught_up, 30, "both replicas received and replayed everything")

    leader.crash()
    winner = cluster.wait_for_new_leader({"m0"}, profile.failover_timeout)
    assert winner == preferred, f"expected {preferred} (failover_priority 2) to win, got {winner}"
