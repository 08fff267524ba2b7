#!/usr/bin/env bash
# The whole test suite, as CI runs it (root, fresh Debian 12):
#   1. system packages (scripts/install-deps.sh) and the Patroni venv (patronictl is the
#      reference in the compatibility test)
#   2. swift build (debug, with tests)   3. swift test (unit tests), then the simulation
#      (Tests/StazSimulationTests, 10,000 seeds) on its own: it keeps both cores busy for minutes
#      and the unit tests that talk to a real etcd or server must not share them
#   4. integration tests (pytest, real etcd / PostgreSQL 15 / HAProxy) against .build/debug/staz;
#      no -x: every test runs, and the summary lists each failed test by name
#   5. the mesh tests again on pgEdge Spock 5 (scripts/spock-build.sh 15: PostgreSQL 15 with
#      Spock's patches and Spock, built into /var/cache/staz-spock when not there yet, about
#      5 minutes cold; then test_mesh.py, test_mesh_failover.py, test_mesh_zone_etcd.py,
#      test_mesh_schema.py and test_mesh_seeded_zone.py, about 7 minutes). It needs
#      Spock's source: SPOCK_SRC, or ../shared/spock/spock-5.0.9.tar.gz next to the repository;
#      without it the step is reported NOT RUN in the summary, never as passed
#   6. package test (tests/package/test_package.sh: the .deb of the debug binaries built in 2,
#      installed into an empty root, its unit verified and its ExecStart bootstrapping a
#      primary, the alert rules through promtool; about 30 s)
#   7. fault-injection suite (pytest tests/faults: members in network namespaces, 20 faults
#      each in synchronous_mode on and quorum, an async loss report; about 10 minutes)
#   8. benchmark smoke run (bench/smoke.sh: the debug build, one short repetition of a few
#      scenarios) so the benchmark suite cannot rot; missed targets do not fail it
#   9. seven of Patroni's own acceptance features against staz (scripts/conformance.sh, DCS etcd3:
#      basic_replication, patroni_api, recovery, priority_failover, cascading_replication,
#      permanent_slots, watchdog; about 9 minutes). It needs Patroni's source: PATRONI_SRC, or
#      ../shared/conformance/patroni-4.1.4.tar.gz next to the repository; without it the step
#      is reported NOT RUN in the summary, never as passed
# Prints a summary and exits non-zero when any step failed.
# Extra arguments go to pytest, e.g. scripts/test.sh -k failover
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export PATH="$PATH:/opt/swift/usr/bin"

declare -a SUMMARY=()
declare -a FAILURES=()
FAILED=0
# Each step's output is also kept here, so the summary can list every failed test by name.
LOGS="$(mktemp -d /tmp/staz-test-logs.XXXXXX)"

step() { # name command...
    local name=$1 started rc
    shift
    echo
    echo "==================== $name ===================="
    started=$(date +%s)
    "$@"
    rc=$?
    local took=$(($(date +%s) - started))
    if ((rc == 0)); then
        SUMMARY+=("ok      $name (${took}s)")
    else
        SUMMARY+=("FAILED  $name (exit $rc, ${took}s)")
        FAILED=1
    fi
    return $rc
}

skip() { SUMMARY+=("skipped $1 ($2)"); FAILED=1; }

# Runs "$@" with its output both shown and kept in $LOGS/$1.log; exit code of "$@".
logged() { # name command...
    local name=$1
    shift
    "$@" 2>&1 | tee "$LOGS/$name.log"
    return "${PIPESTATUS[0]}"
}

# Adds the failed tests named in a step's log to the summary.
collect_failures() { # name
    local log="$LOGS/$1.log"
    [[ -f "$log" ]] || return 0
    local line
    while IFS= read -r line; do
        FAILURES+=("$1: $line")
    done < <(grep -E '^(FAILED|ERROR) |^✘ Test .* failed' "$log" | sed -E 's/ - .{200}.*//' | sort -u)
}

unit_tests() { logged unit swift test --skip-build --skip Simulation; }
simulation() { logged simulation swift test --skip-build --filter Simulation; }

# No -x: a failing test never hides the ones after it.
integration_tests() {
    STAZ_DAEMON="$REPO/.build/debug/staz" STAZ_CTL="$REPO/.build/debug/stazctl" \
        logged integration python3 -m pytest -p no:cacheprovider -v -rfE tests/integration "$@"
}

