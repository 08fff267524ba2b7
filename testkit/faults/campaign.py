"""A fault campaign: a 3-member cluster (members in their own network namespaces), the
acknowledged-writes workload and the primary monitor running throughout, N faults one after
the other (each healed, then the cluster must converge: 1 running leader + 2 streaming
replicas and acknowledged writes flowing again, within CONVERGENCE_BOUND), then the checks:
  * lost: acknowledged ids missing on the primary or on any replica (checked on the leader
    after every fault, and on every member at the end once replicas replayed everything);
  * unexpected: ids present that no client ever sent;
  * dual primary: two members answering pg_is_in_recovery() = false within one 50 ms sample."""

import os
import subprocess
import time
from dataclasses import dataclass, field

from .catalog import CATALOG, FaultContext, plan
from .nscluster import NamespacedCluster
from .observers import TABLE, Monitor, Workload, wait_helpers_ready
from ..support import PG_BIN, SUPERUSER_PASSWORD, NotYet, wait_until
from .timeline import render_timeline

CONVERGENCE_BOUND = float(os.environ.get("STAZ_FAULTS_CONVERGENCE_BOUND", 30))
# The healthy state must hold this long (same leader, replicas streaming) to count: a cluster
# that looks healthy for a moment and then fails over (e.g. a restarted daemon that lost its
# lease while starting) has not converged.
SETTLE_SECONDS = 2.0
# How far back before a fault the per-fault check on the new leader looks (seconds).
LOSS_WINDOW = 30.0
ID_BLOCK = 1_000_000_000  # as in writer_proc.py (which needs psycopg, so it is not imported)


@dataclass
class FaultRecord:
    index: int
    kind: str
    target: str
    started: float
    healed: float = 0.0
    converged_after: float = None  # seconds from heal to healthy + writes flowing
    leader_after: str = None
    lost_on_leader: list = field(default_factory=list)
    dual_primary: list = field(default_factory=list)
    acks_by_server: dict = field(default_factory=dict)


@dataclass
class CampaignResult:
    mode: str
    faults: list
    sent: int = 0
    acked: int = 0
    failed_statements: int = 0
    lost: dict = field(default_factory=dict)        # member -> acknowledged ids missing there
    unexpected: dict = field(default_factory=dict)  # member -> ids nobody sent
    dual_primary: list = field(default_factory=list)
    samples: int = 0
    duration: float = 0.0
    error: str = None
    timeline: str = ""

    @property
    def lost_ids(self):
        return sorted(set().union(*self.lost.values())) if self.lost else []

    def convergence_times(self):
        return [f.converged_after for f in self.faults if f.converged_after is not None]

    def summary(self):
        times = self.convergence_times()
        by_kind = {}
        for fault in self.faults:
            by_kind[fault.kind] = by_kind.get(fault.kind, 0) + 1
        lines = [
            f"mode={self.mode} faults={len(self.faults)} ({', '.join(f'{k}={v}' for k, v in sorted(by_kind.items()))})",
            f"duration={self.duration:.0f}s sent={self.sent} acked={self.acked} "
            f"failed_statements={self.failed_statements}",
            f"lost_acked={len(self.lost_ids)} unexpected={sum(len(v) for v in self.unexpected.values())} "
            f"dual_primary_samples={len(self.dual_primary)} monitor_samples={self.samples}",
        ]
        if times:
            ordered = sorted(times)
            lines.append(f"convergence: max={ordered[-1]:.1f}s median={ordered[len(ordered) // 2]:.1f}s "
                         f"(bound {CONVERGENCE_BOUND:.0f}s)")
        for fault in self.faults:
            conv = f"{fault.converged_after:5.1f}s" if fault.converged_after is not None else "  n/a "
            lines.append(f"  #{fault.index:3d} {fault.kind:18s} target={fault.target:3s} "
                         f"converged={conv} leader_after={fault.leader_after} "
                         f"lost_on_leader={len(fault.lost_on_leader)} dual={len(fault.dual_primary)}")
        if self.error:
            lines.append(f"campaign error: {self.error}")
        return "\n".join(lines)


