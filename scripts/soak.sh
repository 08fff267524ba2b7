#!/usr/bin/env bash
# Fault-injection soak run, by hand (root, after scripts/install-deps.sh and a debug build):
#   scripts/soak.sh N [--mode async|on|quorum] [--kinds kill-postgres,switchover,...]
# Injects N faults (cycling through every kind) into one 3-member staz cluster under an
# acknowledged-writes workload and prints the numbers: faults, acked writes, lost, unexpected,
# dual-primary samples, convergence times. Exit status 0 when the guarantees held.
# Refuses to start while another pytest/soak session runs (they share the 10.200.0.0/24 test
# network and the machine's 2 cores).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if (($# < 1)) || ! [[ $1 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 N [--mode async|on|quorum] [--kinds k1,k2] [--clients 4] [--pause 0]" >&2
    exit 2
fi
# Only Python processes count: a `flock /tmp/staz-heavy.lock ... pytest` still waiting for the
# shared lock (or the `timeout` wrapping it) runs nothing yet.
running=()
for pid in $(pgrep -f "pytest|testkit.faults.soak"); do
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
    [[ $comm == python* || $comm == pytest* ]] && running+=("$pid")
done
if ((${#running[@]})); then
    echo "another pytest or soak session is running; wait for it to finish" >&2
    ps -o pid,args -p "$(IFS=,; echo "${running[*]}")" >&2
    exit 3
fi
export STAZ_DAEMON="${STAZ_DAEMON:-$REPO/.build/debug/staz}"
export STAZ_CTL="${STAZ_CTL:-$REPO/.build/debug/stazctl}"
cd "$REPO"
exec python3 -m testkit.faults.soak "$@"
