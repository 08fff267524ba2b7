"""Floors measured on this machine in the same run: initdb, postmaster start, an empty
pg_basebackup, pg_promote of a streaming standby, and an etcd v3 txn round trip. They are
what any HA manager has to pay at least."""

import http.client
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time

from .env import SCRATCH_PORTS
from .measure import b64, summarize
from testkit.support import PG_BIN, psql_value, wait_until


def as_postgres(command, timeout=120, env=None):
    full = ["runuser", "-u", "postgres", "--", "env", *[f"{k}={v}" for k, v in (env or {}).items()],
            *command]
    done = subprocess.run(full, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:2])} failed: {done.stderr.strip()[-400:]}")
    return done


def timed_postgres(command, **kwargs):
    start = time.monotonic()
    as_postgres(command, **kwargs)
    return time.monotonic() - start


def postgres_floors():
    """initdb, start, pg_basebackup (empty cluster) and pg_promote timings, in seconds."""
    root = tempfile.mkdtemp(prefix="staz-bench-floor-", dir="/tmp")
    postgres = pwd.getpwnam("postgres")
    os.chown(root, postgres.pw_uid, postgres.pw_gid)
    primary, standby = os.path.join(root, "primary"), os.path.join(root, "standby")
    primary_port, standby_port = SCRATCH_PORTS.allocate(), SCRATCH_PORTS.allocate()
    options = lambda port: f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c wal_log_hints=on"
    results = {}
    try:
        results["initdb_s"] = timed_postgres([f"{PG_BIN}/initdb", "-D", primary, "-A", "trust",
                                              "-U", "postgres", "-E", "UTF8", "--data-checksums"])
        results["start_s"] = timed_postgres([f"{PG_BIN}/pg_ctl", "-D", primary, "-o",
                                             options(primary_port), "-l", f"{root}/p.log", "-w", "start"])
        results["basebackup_empty_s"] = timed_postgres(
            [f"{PG_BIN}/pg_basebackup", "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres",
             "-D", standby, "-X", "stream", "-c", "fast", "-R"])
        as_postgres([f"{PG_BIN}/pg_ctl", "-D", standby, "-o", options(standby_port), "-l",
                     f"{root}/s.log", "-w", "start"])
        wait_until(lambda: psql_value(primary_port, "SELECT count(*) FROM pg_stat_replication "
                                                    "WHERE state='streaming'") == "1",
                   30, "floor standby streaming", interval=0.1)
        start = time.monotonic()
        psql_value(standby_port, "SELECT pg_promote(true, 60)")
        results["pg_promote_s"] = time.monotonic() - start
    finally:
        for data in (standby, primary):
            if os.path.exists(os.path.join(data, "postmaster.pid")):
                subprocess.run(["runuser", "-u", "postgres", "--", f"{PG_BIN}/pg_ctl", "-D", data,
                                "-m", "immediate", "stop"], capture_output=True, timeout=30)
        shutil.rmtree(root, ignore_errors=True)
    return results


def etcd_txn_round_trip(port, count=200):
    """Median/p95/max seconds of a compare-and-put txn through the v3 HTTP gateway on one
    keep-alive connection (the shape of a leader-key update)."""
    key = b64("/bench/floor")
    body = json.dumps({"compare": [{"key": key, "target": "VERSION", "result": "GREATER",
                                    "version": "-1"}],
                       "success": [{"request_put": {"key": key, "value": b64("x")}}]})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    samples = []
    try:
        for _ in range(count):
            start = time.monotonic()
            connection.request("POST", "/v3/kv/txn", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            samples.append(time.monotonic() - start)
            if response.status != 200:
                raise RuntimeError(f"etcd txn answered {response.status}")
    finally:
        connection.close()
    return summarize(samples)