def member_ids(cluster, member, timeout=60):
    """Every id in the table on `member`, read through its unix socket."""
    done = subprocess.run(
        [f"{PG_BIN}/psql", "-h", cluster.dir, "-p", str(member.pg_port), "-U", "postgres",
         "-d", "postgres", "-Atc", f"SELECT id FROM {TABLE}"],
        env=dict(os.environ, PGPASSWORD=SUPERUSER_PASSWORD, PGCONNECT_TIMEOUT="3"),
        capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"reading {TABLE} on {member.name}: {done.stderr.strip()}")
    return set(map(int, done.stdout.split()))


def member_ids_since(cluster, member, acked, since):
    """The ids acknowledged at or after `since` and the subset present on `member`. Each
    client writes increasing ids in its own block (writer_proc.ID_BLOCK), so "acknowledged
    since" is one id range per client and the query is a primary-key range scan instead of a
    read of the whole (growing) table after every fault."""
    firsts = {}
    window = set()
    for ack_id, (_, at) in acked.items():
        if at >= since:
            window.add(ack_id)
            block = ack_id // ID_BLOCK
            firsts[block] = min(firsts.get(block, ack_id), ack_id)
    if not window:
        return window, set()
    ranges = " OR ".join(f"(id >= {first} AND id < {(block + 1) * ID_BLOCK})"
                         for block, first in sorted(firsts.items()))
    done = subprocess.run(
        [f"{PG_BIN}/psql", "-h", cluster.dir, "-p", str(member.pg_port), "-U", "postgres",
         "-d", "postgres", "-Atc", f"SELECT id FROM {TABLE} WHERE {ranges}"],
        env=dict(os.environ, PGPASSWORD=SUPERUSER_PASSWORD, PGCONNECT_TIMEOUT="3"),
        capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"reading {TABLE} on {member.name}: {done.stderr.strip()}")
    return window, set(map(int, done.stdout.split()))


def member_value(cluster, member, sql):
    done = subprocess.run(
        [f"{PG_BIN}/psql", "-h", cluster.dir, "-p", str(member.pg_port), "-U", "postgres",
         "-d", "postgres", "-Atc", sql],
        env=dict(os.environ, PGPASSWORD=SUPERUSER_PASSWORD, PGCONNECT_TIMEOUT="3"),
        capture_output=True, text=True, timeout=15)
    if done.returncode != 0:
        raise NotYet(f"{member.name}: {done.stderr.strip()}")
    return done.stdout.strip()


