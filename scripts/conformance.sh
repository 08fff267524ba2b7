#!/usr/bin/env bash
# Runs Patroni's own behave acceptance features against staz.
#
#   scripts/conformance.sh [FEATURE ...]
#
# FEATURE: a feature's name without ".feature" (basic_replication, patroni_api, ...). Without
# any, every feature runs except citus (needs the Citus extension) and bootstrap_labels
# (Kubernetes only).
#
# Environment:
#   PATRONI_SRC      Patroni's source: a tree or a .tar.gz of one (default: the v4.1.4 tarball
#                    in ../shared/conformance next to this repository)
#   DCS              etcd3 (default) or etcd
#   STAZ_BIN         the staz binary (default: .build/debug/staz, built when missing)
#   CONFORMANCE_DIR  scratch directory (default: /tmp/staz-conformance), wiped first
#   CONFORMANCE_VENV the Python environment for behave (default: /var/cache/staz-conformance/venv)
#   PG_BIN           PostgreSQL's binaries (default: /usr/lib/postgresql/15/bin)
#
# Patroni's harness starts `python -m coverage run ... patroni.py CONFIG` in the tree; here
# patroni.py is replaced by a shim that execs staz with the same arguments. patronictl.py stays
# Patroni's own. Features and steps are not touched. Prints each feature's scenario counts and
# a last line "N passed, N failed" (scenarios); exits non-zero when one failed.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
DCS="${DCS:-etcd3}"
WORK="${CONFORMANCE_DIR:-/tmp/staz-conformance}"
VENV="${CONFORMANCE_VENV:-/var/cache/staz-conformance/venv}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
STAZ_BIN="${STAZ_BIN:-$REPO/.build/debug/staz}"
SOURCE="${PATRONI_SRC:-$REPO/../shared/conformance/patroni-4.1.4.tar.gz}"
EXCLUDED=(citus bootstrap_labels)

log() { echo "[conformance] $*"; }
die() { echo "[conformance] error: $*" >&2; exit 2; }

case "$DCS" in etcd3|etcd) ;; *) die "DCS must be etcd3 or etcd, not '$DCS'" ;; esac
[[ -e "$SOURCE" ]] || die "Patroni's source not found at '$SOURCE': set PATRONI_SRC to a tree or a .tar.gz"
[[ -x "$PG_BIN/postgres" ]] || die "no PostgreSQL binaries in '$PG_BIN' (set PG_BIN, or run scripts/install-deps.sh)"
command -v etcd >/dev/null || die "etcd is not installed (run scripts/install-deps.sh)"
id postgres >/dev/null 2>&1 || die "the postgres OS user does not exist (install postgresql-15)"

if [[ ! -x "$STAZ_BIN" ]]; then
    log "building staz"
    (cd "$REPO" && swift build --product staz)
fi

# The tree, fresh each run (the features write into it).
rm -rf "$WORK"
mkdir -p "$WORK"
if [[ -d "$SOURCE" ]]; then
    cp -a "$SOURCE/." "$WORK/patroni"
else
    mkdir -p "$WORK/patroni"
    tar -xzf "$SOURCE" -C "$WORK/patroni" --strip-components=1
fi
TREE="$WORK/patroni"
[[ -f "$TREE/features/environment.py" && -f "$TREE/patronictl.py" ]] \
    || die "'$SOURCE' does not hold Patroni's tree (features/environment.py, patronictl.py)"
cat > "$TREE/patroni.py" <<EOF
#!/usr/bin/env python3
"""staz in Patroni's place: the acceptance harness starts this file as Patroni."""
import os
import sys

os.execv("$STAZ_BIN", ["$STAZ_BIN"] + sys.argv[1:])
EOF

# behave, coverage, psycopg and Patroni's own requirements (for the real patronictl.py).
if [[ ! -x "$VENV/bin/behave" ]] || ! cmp -s "$TREE/requirements.txt" "$VENV/requirements.txt"; then
    log "creating $VENV"
    rm -rf "$VENV"
    /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q behave coverage "psycopg[binary]" -r "$TREE/requirements.txt"
    cp "$TREE/requirements.txt" "$VENV/requirements.txt"
    chmod -R a+rX "$VENV"
fi

features=()
if (($#)); then
    for name in "$@"; do
        [[ -f "$TREE/features/$name.feature" ]] || die "no feature '$name' in $TREE/features"
        features+=("features/$name.feature")
    done
else
    for path in "$TREE"/features/*.feature; do
        name="$(basename "$path" .feature)"
        [[ " ${EXCLUDED[*]} " == *" $name "* ]] && continue
        features+=("features/$name.feature")
    done
fi

chown -R postgres:postgres "$WORK"
log "DCS=$DCS, staz at $STAZ_BIN, PostgreSQL from $PG_BIN, ${#features[@]} feature(s)"
started=$(date +%s)
status=0
summary="$WORK/summary.txt"
: > "$summary"
for feature in "${features[@]}"; do
    name="$(basename "$feature" .feature)"
    output="$WORK/$name.out"
    # One behave per feature: a feature that hangs or crashes does not take the others with it.
    if runuser -u postgres -- env -i PATH="$VENV/bin:$PG_BIN:/usr/bin:/bin" HOME="$WORK" LANG=C.UTF-8 \
        DCS="$DCS" PYTHONUNBUFFERED=1 \
        bash -c "cd '$TREE' && exec timeout 1800 behave --no-capture --no-color '$feature'" > "$output" 2>&1; then
        result=passed
    else
        result=failed
        status=1
    fi
    # The next behave run starts from an empty features/output: keep this one's logs.
    [[ -d "$TREE/features/output" ]] && cp -a "$TREE/features/output" "$WORK/output-$name"
    counts="$(grep -E '^[0-9]+ scenarios? passed' "$output" | tail -1 || true)"
    echo "$name: $result (${counts:-no summary: see $output})" | tee -a "$summary"
    # The failing steps, so a CI log alone says what broke (the rest is in $output).
    if [[ $result == failed ]]; then
        grep -B1 -E "ASSERT FAILED|Assertion Failed|Traceback|HOOK-ERROR" "$output" | sed -E 's/ {2,}#.*$//' | head -n 30 | sed 's/^/    /' || true
    fi
done

passed=0
failed=0
while read -r line; do
    p=$(sed -nE 's/.*\(([0-9]+) scenarios? passed, ([0-9]+) failed.*/\1/p' <<<"$line")
    f=$(sed -nE 's/.*\(([0-9]+) scenarios? passed, ([0-9]+) failed.*/\2/p' <<<"$line")
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    [[ -z "$p" ]] && failed=$((failed + 1))
done < "$summary"
log "logs: $WORK (per feature: NAME.out, and the harness's logs in output-NAME/)"
log "took $(( $(date +%s) - started )) s"
echo "$passed passed, $failed failed"
exit "$status"
