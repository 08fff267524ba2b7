#!/usr/bin/env python3
"""Disaster-recovery figures with a real pgBackRest repository (run as root, like the tests):

    python3 -m bench.dr_figures [--scale 20]

On one staz cluster loaded with `pgbench -i -s SCALE` and backed up with pgBackRest, measures
(wall clock, from the daemon's start to the state named):
  - a replica created from the repository (create_replica_methods: pgbackrest) until it streams;
  - a replica created by pg_basebackup from the primary, the same data, until it streams;
  - a new cluster bootstrapped from the backup (bootstrap.method) until its leader runs as a primary;
  - a standby cluster (standby_cluster, through a slot on the source) until its standby leader
    streams, then its lag behind the source under a pgbench write load (`--load-seconds`),
    sampled every 0.5 s in bytes (source's WAL position just after reading the standby's replay
    position, so an upper bound)
    and in seconds (now minus the last replayed commit's timestamp).
Prints one line per figure. Uses the test kit (testkit/)."""

import argparse
import os
import statistics
import subprocess
import time

from testkit.harness import Cluster
from testkit.pgbackrest import STANZA, archived_primary, pgbackrest, pgbackrest_config, restore_method
from testkit.profiles import current_profile
from testkit.support import PG_BIN, SUPERUSER_PASSWORD, psql_value, wait_until


def streaming(primary, name):
    return psql_value(primary.pg_port, f"SELECT count(*) FROM pg_stat_replication WHERE application_name = '{name}' "
                                       "AND state = 'streaming'") == "1"


def timed_start(primary, member):
    started = time.monotonic()
    member.start()
    wait_until(lambda: streaming(primary, member.name), 1800, f"{member.name} streams", interval=0.2)
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=20)
    parser.add_argument("--load-seconds", type=int, default=30)
    args = parser.parse_args()
    profile = current_profile()
    clusters = []
    try:
        source = Cluster(profile)
        clusters.append(source)
        source.start_etcd()
        m0, config0 = archived_primary(source)
        env = dict(os.environ, PGPASSWORD=SUPERUSER_PASSWORD)
        subprocess.run([f"{PG_BIN}/pgbench", "-i", "-q", "-s", str(args.scale), "-h", "127.0.0.1", "-p", str(m0.pg_port),
                        "-U", "postgres", "postgres"], check=True, env=env, capture_output=True)
        size = psql_value(m0.pg_port, "SELECT pg_size_pretty(pg_database_size('postgres'))")
        pgbackrest(config0, "backup", "--type=full")
        print(f"pgbench scale {args.scale}: database {size}, backed up with pgBackRest")

        r1 = source.add_member("r1", start=False)
        r1.overrides = {"postgresql": {"create_replica_methods": ["pgbackrest"],
                                       "pgbackrest": restore_method(pgbackrest_config(source, r1))}}
        r1.write_config()
        from_repository = timed_start(m0, r1)
        print(f"replica from the pgBackRest repository until streaming: {from_repository:.1f} s")
        from_primary = timed_start(m0, source.add_member("r2", start=False))
        print(f"replica by pg_basebackup from the primary until streaming: {from_primary:.1f} s")

        restored = Cluster(profile, scope="restored")
        clusters.append(restored)
        restored.start_etcd()
        n0 = restored.add_member("n0", start=False)
        config_n0 = pgbackrest_config(restored, n0, repository=source)
        n0.overrides = {"bootstrap": {"method": "restore", "restore": {
            "command": f"pgbackrest --config={config_n0} --stanza={STANZA} --delta restore --type=immediate "
                       "--target-action=promote",
            "keep_existing_recovery_conf": True, "no_params": True}}}
        n0.write_config()
        started = time.monotonic()
        n0.start()
        wait_until(lambda: n0.status().get("role") == "primary" and restored.dcs_get("leader").strip() == "n0", 1800,
                   "n0 leads the restored cluster", interval=0.2)
        print(f"new cluster bootstrapped from the backup until its leader runs as a primary: {time.monotonic() - started:.1f} s")

        standby_cluster_figures(profile, clusters, m0, args.load_seconds, env)
    finally:
        for cluster in clusters:
            cluster.cleanup()


def standby_cluster_figures(profile, clusters, source_primary, load_seconds, env):
    """A standby cluster of the loaded source: time until its standby leader streams, then its
    lag while pgbench writes to the source."""
    psql_value(source_primary.pg_port, "SELECT pg_create_physical_replication_slot('zoneb')")
    standby = Cluster(profile, scope="zoneb")
    clusters.append(standby)
    standby.start_etcd()
    b0 = standby.add_member("b0", start=False, overrides={"bootstrap": {"dcs": {"standby_cluster": {
        "host": "127.0.0.1", "port": source_primary.pg_port, "primary_slot_name": "zoneb"}}}})
    print(f"standby cluster bootstrapped by pg_basebackup until its standby leader streams: "
          f"{timed_start(source_primary, b0):.1f} s")
    load = subprocess.Popen([f"{PG_BIN}/pgbench", "-n", "-c", "4", "-j", "2", "-T", str(load_seconds), "-h", "127.0.0.1",
                             "-p", str(source_primary.pg_port), "-U", "postgres", "postgres"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    byte_lags, second_lags = [], []
    time.sleep(2)  # past pgbench's start
    while load.poll() is None:
        # The standby's position first, then the source's: the difference can only overstate the lag.
        replayed = psql_value(b0.pg_port, "SELECT pg_last_wal_replay_lsn()")
        byte_lags.append(int(float(psql_value(source_primary.pg_port, f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{replayed}')"))))
        second_lags.append(float(psql_value(
            b0.pg_port, "SELECT coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)")))
        time.sleep(0.5)
    output = load.communicate()[0]
    tps = next((line for line in output.splitlines() if line.startswith("tps")), "tps: ?")
    print(f"standby cluster lag under pgbench ({load_seconds} s, 4 clients, {tps.split('(')[0].strip()}), "
          f"{len(byte_lags)} samples: bytes p50 {statistics.median(byte_lags):.0f}, max {max(byte_lags)}; "
          f"seconds p50 {statistics.median(second_lags):.3f}, p95 {sorted(second_lags)[int(len(second_lags) * 0.95) - 1]:.3f}, "
          f"max {max(second_lags):.3f}")


if __name__ == "__main__":
    main()
