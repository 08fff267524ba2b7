#!/usr/bin/env bash
# Fresh-start stress of the three-zone demo (run as root): N times in a row, start
# scripts/demo.sh from empty data, let it run SETTLE seconds after it is up, stop it, and check
# that every member's HA loop kept its cadence throughout: no gap between two consecutive lines
# of a member's log longer than 2 x loop_wait (the loop logs a heartbeat line every cycle), and
# no "HA loop stuck" line from the loop watchdog. A stalled loop (a lost wake-up) shows as a gap.
#
#   scripts/demo-soak.sh [N]      default 10; prints one line per run and a summary, exits 1
#                                 when any run failed to come up or any member stalled
#
# Knobs: DEMO_SOAK_PORT_BASE (default 34000), DEMO_SOAK_SETTLE (seconds, default 20),
# STAZ_BIN/STAZCTL_BIN (default: a release build made once).
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export PATH="$PATH:/opt/swift/usr/bin"
RUNS=${1:-10}
SETTLE=${DEMO_SOAK_SETTLE:-20}
LOOP_WAIT=2   # the demo's loop_wait (scripts/demo.sh, bootstrap.dcs)
export DEMO_PORT_BASE=${DEMO_SOAK_PORT_BASE:-34000}
export DEMO_SKIP_INSTALL=1

[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/demo-soak.sh [N]  (N a positive number)" >&2; exit 1; }
bash scripts/install-deps.sh >/dev/null
if [[ -z "${STAZ_BIN:-}" ]]; then
    swift build -c release --product staz >/dev/null && swift build -c release --product stazctl >/dev/null ||
        { echo "release build failed" >&2; exit 1; }
    export STAZ_BIN="$REPO/.build/release/staz" STAZCTL_BIN="$REPO/.build/release/stazctl"
fi

ROOT=$(mktemp -d /tmp/staz-demo-soak.XXXXXX)
chmod 755 "$ROOT"
failed_starts=0 stalled_runs=0 worst_gap=0
for ((run = 1; run <= RUNS; run++)); do
    export DEMO_DATA="$ROOT/run$run"
    started=$(date +%s)
    if bash scripts/demo.sh start >"$ROOT/run$run.out" 2>&1; then
        up=$(($(date +%s) - started))
        sleep "$SETTLE"
        outcome="up in ${up}s"
    else
        outcome="FAILED to come up (see $ROOT/run$run.out)"
        failed_starts=$((failed_starts + 1))
    fi
    stop_at=$(date '+%Y-%m-%d %H:%M:%S')
    bash scripts/demo.sh stop >>"$ROOT/run$run.out" 2>&1
    report=$(python3 - "$DEMO_DATA" "$((2 * LOOP_WAIT))" "$stop_at" <<'PY'
import datetime, glob, os, re, sys
data, limit = sys.argv[1], float(sys.argv[2])
stopped = datetime.datetime.strptime(sys.argv[3], "%Y-%m-%d %H:%M:%S")
stamp = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")
worst, stalls = 0.0, []
for log in sorted(glob.glob(os.path.join(data, "[abc][01].log"))):
    times, stuck = [], 0
    for line in open(log, errors="replace"):
        m = stamp.match(line)
        if m:
            times.append(datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f"))
        if "HA loop stuck" in line:
            stuck += 1
    # Until the demo was told to stop: the last heartbeat must be recent then, too.
    times = [t for t in times if t < stopped] + [stopped]
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    gap = max(gaps, default=0.0)
    worst = max(worst, gap)
    name = os.path.basename(log)[:-4]
    if gap > limit or stuck:
        stalls.append(f"{name}: gap {gap:.1f}s, {stuck} stuck cycle(s)")
print(f"{worst:.1f}|{'; '.join(stalls)}")
PY
)
    gap=${report%%|*} stalls=${report#*|}
    worst_gap=$(python3 -c "print(max($worst_gap, $gap))")
    if [[ -n "$stalls" ]]; then stalled_runs=$((stalled_runs + 1)); outcome+=", STALL: $stalls"; fi
    echo "run $run/$RUNS: $outcome, longest heartbeat gap ${gap}s"
    [[ -z "$stalls" && "$outcome" == up* ]] && rm -rf "$DEMO_DATA"
done
echo "demo soak: $RUNS runs, $failed_starts failed to come up, $stalled_runs with a stalled member," \
     "longest heartbeat gap ${worst_gap}s (limit $((2 * LOOP_WAIT))s); kept: $ROOT"
((failed_starts == 0 && stalled_runs == 0))
