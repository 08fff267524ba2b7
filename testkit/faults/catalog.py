"""The faults, each one injected and then healed (the next fault starts only after the cluster
converged again). Every step is noted in the cluster timeline. A fault targets the current
primary unless its name says replica.

Durations derive from the profile's ttl: a freeze/partition lasts ttl + 1 s. The leader key
was last refreshed before the fault began, so it has expired after ttl (its expiry wakes the
other members through their etcd watch); the extra second lets them act on that while the
fault still holds, so the cluster really has to fail over (or refuse to)."""

import signal
import time

from ..support import wait_until


class FaultContext:
    def __init__(self, cluster, leader):
        self.cluster = cluster
        self.leader = leader
        self.ttl = cluster.profile.ttl
        self.outage = self.ttl + 1

    @property
    def primary(self):
        return self.cluster.members[self.leader]

    def a_replica(self, index):
        replicas = [m for name, m in self.cluster.members.items() if name != self.leader]
        return replicas[index % len(replicas)]

    def switchover_candidate(self, index):
        """A replica that may take over: in synchronous mode only a listed synchronous (or
        quorum) standby can be a switchover candidate (Patroni answers 412 otherwise)."""
        view = self.cluster.cluster_view() or {}
        synchronous = sorted(m["name"] for m in view.get("members", [])
                             if m.get("role") in ("sync_standby", "quorum_standby")
                             and m["name"] != self.leader)
        if synchronous:
            return self.cluster.members[synchronous[index % len(synchronous)]]
        return self.a_replica(index)

    def hold(self, seconds, why):
        self.cluster.note(f"holding {seconds:.1f}s: {why}")
        time.sleep(seconds)


def kill_postgres(ctx, _):
    """kill -9 of the primary's postmaster; staz restarts it (or fails over)."""
    ctx.primary.kill_postmaster(signal.SIGKILL)
    ctx.hold(1, "let the daemon notice")


def kill_staz(ctx, _):
    """kill -9 of the primary's daemon alone; restarted like systemd would (Restart=always,
    2 s), i.e. before the leader key expires."""
    member = ctx.primary
    member.signal_daemon_only(signal.SIGKILL)
    member.wait_daemon_exit(10)
    ctx.hold(2, "daemon down, PostgreSQL still running")
    member.start()


def kill_both(ctx, _):
    """kill -9 of the primary's daemon and postmaster (node crash); restarted after a new
    leader took over, so the old primary must rejoin as a replica."""
    member = ctx.primary
    member.signal_daemon_only(signal.SIGKILL)
    member.kill_postmaster(signal.SIGKILL)
    member.wait_daemon_exit(10)
    try:
        ctx.cluster.wait_for_new_leader([member.name], ctx.cluster.profile.failover_timeout)
    finally:
        member.start()


def freeze_primary(ctx, _):
    """SIGSTOP of the primary's daemon and every PostgreSQL process for ttl + 1 s, then
    SIGCONT (a VM pause): the node wakes up believing it is still the primary."""
    member = ctx.primary
    member.signal_daemon_only(signal.SIGSTOP)
    member.signal_postgres(signal.SIGSTOP)
    try:
        ctx.hold(ctx.outage, "primary frozen")
    finally:
        member.signal_postgres(signal.SIGCONT)
        member.signal_daemon_only(signal.SIGCONT)


def partition(member, ctx):
    ctx.cluster.topology.cut(member.name)
    ctx.cluster.note(f"network partition: {member.name} ({member.address}) cut off")
    try:
        ctx.hold(ctx.outage, f"{member.name} isolated")
    finally:
        ctx.cluster.topology.heal(member.name)
        ctx.cluster.note(f"partition healed: {member.name}")


def partition_primary(ctx, _):
    partition(ctx.primary, ctx)


def partition_replica(ctx, round_number):
    partition(ctx.a_replica(round_number), ctx)


def freeze_etcd(ctx, _):
    """SIGSTOP of etcd for ttl + 1 s: no DCS for anyone."""
    ctx.cluster.freeze_etcd()
    try:
        ctx.hold(ctx.outage, "etcd frozen")
    finally:
        ctx.cluster.thaw_etcd()


# A switchover candidate must be within maximum_lag_on_failover (1 MiB) of the leader or the
# leader refuses ("no healthy members found"). Right after a rejoin a replica streams but may
# still be catching up under the workload, so the fault waits for it, as an operator would.
SWITCHOVER_MAX_LAG = 256 * 1024


def replication_lag(cluster, name):
    for member in (cluster.cluster_view() or {}).get("members", []):
        if member.get("name") == name and isinstance(member.get("lag"), int):
            return member["lag"]
    return None


def switchover(ctx, round_number):
    """stazctl switchover to a (synchronous, in sync modes) replica that has caught up; a
    refusal because the candidate fell behind again is retried (at most 3 attempts)."""
    for attempt in range(1, 4):
        candidate = ctx.switchover_candidate(round_number)
        wait_until(lambda: (lag := replication_lag(ctx.cluster, candidate.name)) is not None
                   and lag <= SWITCHOVER_MAX_LAG or None, 30,
                   f"{candidate.name} within {SWITCHOVER_MAX_LAG} bytes of the leader", interval=0.25)
        done = ctx.cluster.ctl("switchover", "--leader", ctx.leader, "--candidate", candidate.name,
                               "--force", timeout=60)
        if "Switchover failed" not in done.stdout + done.stderr:
            break
        ctx.cluster.note(f"switchover attempt {attempt} refused by the leader")
    wait_until(lambda: ctx.cluster.leader_name() == candidate.name, 30,
               f"{candidate.name} leads after the switchover", interval=0.25)


CATALOG = {
    "kill-postgres": kill_postgres,
    "kill-staz": kill_staz,
    "kill-both": kill_both,
    "freeze-primary": freeze_primary,
    "partition-primary": partition_primary,
    "partition-replica": partition_replica,
    "freeze-etcd": freeze_etcd,
    "switchover": switchover,
}

# The order a campaign cycles through: cheap and expensive faults interleaved.
ROTATION = ["kill-postgres", "partition-primary", "kill-staz", "freeze-primary", "switchover",
            "kill-both", "freeze-etcd", "partition-replica"]


def plan(count, kinds=None):
    kinds = kinds or ROTATION
    unknown = [kind for kind in kinds if kind not in CATALOG]
    if unknown:
        raise ValueError(f"unknown fault kinds {unknown}; known: {sorted(CATALOG)}")
    return [kinds[index % len(kinds)] for index in range(count)]