# The mesh tests on Spock (pglogical ran them in the integration step).
spock_source() { [[ -n "${SPOCK_SRC:-}" ]] && echo "$SPOCK_SRC" || echo "$REPO/../shared/spock/spock-5.0.9.tar.gz"; }
spock_mesh_tests() {
    local prefix
    prefix=$(bash scripts/spock-build.sh 15 | tail -n1) || return 1
    STAZ_PG_BIN="$prefix/bin" STAZ_MESH_PROVIDER=spock \
        STAZ_DAEMON="$REPO/.build/debug/staz" STAZ_CTL="$REPO/.build/debug/stazctl" \
        logged spock python3 -m pytest -p no:cacheprovider -v -rfE \
        tests/integration/test_mesh.py tests/integration/test_mesh_failover.py tests/integration/test_mesh_zone_etcd.py \
        tests/integration/test_mesh_schema.py tests/integration/test_mesh_seeded_zone.py
}

# Packages the debug binaries step 2 built, so CI needs no release build for it.
package_test() { STAZ_BIN_DIR="$REPO/.build/debug" logged package bash tests/package/test_package.sh; }

# Patroni's acceptance features; each failed feature is named in the summary.
CONFORMANCE_FEATURES=(basic_replication patroni_api recovery priority_failover cascading_replication permanent_slots watchdog)
patroni_source() { [[ -n "${PATRONI_SRC:-}" ]] && echo "$PATRONI_SRC" || echo "$REPO/../shared/conformance/patroni-4.1.4.tar.gz"; }
conformance_tests() {
    PATRONI_SRC="$(patroni_source)" DCS=etcd3 STAZ_BIN="$REPO/.build/debug/staz"         logged conformance bash scripts/conformance.sh "${CONFORMANCE_FEATURES[@]}"
    local rc=$?
    local line
    # A failed feature and the failing steps printed under it: a CI log's tail then says what broke.
    while IFS= read -r line; do FAILURES+=("conformance: $line"); done < <(
        awk '/^[a-z_]+: failed/ { infeature = 1; print; next }
             infeature && /^    / { print; next }
             { infeature = 0 }' "$LOGS/conformance.log")
    return $rc
}

# Not given the extra arguments: those select integration tests.
fault_tests() {
    STAZ_DAEMON="$REPO/.build/debug/staz" STAZ_CTL="$REPO/.build/debug/stazctl" \
        logged faults python3 -m pytest -p no:cacheprovider -v -rfE -s tests/faults
}

step "install dependencies" bash scripts/install-deps.sh
step "Patroni venv (reference patronictl)" bash scripts/patroni-venv.sh
if step "swift build (debug, with tests)" swift build --build-tests; then
    step "swift test (unit tests)" unit_tests
    collect_failures unit
    step "simulation (swift test --filter Simulation)" simulation
    collect_failures simulation
    step "integration tests (pytest)" integration_tests "$@"
    collect_failures integration
    if [[ -e "$(spock_source)" ]]; then
        step "mesh tests on Spock (scripts/spock-build.sh 15)" spock_mesh_tests
        collect_failures spock
    else
        SUMMARY+=("NOT RUN mesh tests on Spock (no Spock source at $(spock_source): set SPOCK_SRC)")
    fi
    step "package test (tests/package/test_package.sh)" package_test
    collect_failures package
    step "fault-injection suite (pytest tests/faults)" fault_tests
    collect_failures faults
    step "benchmark smoke (bench/smoke.sh)" sh bench/smoke.sh
    if [[ -e "$(patroni_source)" ]]; then
        step "Patroni acceptance features (scripts/conformance.sh)" conformance_tests
    else
        SUMMARY+=("NOT RUN Patroni acceptance features (no Patroni source at $(patroni_source): set PATRONI_SRC)")
    fi
else
    skip "swift test (unit tests)" "build failed"
    skip "simulation (swift test --filter Simulation)" "build failed"
    skip "integration tests (pytest)" "build failed"
    skip "mesh tests on Spock (scripts/spock-build.sh 15)" "build failed"
    skip "package test (tests/package/test_package.sh)" "build failed"
    skip "fault-injection suite (pytest tests/faults)" "build failed"
    skip "Patroni acceptance features (scripts/conformance.sh)" "build failed"
fi

echo
echo "==================== summary ===================="
printf '%s\n' "${SUMMARY[@]}"
if ((${#FAILURES[@]} > 0)); then
    echo
    echo "failed tests:"
    printf '  %s\n' "${FAILURES[@]}"
fi
echo "step logs: $LOGS"
if ((FAILED)); then
    echo "RESULT: FAILED"
    exit 1
fi
echo "RESULT: all steps passed"
