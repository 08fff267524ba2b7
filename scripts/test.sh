#!/usr/bin/env bash
# The whole test suite, as CI runs it (root, fresh Debian 12):
#   1. system packages (scripts/install-deps.sh) and the Patroni venv (patronictl is the
#      reference in the compatibility test)
#   2. swift build (debug, with tests)   3. swift test (unit tests)
#   4. integration tests (pytest, real etcd / PostgreSQL 15 / HAProxy) against .build/debug/staz
#   5. fault-injection suite (pytest tests/faults: members in network namespaces, 20 faults
#      each in synchronous_mode on and quorum, an async loss report; about 10 minutes)
#   6. benchmark smoke run (bench/smoke.sh: release build, one short repetition of a few
#      scenarios) so the benchmark suite cannot rot; missed targets do not fail it
# Prints a summary and exits non-zero when any step failed.
# Extra arguments go to pytest, e.g. scripts/test.sh -k failover
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export PATH="$PATH:/opt/swift/usr/bin"

declare -a SUMMARY=()
FAILED=0

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

integration_tests() {
    STAZ_DAEMON="$REPO/.build/debug/staz" STAZ_CTL="$REPO/.build/debug/stazctl" \
        python3 -m pytest -p no:cacheprovider -x -v -rA tests/integration "$@"
}

# Not given the extra arguments: those select integration tests.
fault_tests() {
    STAZ_DAEMON="$REPO/.build/debug/staz" STAZ_CTL="$REPO/.build/debug/stazctl" \
        python3 -m pytest -p no:cacheprovider -v -rA -s tests/faults
}

step "install dependencies" bash scripts/install-deps.sh
step "Patroni venv (reference patronictl)" bash scripts/patroni-venv.sh
if step "swift build (debug, with tests)" swift build --build-tests; then
    step "swift test (unit tests)" swift test --skip-build
    step "integration tests (pytest)" integration_tests "$@"
    step "fault-injection suite (pytest tests/faults)" fault_tests
    step "benchmark smoke (bench/smoke.sh)" sh bench/smoke.sh
else
    skip "swift test (unit tests)" "build failed"
    skip "integration tests (pytest)" "build failed"
    skip "fault-injection suite (pytest tests/faults)" "build failed"
fi

echo
echo "==================== summary ===================="
printf '%s\n' "${SUMMARY[@]}"
if ((FAILED)); then
    echo "RESULT: FAILED"
    exit 1
fi
echo "RESULT: all steps passed"
