"""Statistics, /proc sampling, etcd counters and small timing helpers."""

import base64
import json
import math
import os
import re
import statistics
import time
import urllib.request

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def summarize(values):
    """median, p95 (nearest rank: with n < 20 it is the max) and max of the numeric values."""
    numbers = sorted(v for v in values if v is not None)
    if not numbers:
        return {"n": 0, "median": None, "p95": None, "max": None}
    rank = max(1, math.ceil(0.95 * len(numbers)))
    return {"n": len(numbers), "median": statistics.median(numbers),
            "p95": numbers[rank - 1], "max": numbers[-1]}


def proc_rss_kb(pid):
    """VmRSS and friends from /proc/PID/status, plus from smaps_rollup `Pss` (shared pages
    divided among the processes mapping them) and `Private` (pages no other process maps:
    what the process alone costs)."""
    with open(f"/proc/{pid}/status") as handle:
        fields = dict(line.split(":", 1) for line in handle if ":" in line)
    memory = {key: int(fields[key].split()[0]) for key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads")
              if key in fields}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            rollup = dict(line.split(":", 1) for line in handle if ":" in line and not line[0].isdigit())
        memory["Pss"] = int(rollup["Pss"].split()[0])
        memory["Private"] = int(rollup["Private_Clean"].split()[0]) + int(rollup["Private_Dirty"].split()[0])
    except (OSError, KeyError, ValueError):
        pass
    return memory


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as handle:
        after_name = handle.read().rsplit(")", 1)[1].split()
    # Fields 14 and 15 (utime, stime) are at index 11 and 12 after the command name.
    return (int(after_name[11]) + int(after_name[12])) / CLOCK_TICKS


def etcd_grpc_counts(port):
    """grpc_server_handled_total summed by grpc_method (the HTTP gateway shows up as gRPC)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    counts = {}
    for match in re.finditer(r'^grpc_server_handled_total\{([^}]*)\} (\S+)$', text, re.M):
        method = re.search(r'grpc_method="([^"]+)"', match.group(1)).group(1)
        counts[method] = counts.get(method, 0) + float(match.group(2))
    return counts


def etcd_grpc_bytes(port):
    """Bytes etcd received from and sent to its clients (the HTTP gateway's too)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    found = dict(re.findall(r'^etcd_network_client_grpc_(received|sent)_bytes_total (\S+)$', text, re.M))
    return {direction: float(found.get(direction, 0)) for direction in ("received", "sent")}


def etcd_post(port, path, body, timeout=5):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                     data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def etcd_revision(port):
    return int(etcd_post(port, "/v3/maintenance/status", {})["header"]["revision"])


def settle_until_etcd_quiet(port, loop_wait, bound=120.0):
    """Waits until etcd's revision has not moved for 5 s more than the longer of two HA cycles
    and PostgreSQL's 15 s standby-snapshot interval, at most `bound` seconds, so an idle window
    measures the idle cluster and not the tail of its bootstrap: for a while after it, the WAL
    of base backups and the bgwriter's standby snapshots move positions, and every member
    publishes them. A daemon that writes on every cycle never lets etcd go quiet: the wait
    then ends at `bound` and the window counts those writes. Returns the seconds waited."""
    quiet_needed = max(2 * loop_wait, 15) + 5
    started = time.monotonic()
    last, last_change = etcd_revision(port), started
    while True:
        now = time.monotonic()
        if now - last_change >= quiet_needed or now - started >= bound:
            return now - started
        time.sleep(0.5)
        revision = etcd_revision(port)
        if revision != last:
            last, last_change = revision, time.monotonic()


def b64(text):
    return base64.b64encode(text.encode()).decode()


def etcd_put(port, key, value):
    return etcd_post(port, "/v3/kv/put", {"key": b64(key), "value": b64(value)})


def timed(function):
    start = time.monotonic()
    result = function()
    return time.monotonic() - start, result
