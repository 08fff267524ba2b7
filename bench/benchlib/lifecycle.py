"""B7 (bootstrap of 3 members from empty data directories) and B8 (rebuild of a replica
whose data directory was deleted, against the raw pg_basebackup floor)."""

import os
import shutil
import subprocess
import time

from .env import SCRATCH_PORTS
from .floors import as_postgres
from .session import bootstrap, ensure_healthy
from testkit.support import PG_BIN, SUPERUSER_PASSWORD, WaitTimeout, psql, psql_value, wait_until


def run_b7(context, setup, reps):
    """Each repetition is a fresh cluster; the last one stays as the session's cluster."""
    values = []
    for rep in range(reps):
        cluster, leader, elapsed = bootstrap(setup)
        values.append(elapsed)
        context.progress(f"B7 {setup.key} rep {rep + 1}/{reps}: {elapsed:.2f}s")
        if rep == reps - 1:
            context.session.adopt(setup, cluster)
        else:
            cluster.cleanup()
    context.record("B7", setup, "bootstrap to 1 leader + 2 streaming replicas", "s", values,
                   [{"loop_wait": setup.loop_wait}])


# How often B8 asks the primary whether the rebuilt replica streams: the same for the tools and
# for the floor that starts a standby, so both carry the same sampling delay.
STREAMING_POLL_SECONDS = 0.05


def replica_caught_up(primary_port, name):
    """True once `name` streams from the primary with replay lag under 1 MB."""
    code, out, _ = psql(primary_port,
                        "SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 1e12) "
                        f"FROM pg_stat_replication WHERE application_name = '{name}' "
                        "AND state = 'streaming'", timeout=3)
    return code == 0 and out != "" and float(out) < 1024 * 1024


def raw_basebackup_seconds(cluster, primary):
    target = cluster.path("floor-basebackup")
    try:
        start = time.monotonic()
        as_postgres([f"{PG_BIN}/pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.pg_port),
                     "-U", "replicator", "-D", target, "-X", "stream", "-c", "fast"],
                    env={"PGPASSWORD": "rep-pass"}, timeout=600)
        return time.monotonic() - start
    finally:
        shutil.rmtree(target, ignore_errors=True)


def raw_rebuild_seconds(cluster, primary):
    """The floor with PostgreSQL's start in it: raw `pg_basebackup -R`, then `pg_ctl start` of
    the copy on a spare port, until the primary sees it stream as B8 sees a rebuilt member (its
    `cluster_name` names its walreceiver). No HA manager is involved."""
    target, port, name = cluster.path("floor-rebuild"), SCRATCH_PORTS.allocate(), "floor_rebuild"
    options = (f"-p {port} -k {cluster.path()} -c listen_addresses=127.0.0.1 -c cluster_name={name} "
               f"-c hba_file={target}/pg_hba.conf -c ident_file={target}/pg_ident.conf")
    try:
        start = time.monotonic()
        as_postgres([f"{PG_BIN}/pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.pg_port),
                     "-U", "replicator", "-D", target, "-X", "stream", "-c", "fast", "-R"],
                    env={"PGPASSWORD": "rep-pass"}, timeout=600)
        as_postgres([f"{PG_BIN}/pg_ctl", "-D", target, "-o", options, "-l", f"{target}.log", "-W", "start"])
        try:
            wait_until(lambda: replica_caught_up(primary.pg_port, name), 60, "floor standby streaming",
                       interval=STREAMING_POLL_SECONDS)
        except WaitTimeout as timeout:
            with open(f"{target}.log", errors="replace") as log:
                raise RuntimeError(f"{timeout}\nthe floor standby's log ends:\n{log.read()[-2000:]}") from None
        return time.monotonic() - start
    finally:
        if os.path.exists(os.path.join(target, "postmaster.pid")):
            subprocess.run(["runuser", "-u", "postgres", "--", f"{PG_BIN}/pg_ctl", "-D", target,
                            "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(target, ignore_errors=True)


def run_b8(context, setup, reps, scale):
    cluster = context.session.cluster_for(setup)
    leader_name = ensure_healthy(cluster)
    primary = cluster.member_named(leader_name)
    env = dict(os.environ, PGPASSWORD=SUPERUSER_PASSWORD)
    started = time.monotonic()
    subprocess.run([f"{PG_BIN}/pgbench", "-i", "-q", "-s", str(scale), "-h", "127.0.0.1",
                    "-p", str(primary.pg_port), "-U", "postgres", "postgres"],
                   env=env, check=True, capture_output=True, timeout=900)
    psql_value(primary.pg_port, "CHECKPOINT")
    size = psql_value(primary.pg_port, "SELECT pg_size_pretty(pg_database_size('postgres'))")
    context.progress(f"B8 {setup.key}: pgbench -i -s {scale} took {time.monotonic() - started:.1f}s ({size})")
    values, floors, started_floors, runs = [], [], [], []
    for rep in range(reps):
        for name in cluster.streaming_replicas():
            wait_until(lambda: replica_caught_up(primary.pg_port, name), 300, f"{name} caught up",
                       interval=0.5)
        floors.append(raw_basebackup_seconds(cluster, primary))
        started_floors.append(raw_rebuild_seconds(cluster, primary))
        victim = cluster.member_named(cluster.streaming_replicas()[0])
        victim.crash()
        shutil.rmtree(victim.data_dir)
        deleted = time.monotonic()
        victim.start()
        wait_until(lambda: replica_caught_up(primary.pg_port, victim.name), 900,
                   f"{victim.name} rebuilt and streaming", interval=STREAMING_POLL_SECONDS)
        elapsed = time.monotonic() - deleted
        values.append(elapsed)
        runs.append({"replica": victim.name, "raw_basebackup_s": floors[-1],
                     "raw_basebackup_and_start_s": started_floors[-1], "database_size": size})
        context.progress(f"B8 {setup.key} rep {rep + 1}/{reps}: {elapsed:.2f}s "
                         f"(raw pg_basebackup {floors[-1]:.2f}s, with the start {started_floors[-1]:.2f}s)")
        ensure_healthy(cluster)
    context.record("B8", setup, f"replica rebuild after data dir deleted (pgbench -s {scale}, {size})",
                   "s", values, runs, note="member restarted with an empty data dir; it re-clones")
    context.record("B8", setup, "raw pg_basebackup -X stream -c fast (floor, same data)", "s", floors,
                   runs)
    context.record("B8", setup, "raw pg_basebackup -R, then pg_ctl start until streaming (floor)", "s",
                   started_floors, runs)
