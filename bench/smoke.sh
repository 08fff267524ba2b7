#!/bin/sh
# CI smoke run of the benchmark suite: staz only, one repetition of B7, B5/B6, B4 (1 conn,
# 2 s) and B1b, so the suite cannot rot. Fails (non-zero) only when the suite breaks - a
# scenario crashes or a binary is missing - never on a missed performance target.
# Needs root (the harness runs PostgreSQL and staz as the postgres user), etcd, haproxy, wrk.
set -eu
cd "$(dirname "$0")/.."
swift build -c release --product staz
swift build -c release --product staz-fence-guard
swift build -c release --product staz-probe
exec timeout 300 python3 -m bench.run --smoke --results-dir "${BENCH_RESULTS_DIR:-bench/results/smoke}"
