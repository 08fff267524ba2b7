"""Client-side workload and replication probes for the operations tests: a writer that records
which inserts the primary acknowledged, and checks that a replica streams from a given primary."""

import threading
import time

from .support import NotYet, psql, psql_value, wait_until


class AckedWriter:
    """Inserts unique ids through HAProxy's primary port in a background thread, one psql per
    insert. An id counts as acknowledged only when psql exited 0, i.e. the COMMIT was confirmed
    to the client; a failed or timed-out insert is not acknowledged (it may or may not have been
    applied). Ids run from `first_id` up; `statement(id)` is the SQL of one insert (a subclass
    may write more than one row per transaction, as the mesh's zone writer does)."""

    def __init__(self, cluster, table="acked_writes", interval=0.02, first_id=1,
                 database="postgres", timeout=10, label=None):
        self.cluster = cluster
        self.table = table
        self.interval = interval
        self.database = database
        self.timeout = timeout
        self.label = label or cluster.scope
        self.next_id = first_id
        self.acked = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def statement(self, row_id):
        return f"INSERT INTO {self.table} VALUES ({row_id})"

    def create_table(self, timeout=30):
        def create():
            ok, detail = self.cluster.write_through_haproxy(
                f"CREATE TABLE IF NOT EXISTS {self.table}(id bigint PRIMARY KEY)")
            return ok or None
        wait_until(create, timeout, f"table {self.table} created through HAProxy",
                   interval=0.25)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            row_id = self.next_id
            self.next_id += 1  # never reuse an id whose outcome is unknown
            code, _, _ = psql(self.cluster.haproxy_primary_port, self.statement(row_id),
                              timeout=self.timeout, database=self.database)
            if code == 0:
                self.acked.append(row_id)
            else:
                self.failures += 1
            self._stop.wait(self.interval)

    def wait_for_acks(self, count, timeout, what):
        """Waits until `count` more ids than now have been acknowledged."""
        target = len(self.acked) + count
        wait_until(lambda: len(self.acked) >= target or None, timeout,
                   f"{count} acknowledged inserts in {self.label} {what}", interval=0.2)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=30)
        self.cluster.note(f"writer stopped in {self.label}: {len(self.acked)} acked, "
                          f"{self.failures} failed inserts")
        return self

    def missing_on(self, port):
        """Acknowledged ids absent from the table on the server at `port`."""
        acked = set(self.acked)  # snapshot first: later acks may not be replicated yet
        present = set(map(int, psql_value(port, f"SELECT id FROM {self.table}").split()))
        return sorted(acked - present)


def upstream_port(member):
    """PostgreSQL port a replica's WAL receiver streams from, or raises NotYet."""
    code, out, err = psql(member.pg_port, "SELECT status, sender_port FROM pg_stat_wal_receiver",
                          timeout=5)
    if code != 0:
        raise NotYet(f"{member.name}: {err}")
    if not out.startswith("streaming|"):
        raise NotYet(f"{member.name} wal receiver: {out or 'none'}")
    return int(out.split("|")[1])


def wait_streaming_from(replica, primary, timeout):
    """Waits until `replica` streams from `primary` (its WAL receiver's sender port and the
    primary's pg_stat_replication both say so)."""
    def streams():
        port = upstream_port(replica)
        if port != primary.pg_port:
            raise NotYet(f"{replica.name} streams from port {port}, not {primary.name}")
        senders = psql_value(primary.pg_port, "SELECT application_name FROM pg_stat_replication"
                                              " WHERE state = 'streaming'").split()
        if replica.name not in senders:
            raise NotYet(f"{primary.name} walsenders: {senders}")
        return True
    wait_until(streams, timeout, f"{replica.name} streams from {primary.name}")
    replica.cluster.note(f"{replica.name} streams from {primary.name}")


def postmaster_start_time(member):
    return psql_value(member.pg_port, "SELECT pg_postmaster_start_time()")


def wait_primary_is(cluster, name, timeout):
    """Waits until /cluster names `name` leader and it runs out of recovery."""
    member = cluster.member_named(name)

    def is_primary():
        leader = cluster.leader_name()
        if leader != name:
            raise NotYet(f"leader is {leader}")
        code, out, err = psql(member.pg_port, "SELECT pg_is_in_recovery()", timeout=5)
        if out != "f":
            raise NotYet(f"{name} in recovery: {out or err}")
        return True
    wait_until(is_primary, timeout, f"{name} is the leader and out of recovery")
    cluster.note(f"{name} is primary")


def sleep_noting(cluster, seconds, why):
    cluster.note(f"waiting {seconds:.0f}s: {why}")
    time.sleep(seconds)
