"""Cluster lifecycle for the benchmarks: bootstrap (timed, for B7), health waits that also
restart members a scenario killed, and a per-setup cache so consecutive scenarios share one
cluster instead of bootstrapping again."""

import time

from .env import BenchCluster
from testkit.support import psql, wait_until


def healthy_leader(cluster, replicas=2):
    """The leader's name when one member leads (running) and `replicas` stream, else None."""
    view = cluster.cluster_view()
    if not view:
        return None
    leaders = [m for m in view.get("members", []) if m.get("role") == "leader"]
    if len(leaders) != 1 or leaders[0].get("state") != "running":
        return None
    if len(cluster.streaming_replicas(view)) < replicas:
        return None
    return leaders[0]["name"]


def bootstrap(setup, members=3):
    """etcd + HAProxy first, then all daemons started together; returns (cluster, leader,
    seconds from the daemons' start to 1 leader + 2 streaming replicas)."""
    cluster = BenchCluster(setup)
    try:
        cluster.start_etcd()
        for index in range(members):
            cluster.add_member(f"m{index}", start=False)
        cluster.start_haproxy()
        started = time.monotonic()
        for member in cluster.members.values():
            member.start()
        leader = wait_until(lambda: healthy_leader(cluster, members - 1), 180,
                            f"{setup.key}: 1 running leader + {members - 1} streaming replicas",
                            interval=0.1)
        elapsed = time.monotonic() - started
        cluster.note(f"bootstrap of {setup.key} took {elapsed:.2f}s, leader {leader}")
        return cluster, leader, elapsed
    except BaseException:
        print(cluster.diagnostics(30))
        cluster.cleanup()
        raise


def write_through_haproxy_ok(cluster):
    code, _, _ = psql(cluster.haproxy_primary_port, "SELECT 1 WHERE NOT pg_is_in_recovery()", timeout=3)
    return code == 0


def ensure_healthy(cluster, timeout=240, replicas=2):
    """Restarts daemons that are not running, waits for 1 leader + `replicas` streaming
    replicas and for HAProxy to route writes; returns the leader's name."""
    for member in cluster.members.values():
        if member.daemon_pid is None:
            member.start()
    leader = wait_until(lambda: healthy_leader(cluster, replicas), timeout,
                        f"cluster healthy again (1 leader + {replicas} streaming)", interval=0.25)
    code = wait_until(lambda: psql(cluster.haproxy_primary_port, "SELECT pg_is_in_recovery()",
                                   timeout=3)[1] == "f", 60, "HAProxy routes to a primary",
                      interval=0.25)
    assert code
    return leader


class Session:
    """Holds at most one live cluster (one setup) at a time, so tools never share the CPU."""

    def __init__(self):
        self.cluster = None
        self.setup = None

    def adopt(self, setup, cluster):
        self.close()
        self.setup, self.cluster = setup, cluster

    def cluster_for(self, setup):
        if self.setup is not None and self.setup.key == setup.key and self.cluster is not None:
            try:
                ensure_healthy(self.cluster)
                return self.cluster
            except Exception as error:  # noqa: BLE001 - a broken cluster is replaced
                print(f"[bench] cluster for {setup.key} unhealthy, re-bootstrapping: {error}")
                print(self.cluster.diagnostics(20))
        cluster, _, _ = bootstrap(setup)
        self.adopt(setup, cluster)
        ensure_healthy(cluster)
        return cluster

    def discard(self):
        """Called after a scenario failed: the next scenario starts from a fresh cluster."""
        if self.cluster is not None:
            print(self.cluster.diagnostics(30))
        self.close()

    def close(self):
        if self.cluster is not None:
            self.cluster.cleanup()
        self.cluster = self.setup = None
