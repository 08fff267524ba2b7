"""Operations: manual switchover (immediate and scheduled) driven through the ctl, with a
writer checking that no acknowledged write is lost."""

import datetime
import time

from testkit.harness import LeaderWatch
from testkit.profiles import PATRONICTL
from testkit.support import NotYet, wait_until
from testkit.workload import AckedWriter, wait_primary_is, wait_streaming_from


def switchover_timeout(profile):
    # Demote (checkpoint + stop), the candidate's promote and a couple of HA cycles.
    return 6 * profile.loop_wait + profile.ttl + 30


def switch_over(cluster, writer, profile, old_name, candidate, executable):
    writer.wait_for_acks(20, 60, f"before switching to {candidate}")
    done = cluster.ctl("switchover", cluster.scope, "--candidate", candidate, "--force",
                       executable=executable)
    assert f'Successfully switched over to "{candidate}"' in done.stdout, done.stdout
    wait_primary_is(cluster, candidate, switchover_timeout(profile))
    assert cluster.primaries_by_rest() == [candidate]
    writer.wait_for_acks(20, 60, f"through HAProxy after switching to {candidate}")
    new = cluster.member_named(candidate)
    missing = writer.missing_on(new.pg_port)
    assert not missing, f"acknowledged ids missing on {candidate}: {missing[:20]}"
    # The replicas that were not part of the switchover follow the new primary promptly (its
    # slots for them exist before it is promoted); the old primary may need a rewind first.
    for member in cluster.members.values():
        if member.name not in (old_name, candidate):
            wait_streaming_from(member, new, REPLICA_FOLLOWS_BOUND)
    wait_streaming_from(cluster.member_named(old_name), new, profile.bootstrap_timeout)


# How soon after a switchover an uninvolved replica streams from the new primary.
REPLICA_FOLLOWS_BOUND = 10


def test_switchover_moves_leader_without_losing_acked_writes(three_node_cluster, profile):
    """First with the profile's ctl, then back-to-back with the real patronictl (which must
    drive a staz cluster the same way)."""
    cluster, first = three_node_cluster
    second, third = sorted(name for name in cluster.members if name != first)
    writer = AckedWriter(cluster)
    writer.create_table()
    writer.start()
    try:
        switch_over(cluster, writer, profile, first, second, profile.ctl)
        switch_over(cluster, writer, profile, second, third, PATRONICTL)
    finally:
        writer.stop()
    final = cluster.member_named(third)
    assert not writer.missing_on(final.pg_port)
    wait_streaming_from(cluster.member_named(first), final, profile.bootstrap_timeout)
    print(f"\nSWITCHOVERS: {len(writer.acked)} acked writes kept, "
          f"{writer.failures} inserts failed during the switchovers")


def local_time_in(seconds):
    return (datetime.datetime.now(datetime.timezone.utc)
            + datetime.timedelta(seconds=seconds)).replace(microsecond=0).astimezone()


def scheduled_switchover(cluster):
    view = cluster.cluster_view()
    if view is None:
        raise NotYet(f"no /cluster: {cluster.view_errors}")
    return view.get("scheduled_switchover")


def test_scheduled_switchover_fires_on_time_and_flush_cancels(make_cluster, profile):
    cluster = make_cluster()
    cluster.add_member("m0")
    cluster.add_member("m1")
    leader = cluster.wait_for_healthy(replicas=1)
    candidate = next(name for name in cluster.members if name != leader)

    lead_time = 8 + 2 * profile.loop_wait
    at = local_time_in(lead_time)
    cluster.ctl("switchover", cluster.scope, "--candidate", candidate,
                "--scheduled", at.isoformat(), "--force")
    planned = wait_until(lambda: scheduled_switchover(cluster), 10,
                         "GET /cluster shows the scheduled switchover")
    assert planned.get("from") == leader and planned.get("to") == candidate, planned
    assert cluster.leader_name() == leader, "switchover happened before its scheduled time"

    wait_primary_is(cluster, candidate, lead_time + switchover_timeout(profile))
    fired = datetime.datetime.now(datetime.timezone.utc)
    cluster.note(f"switchover done {(fired - at).total_seconds():+.1f}s from its schedule")
    # The leader polls every loop_wait; it may not act early (1 s of slack for clocks/polls).
    assert fired >= at - datetime.timedelta(seconds=1), (fired, at)
    assert scheduled_switchover(cluster) is None
    wait_streaming_from(cluster.member_named(leader), cluster.member_named(candidate),
                        profile.bootstrap_timeout)

    # A second one, further ahead, is cancelled with flush and must never fire.
    at = local_time_in(10 + 2 * profile.loop_wait)
    cluster.ctl("switchover", cluster.scope, "--candidate", leader,
                "--scheduled", at.isoformat(), "--force")
    wait_until(lambda: scheduled_switchover(cluster), 10, "second scheduled switchover listed")
    done = cluster.ctl("flush", cluster.scope, "switchover", "--force")
    assert "Success" in done.stdout, done.stdout
    wait_until(lambda: scheduled_switchover(cluster) is None, 10,
               "GET /cluster no longer shows a scheduled switchover")
    watch = LeaderWatch(cluster)
    try:
        remaining = (at - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        time.sleep(max(0.0, remaining) + 3 * profile.loop_wait + 2)
    finally:
        watch.stop()
    assert watch.leaders_seen() == {candidate}, watch.samples
    assert cluster.primaries_by_rest() == [candidate]
