#!/bin/sh
# CI smoke run of the benchmark suite: staz only, one repetition of B7, B5/B6, B4 (1 conn,
# 2 s) and B1b, so the suite cannot rot. Fails (non-zero) only when the suite breaks - a
# scenario crashes or a binary is missing - never on a missed performance target.
# It runs the debug binaries CI has already built (STAZ_BENCH_BIN overrides): a smoke run
# judges no figure, and a release build of its own would take CI about ten minutes.
# Needs root (the harness runs PostgreSQL and staz as the postgres user), etcd, haproxy, wrk.
set -eu
cd "$(dirname "$0")/.."
if [ -z "${STAZ_BENCH_BIN:-}" ]; then
    for product in staz staz-fence-guard staz-probe; do swift build --product "$product"; done
    STAZ_BENCH_BIN="$(swift build --show-bin-path)"
    export STAZ_BENCH_BIN
fi
exec timeout 300 python3 -m bench.run --smoke --results-dir "${BENCH_RESULTS_DIR:-bench/results/smoke}"
