"""Test-side control and analysis of the two helper processes: the acknowledged-writes
workload (writer_proc.py) and the primary monitor (monitor_proc.py). Both helpers run under
the Patroni venv's Python for psycopg 3 and log CLOCK_MONOTONIC times, which are the same clock
as time.monotonic() here, so their events merge into the cluster timeline."""

import glob
import os
import signal
import subprocess

from ..support import SUPERUSER_PASSWORD, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
VENV_PYTHON = os.environ.get("STAZ_FAULTS_PYTHON", "/opt/patroni-venv/bin/python")
TABLE = "fault_acks"


def start_helper(cluster, script, args, log_name):
    log = open(cluster.path(log_name), "ab")
    process = subprocess.Popen([VENV_PYTHON, os.path.join(HERE, script), *map(str, args)],
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    return process


def stop_helper(process, grace=6):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


class Workload:
    """`clients` threads inserting unique ids through HAProxy's primary port."""

    def __init__(self, cluster, clients=4, pause=0.0):
        self.cluster = cluster
        self.clients = clients
        self.pause = pause
        self.out_dir = cluster.path("workload")
        os.makedirs(self.out_dir, exist_ok=True)
        self.process = None
        self.acked = {}     # id -> (server address, ack time)
        self.sent = set()   # every id put on the wire (acknowledged or not)
        self.errors = []    # (time, id, message)
        self._offsets = {}

    def create_table(self):
        def create():
            ok, _ = self.cluster.write_through_haproxy(
                f"CREATE TABLE IF NOT EXISTS {TABLE}(id bigint PRIMARY KEY)")
            return ok or None
        wait_until(create, 30, f"table {TABLE} created through HAProxy", interval=0.25)

    def start(self):
        self.create_table()
        self.process = start_helper(self.cluster, "writer_proc.py",
                                    [self.cluster.haproxy_primary_port, SUPERUSER_PASSWORD, TABLE,
                                     self.clients, self.pause, self.out_dir], "writer.log")
        self.cluster.note(f"workload started: {self.clients} clients (pid {self.process.pid})")
        return self

    def stop(self):
        if not self.alive():
            return
        stop_helper(self.process)
        self.collect()
        self.cluster.note(f"workload stopped: {len(self.sent)} sent, {len(self.acked)} acked, "
                          f"{len(self.errors)} failed statements")

    def collect(self):
        """Reads what the clients logged since the last call (whole lines only)."""
        for path in sorted(glob.glob(os.path.join(self.out_dir, "writer-*.log"))):
            with open(path) as handle:
                handle.seek(self._offsets.get(path, 0))
                data = handle.read()
            complete = data[:data.rfind("\n") + 1]
            self._offsets[path] = self._offsets.get(path, 0) + len(complete.encode())
            for line in complete.splitlines():
                kind, rest = line[0], line[2:].split(" ", 3)
                if kind == "T":
                    self.sent.add(int(rest[0]))
                elif kind == "A":
                    self.acked[int(rest[0])] = (rest[1], float(rest[2]))
                elif kind == "E":
                    self.errors.append((float(rest[1]), int(rest[0]),
                                        rest[2] if len(rest) > 2 else ""))
        return self

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def acks_between(self, start, end):
        """{server address: count} of acknowledgements in [start, end] (monotonic)."""
        counts = {}
        for address, at in self.acked.values():
            if start <= at <= end:
                counts[address] = counts.get(address, 0) + 1
        return counts

    def wait_for_progress(self, count, timeout, what):
        target = len(self.collect().acked) + count
        wait_until(lambda: len(self.collect().acked) >= target, timeout,
                   f"{count} more acknowledged inserts {what}", interval=0.2)


class Monitor:
    """pg_is_in_recovery() of every member every `interval` seconds (unix sockets)."""

    def __init__(self, cluster, interval=0.05):
        self.cluster = cluster
        self.interval = interval
        self.path = cluster.path("monitor.log")
        self.process = None
        self.samples = []  # (member, sent, answered, "P"|"R"|"X")
        self._offset = 0

    def start(self):
        specs = [f"{m.name}:{self.cluster.dir}:{m.pg_port}" for m in self.cluster.members.values()]
        self.process = start_helper(self.cluster, "monitor_proc.py",
                                    [self.path, SUPERUSER_PASSWORD, self.interval, *specs],
                                    "monitor-stderr.log")
        self.cluster.note(f"monitor started (pid {self.process.pid}, every "
                          f"{self.interval * 1000:.0f} ms)")
        return self

    def stop(self):
        stop_helper(self.process)
        self.collect()

    def collect(self):
        try:
            with open(self.path) as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return self
        complete = data[:data.rfind("\n") + 1]
        self._offset += len(complete.encode())
        for line in complete.splitlines():
            parts = line.split(" ")
            self.samples.append((parts[0], float(parts[1]), float(parts[2]), parts[3]))
        return self

    def dual_primary_samples(self, start=0.0, end=float("inf")):
        """Pairs of "accepts writes" answers from two different members within one sampling
        interval of each other: [(time, member a, member b)]. Each answer counts at most once.
        Only answers that came back within two intervals of being asked count: a query that
        was in flight across a freeze may have been evaluated before the freeze, so its
        answer says nothing about the moment it arrived (it stays in the timeline)."""
        primaries = sorted((answered, member) for member, sent, answered, state in self.samples
                           if state == "P" and start <= answered <= end
                           and answered - sent <= 2 * self.interval)
        found = []
        for index, (at, member) in enumerate(primaries):
            for later, other in primaries[index + 1:]:
                if later - at > self.interval:
                    break
                if other != member:
                    found.append((at, member, other))
                    break
        return found

    def transitions(self, start=0.0, end=float("inf")):
        """[(time, member, state)] whenever a member's answer changes: the timeline view."""
        last, changes = {}, []
        for member, _, answered, state in sorted(self.samples, key=lambda s: s[2]):
            if start <= answered <= end and last.get(member) != state:
                changes.append((answered, member, state))
            last[member] = state
        return changes

    def sample_count(self):
        return len(self.samples)


def wait_helpers_ready(workload, monitor, timeout=30):
    workload.wait_for_progress(20, timeout, "once the workload started")
    wait_until(lambda: monitor.collect().sample_count() > 10, timeout, "monitor samples")
