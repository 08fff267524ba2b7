"""B4 (REST /primary and /replica throughput with wrk), B5 (daemon RSS and CPU over an idle
window) and B6 (etcd requests and writes per member per minute over the same window)."""

import re
import subprocess
import time

from .floors import etcd_txn_round_trip
from .measure import etcd_grpc_counts, etcd_revision, proc_cpu_seconds, proc_rss_kb, settle_until_etcd_quiet
from .residency import breakdown
from .session import ensure_healthy
from testkit.support import child_process, psql_value

UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(text):
    """Requests/s, latency percentiles (ms) and non-2xx count from `wrk --latency` output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not rps:
        raise RuntimeError(f"cannot parse wrk output:\n{text[-800:]}")
    result = {"rps": float(rps.group(1)), "non_2xx": 0, "socket_errors": 0}
    for percent, number, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M):
        result[f"p{percent}_ms"] = float(number) * UNIT_MS[unit]
    non = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if non:
        result["non_2xx"] = int(non.group(1))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if errors:
        result["socket_errors"] = sum(int(x) for x in errors.groups())
    return result


def run_wrk(port, path, connections, seconds):
    threads = min(2, connections)  # wrk needs connections >= threads
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
               f"http://127.0.0.1:{port}{path}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-400:]}")
    return parse_wrk(done.stdout), " ".join(command)


def run_b4(context, setup, connections, seconds):
    cluster = context.session.cluster_for(setup)
    leader_name = ensure_healthy(cluster)
    leader = cluster.member_named(leader_name)
    replica = cluster.member_named(cluster.streaming_replicas()[0])
    for member, path in ((leader, "/primary"), (replica, "/replica")):
        for count in connections:
            cpu_before = proc_cpu_seconds(member.daemon_pid)
            result, command = run_wrk(member.api_port, path, count, seconds)
            result["daemon_cpu_percent"] = 100 * (proc_cpu_seconds(member.daemon_pid) - cpu_before) / seconds
            result["command"] = command
            context.progress(f"B4 {setup.key} {path} c{count}: {result['rps']:.0f} req/s, "
                             f"p99 {result.get('p99_ms')} ms, non-2xx {result['non_2xx']}")
            note = "" if result["non_2xx"] == 0 and result["socket_errors"] == 0 else (
                f"non-2xx {result['non_2xx']}, socket errors {result['socket_errors']}")
            context.record("B4", setup, f"GET {path} c{count} requests/s", "req/s",
                           [result["rps"]], [result], note=note)
            context.record("B4", setup, f"GET {path} c{count} p99 latency", "ms",
                           [result.get("p99_ms")], [result], note=note)


def fence_guard_of(pid):
    """The pid of the fencing guard child of daemon `pid` (`staz-fence-guard DIR`, or
    `staz --fence-guard DIR` without that executable next to staz), or None."""
    return child_process(pid, "fence-guard")


def record_resident_breakdown(context, setup, pids):
    """Where each member's resident memory is (bench/benchlib/residency.py), by what maps it;
    the note gives the first member's split, the details the whole breakdown of each."""
    reports = {name: breakdown(pid) for name, pid in pids.items()}
    groups = [{name: kib / 1024 for name, kib in report["by_group_kib"].items()} for report in reports.values()]
    context.record("B5", setup, "daemon resident memory by what maps it (first member)", "MB",
                   [sum(groups[0].values())], [{"member": n, **r} for n, r in reports.items()],
                   note=", ".join(f"{name} {mb:.1f}" for name, mb in groups[0].items()))


def wal_insert_position(port):
    """The primary's WAL insert position in bytes: members publish where their WAL is, so
    every move of it in an idle window costs each tool member-key and `status` writes."""
    return int(psql_value(port, "SELECT (pg_current_wal_insert_lsn() - '0/0')::bigint"))