class Campaign:
    def __init__(self, profile, mode="async", count=20, kinds=None, clients=4, pause=0.0,
                 members=3, progress=print):
        self.profile = profile
        self.mode = mode
        self.kinds = plan(count, kinds)
        self.clients = clients
        self.pause = pause
        self.member_count = members
        self.progress = progress
        self.cluster = None
        # Called with the cluster once it is healthy, before the workload starts (e.g. to
        # require that synchronous replication is really in effect).
        self.before_workload = None
        self.reported_lost = set()  # ids a per-fault check already found missing

    def run(self):
        started = time.monotonic()
        result = CampaignResult(self.mode, [])
        self.cluster = cluster = NamespacedCluster(self.profile, mode=self.mode)
        workload = monitor = None
        try:
            cluster.start_etcd()
            for index in range(self.member_count):
                cluster.add_member(f"m{index}")
            cluster.start_haproxy()
            leader = cluster.wait_for_healthy(self.member_count - 1)
            if self.before_workload is not None:
                self.before_workload(cluster)
            workload, monitor = Workload(cluster, self.clients, self.pause).start(), Monitor(cluster).start()
            wait_helpers_ready(workload, monitor)
            for index, kind in enumerate(self.kinds, 1):
                leader = self._one_fault(index, kind, leader, workload, monitor, result)
            self._final_checks(leader, workload, monitor, result)
        except Exception as error:  # noqa: BLE001 - reported with the timeline below
            result.error = f"{type(error).__name__}: {error}"
        finally:
            for helper in (workload, monitor):
                if helper is not None and helper.process is not None:
                    helper.stop()
            if workload is not None:
                result.sent, result.acked = len(workload.sent), len(workload.acked)
                result.failed_statements = len(workload.errors)
            if monitor is not None:
                result.dual_primary = monitor.dual_primary_samples()
                result.samples = monitor.sample_count()
            result.duration = time.monotonic() - started
            result.timeline = render_timeline(cluster, workload, monitor, result)
        return result

    def _one_fault(self, index, kind, leader, workload, monitor, result):
        cluster = self.cluster
        leader = cluster.leader_name() or leader  # who leads right now, not who led before
        context = FaultContext(cluster, leader)
        target = leader if kind != "partition-replica" else context.a_replica(index).name
        target = "-" if kind == "freeze-etcd" else target
        record = FaultRecord(index, kind, target, time.monotonic())
        result.faults.append(record)
        cluster.note(f"===== fault {index}/{len(self.kinds)}: {kind} (leader {leader}) =====")
        CATALOG[kind](context, index)
        record.healed = time.monotonic()
        cluster.note(f"fault {index} healed; waiting for convergence")
        leader, stable_since = self._wait_converged(record.healed + CONVERGENCE_BOUND)
        remaining = max(5.0, CONVERGENCE_BOUND - (time.monotonic() - record.healed))
        workload.wait_for_progress(20, remaining, f"after fault {index} ({kind})")
        record.converged_after = stable_since - record.healed
        record.leader_after = leader
        checked_at = time.monotonic()
        workload.collect()
        # Writes a fault can lose were acknowledged shortly before it (a replica that took over
        # had not received them yet); everything older was checked after earlier faults and is
        # checked again on every member at the end.
        window, present = member_ids_since(cluster, cluster.members[leader], workload.acked,
                                           record.started - LOSS_WINDOW)
        record.lost_on_leader = sorted(i for i in window - present - self.reported_lost
                                       if workload.acked[i][1] < checked_at)
        self.reported_lost.update(record.lost_on_leader)
        record.acks_by_server = workload.acks_between(record.started, checked_at)
        record.dual_primary = monitor.collect().dual_primary_samples(record.started, checked_at)
        cluster.note(f"fault {index} ({kind}) converged in {record.converged_after:.1f}s: "
                     f"leader {leader}, lost on leader {len(record.lost_on_leader)}, "
                     f"dual-primary samples {len(record.dual_primary)}, "
                     f"acks by server {record.acks_by_server}")
        self.progress(f"fault {index}/{len(self.kinds)} {kind}: converged "
                      f"{record.converged_after:.1f}s, lost {len(record.lost_on_leader)}, "
                      f"dual {len(record.dual_primary)}")
        return leader

    def _wait_converged(self, deadline):
        """(leader, since): 1 running leader + all replicas streaming, unchanged for
        SETTLE_SECONDS. Raises (with the observed states) when that does not happen before
        `deadline`."""
        cluster, replicas = self.cluster, self.member_count - 1
        while True:
            leader = cluster.wait_for_healthy(
                replicas, timeout=max(1.0, deadline - time.monotonic()))
            since = time.monotonic()
            while time.monotonic() - since < SETTLE_SECONDS:
                time.sleep(0.5)
                view = cluster.cluster_view() or {}
                leaders = [m for m in view.get("members", []) if m.get("role") == "leader"]
                if (len(leaders) != 1 or leaders[0]["name"] != leader
                        or leaders[0].get("state") != "running"
                        or len(cluster.streaming_replicas(view)) < replicas):
                    cluster.note(f"not settled: {[(m.get('name'), m.get('role'), m.get('state')) for m in view.get('members', [])]}")
                    break
            else:
                return leader, since
            if time.monotonic() > deadline:
                raise AssertionError(f"cluster did not settle within {CONVERGENCE_BOUND:.0f}s "
                                     "of the heal")

    def _final_checks(self, leader, workload, monitor, result):
        cluster = self.cluster
        workload.stop()
        primary = cluster.members[leader]
        target_lsn = member_value(cluster, primary, "SELECT pg_current_wal_lsn()")

        def replayed(member):
            return member_value(cluster, member, "SELECT pg_last_wal_replay_lsn() >= "
                                                 f"'{target_lsn}'::pg_lsn") == "t" or None
        for member in cluster.members.values():
            if member is not primary:
                wait_until(lambda m=member: replayed(m), 60,
                           f"{member.name} replayed up to {target_lsn}", interval=0.25)
        acked, sent = set(workload.acked), workload.sent
        for member in cluster.members.values():
            present = member_ids(cluster, member)
            result.lost[member.name] = sorted(acked - present)
            result.unexpected[member.name] = sorted(present - sent)
        cluster.note(f"final check: lost per member { {k: len(v) for k, v in result.lost.items()} }, "
                     f"unexpected { {k: len(v) for k, v in result.unexpected.items()} }")

    def cleanup(self):
        if self.cluster is not None:
            self.cluster.cleanup()
