"""SCALE: how the cost grows with the cluster. One scope of 3, 5 and 9 members, then 1, 5 and 10
scopes of 3 members sharing one etcd. For each shape, after the members are healthy: an idle
window (per-member RSS and CPU, etcd requests and bytes per minute), then one node loss in the
first scope (time from the kill to the first write acknowledged through its HAProxy)."""

import time

from .env import BenchCluster
from .failover import fault_run
from .measure import etcd_grpc_bytes, etcd_grpc_counts, proc_cpu_seconds, proc_rss_kb, settle_until_etcd_quiet
from .session import healthy_leader
from testkit.support import wait_until

MEMBERS_PER_SCOPE = 3
# (members per scope, scopes); one scope of 3 is also the first of "1, 5 and 10 scopes".
SHAPES = [(3, 1), (5, 1), (9, 1), (MEMBERS_PER_SCOPE, 5), (MEMBERS_PER_SCOPE, 10)]


def start_shape(setup, members, scopes):
    """`scopes` clusters of `members` members on the first one's etcd, each with its HAProxy;
    returns them once every scope has a running leader and streaming replicas."""
    clusters = []
    try:
        for index in range(scopes):
            cluster = BenchCluster(setup, scope=f"bench{index}")
            clusters.append(cluster)
            if index == 0:
                cluster.start_etcd()
            else:
                cluster.etcd_port = clusters[0].etcd_port
            for number in range(members):
                cluster.add_member(f"m{number}", start=False)
            cluster.start_haproxy()
        for cluster in clusters:
            for member in cluster.members.values():
                member.start()
        for cluster in clusters:
            wait_until(lambda: healthy_leader(cluster, members - 1), 300 + 20 * scopes,
                       f"{setup.key} {cluster.scope}: 1 running leader + {members - 1} streaming replicas", interval=0.5)
        return clusters
    except BaseException:
        for cluster in clusters:
            print(cluster.diagnostics(20))
        stop_shape(clusters)
        raise


def stop_shape(clusters):
    # The etcd's owner last: the others' daemons must not lose it while they stop.
    for cluster in reversed(clusters):
        cluster.cleanup()


def idle_costs(clusters, window):
    members = [m for cluster in clusters for m in cluster.members.values()]
    port = clusters[0].etcd_port
    settled = settle_until_etcd_quiet(port, clusters[0].setup.loop_wait)
    pids = {f"{m.cluster.scope}/{m.name}": m.daemon_pid for m in members}
    cpu_before = {name: proc_cpu_seconds(pid) for name, pid in pids.items()}
    counts_before, bytes_before = etcd_grpc_counts(port), etcd_grpc_bytes(port)
    started = time.monotonic()
    time.sleep(window)
    minutes = (time.monotonic() - started) / 60
    counts_after, bytes_after = etcd_grpc_counts(port), etcd_grpc_bytes(port)
    cpu = {name: (proc_cpu_seconds(pid) - cpu_before[name]) / minutes for name, pid in pids.items()}
    rss = {name: proc_rss_kb(pid)["VmRSS"] / 1024 for name, pid in pids.items()}
    requests = sum(counts_after.get(k, 0) - counts_before.get(k, 0) for k in counts_after if k != "Status") / minutes
    traffic = sum(bytes_after[k] - bytes_before[k] for k in bytes_after) / minutes
    return {"members": len(members), "rss_mb": rss, "cpu_s_per_min": cpu, "etcd_requests_per_min": requests,
            "etcd_bytes_per_min": traffic, "window_s": minutes * 60,
            "settled_s": settled}


def run_scale(context, setup, window):
    context.session.close()  # its own clusters; nothing else may share the CPU
    for members, scopes in SHAPES:
        shape = f"{scopes} scope(s) x {members} members"
        context.progress(f"SCALE {setup.key}: {shape}")
        clusters = start_shape(setup, members, scopes)
        try:
            costs = idle_costs(clusters, window)
            first = clusters[0]
            timeout = setup.ttl + 4 * setup.loop_wait + 2 * setup.retry_timeout + 30
            failover, details = fault_run(first, f"scale-{setup.key}-{scopes}x{members}",
                                          lambda member: member.crash(), timeout, replicas=members - 1)
        finally:
            stop_shape(clusters)
        total = costs["members"]
        note = f"idle window {costs['window_s']:.0f}s"
        context.record("SCALE", setup, f"{shape}: daemon RSS per member", "MB", list(costs["rss_mb"].values()),
                       [costs], note=note)
        context.record("SCALE", setup, f"{shape}: daemon CPU per member per idle minute", "CPU-s/min",
                       list(costs["cpu_s_per_min"].values()), [], note=note)
        context.record("SCALE", setup, f"{shape}: etcd requests per minute (all members)", "req/min",
                       [costs["etcd_requests_per_min"]], [], note=f"{costs['etcd_requests_per_min'] / total:.1f} per member")
        context.record("SCALE", setup, f"{shape}: etcd gRPC bytes per minute (all members)", "bytes/min",
                       [costs["etcd_bytes_per_min"]], [], note=f"{costs['etcd_bytes_per_min'] / total:.0f} per member")
        context.record("SCALE", setup, f"{shape}: node loss, first ack after the fault", "s", [failover], [details])
        context.progress(f"SCALE {setup.key} {shape}: RSS median {sorted(costs['rss_mb'].values())[total // 2]:.1f} MB, "
                         f"etcd {costs['etcd_requests_per_min']:.0f} req/min, {costs['etcd_bytes_per_min']:.0f} B/min, "
                         f"failover {failover}")