def run_idle(context, setup, window):
    """B5 + B6 over one idle window of a healthy 3-member cluster (nothing else runs)."""
    cluster = context.session.cluster_for(setup)
    leader = cluster.member_named(ensure_healthy(cluster))
    settled = settle_until_etcd_quiet(cluster.etcd_port, setup.loop_wait)
    members = list(cluster.members.values())
    wal_before = wal_insert_position(leader.pg_port)
    pids = {m.name: m.daemon_pid for m in members}
    cpu_before = {name: proc_cpu_seconds(pid) for name, pid in pids.items()}
    grpc_before, revision_before = etcd_grpc_counts(cluster.etcd_port), etcd_revision(cluster.etcd_port)
    started = time.monotonic()
    time.sleep(window)
    elapsed = time.monotonic() - started
    grpc_after, revision_after = etcd_grpc_counts(cluster.etcd_port), etcd_revision(cluster.etcd_port)
    cpu_after = {name: proc_cpu_seconds(pid) for name, pid in pids.items()}
    memory = {name: proc_rss_kb(pid) for name, pid in pids.items()}
    wal_bytes = wal_insert_position(leader.pg_port) - wal_before
    minutes = elapsed / 60

    rss_mb = [memory[n]["VmRSS"] / 1024 for n in pids]
    cpu_per_min = [(cpu_after[n] - cpu_before[n]) / minutes for n in pids]
    details = [{"member": n, **memory[n], "cpu_s_per_min": (cpu_after[n] - cpu_before[n]) / minutes}
               for n in pids]
    context.record("B5", setup, "daemon RSS per member (VmRSS)", "MB", rss_mb, details,
                   note=f"n = members; idle window {elapsed:.0f}s")
    guards = [guard for guard in (fence_guard_of(pid) for pid in pids.values()) if guard]
    if guards:
        guard_memory = [proc_rss_kb(guard) for guard in guards]
        context.record("B5", setup, "fence guard process RSS (leader only)", "MB",
                       [m["VmRSS"] / 1024 for m in guard_memory], guard_memory,
                       note="staz's second process while it leads; Private: " +
                            ", ".join(f"{m.get('Private', 0) / 1024:.1f} MB" for m in guard_memory))
    if all("Private" in memory[n] for n in pids):
        context.record("B5", setup, "daemon private memory per member (smaps_rollup Private)", "MB",
                       [memory[n]["Private"] / 1024 for n in pids], details,
                       note="pages no other process maps (VmRSS counts shared library and binary pages too)")
    record_resident_breakdown(context, setup, pids)
    context.record("B5", setup, "daemon CPU per member per idle minute", "CPU-s/min",
                   cpu_per_min, details, note=f"n = members; idle window {elapsed:.0f}s")

    # Our own Status calls (revision reads) are not the daemons' traffic.
    methods = {k: grpc_after.get(k, 0) - grpc_before.get(k, 0)
               for k in set(grpc_after) | set(grpc_before) if k != "Status"}
    methods = {k: v for k, v in methods.items() if v}
    per_member_min = sum(methods.values()) / len(members) / minutes
    writes = (revision_after - revision_before) / len(members) / minutes
    breakdown = ", ".join(f"{k} {v / len(members) / minutes:.1f}" for k, v in sorted(methods.items()))
    context.record("B6", setup, "etcd requests per member per minute", "req/min", [per_member_min],
                   [{"by_method_total": methods, "window_s": elapsed, "settled_s": settled,
                     "leader_wal_bytes": wal_bytes}],
                   note=f"{breakdown}; window after {settled:.0f} s without an etcd write; "
                        f"the primary wrote {wal_bytes / 1024:.0f} kB of WAL in it")
    context.record("B6", setup, "etcd writes (revision delta) per member per minute", "writes/min",
                   [writes], [{"revision_delta": revision_after - revision_before}])
    context.floor("etcd v3 txn round trip (HTTP gateway, keep-alive)",
                  etcd_txn_round_trip(cluster.etcd_port), "s")
