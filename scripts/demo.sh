#!/usr/bin/env bash
# Three-node staz demo on one machine: etcd + 3 members (postgres0.yml..postgres2.yml, run as
# the "postgres" OS user) + HAProxy (haproxy.cfg). Run from anywhere, as root.
#
#   scripts/demo.sh          install deps, build, start everything, wait until healthy
#   scripts/demo.sh status   show the member table
#   scripts/demo.sh stop     stop everything this script started (pid files in data/)
#
# Knobs (environment):
#   STAZ_BIN=/path/to/daemon     skip the build and run this daemon instead, e.g. the real
#                                Patroni: STAZ_BIN=/opt/patroni-venv/bin/patroni
#   STAZCTL_BIN=/path/to/ctl     ctl used for the final table (default matches STAZ_BIN)
#   DEMO_PORT_BASE=24000         use ports BASE+379/380 (etcd), BASE+432..434 (postgres),
#                                BASE+8..10 (REST), BASE+500/501/700 (HAProxy) instead of the
#                                standard ones; configs are then generated into data/
#   DEMO_SKIP_INSTALL=1          do not run scripts/install-deps.sh
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="$REPO/data"
cd "$REPO"

log() { echo "[demo] $*"; }
die() { echo "[demo] ERROR: $*" >&2; exit 1; }

# ---- ports and config files ----------------------------------------------------------
if [[ -n "${DEMO_PORT_BASE:-}" ]]; then
    base=$DEMO_PORT_BASE
    ETCD_PORT=$((base + 379)); ETCD_PEER_PORT=$((base + 380))
    PG_PORTS=($((base + 432)) $((base + 433)) $((base + 434)))
    API_PORTS=($((base + 8)) $((base + 9)) $((base + 10)))
    PRIMARY_PORT=$((base + 500)); REPLICA_PORT=$((base + 501)); STATS_PORT=$((base + 700))
    CONFIG_DIR="$DATA"
else
    ETCD_PORT=2379; ETCD_PEER_PORT=2380
    PG_PORTS=(5432 5433 5434); API_PORTS=(8008 8009 8010)
    PRIMARY_PORT=5000; REPLICA_PORT=5001; STATS_PORT=7000
    CONFIG_DIR="$REPO"
fi
member_config() { echo "$CONFIG_DIR/postgres$1.yml"; }
HAPROXY_CFG="$CONFIG_DIR/haproxy.cfg"

generate_configs() {
    # Same files as the repository's samples, with only the ports (and pgpass) changed.
    [[ -z "${DEMO_PORT_BASE:-}" ]] && return 0
    local sed_args=(-e "s/127.0.0.1:2379/127.0.0.1:$ETCD_PORT/")
    for i in 0 1 2; do
        sed_args+=(-e "s/127.0.0.1:$((5432 + i))/127.0.0.1:${PG_PORTS[$i]}/"
                   -e "s/127.0.0.1:$((8008 + i))/127.0.0.1:${API_PORTS[$i]}/"
                   -e "s/check port $((8008 + i))/check port ${API_PORTS[$i]}/")
    done
    for i in 0 1 2; do
        sed "${sed_args[@]}" -e "s#/tmp/pgpass$i#$DATA/pgpass$i#" "$REPO/postgres$i.yml" \
            >"$(member_config "$i")"
    done
    sed "${sed_args[@]}" -e "s/127.0.0.1:5000/127.0.0.1:$PRIMARY_PORT/" \
        -e "s/127.0.0.1:5001/127.0.0.1:$REPLICA_PORT/" -e "s/127.0.0.1:7000/127.0.0.1:$STATS_PORT/" \
        "$REPO/haproxy.cfg" >"$HAPROXY_CFG"
    chown postgres:postgres "$CONFIG_DIR"/postgres?.yml
}

# ---- binaries --------------------------------------------------------------------------
resolve_binaries() {
    if [[ -z "${STAZ_BIN:-}" ]]; then
        command -v swift >/dev/null || die "swift not found on PATH (install the Swift 6 toolchain)"
        log "building staz (swift build -c release)"
        swift build -c release --product staz
        swift build -c release --product stazctl
        STAZ_BIN="$REPO/.build/release/staz"
    fi
    if [[ -z "${STAZCTL_BIN:-}" ]]; then
        case "$(basename "$STAZ_BIN")" in
            patroni) STAZCTL_BIN="$(dirname "$STAZ_BIN")/patronictl" ;;
            *) STAZCTL_BIN="$(dirname "$STAZ_BIN")/stazctl" ;;
        esac
    fi
    [[ -x "$STAZ_BIN" ]] || die "daemon $STAZ_BIN is not executable"
}

# ---- process helpers -------------------------------------------------------------------
pid_running() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pidfile() { # pidfile grace-seconds
    local pidfile=$1 grace=$2 pid
    pid_running "$pidfile" || { rm -f "$pidfile"; return 0; }
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for ((tick = 0; tick < grace * 10; tick++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

http_get() { # port path -> prints body, fails when unreachable
    python3 - "$1" "$2" <<'EOF'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}", timeout=2) as r:
        print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.read().decode())
except Exception:
    sys.exit(1)
EOF
}

cluster_is_healthy() { # 1 running leader + 2 streaming replicas in GET /cluster
    local port body
    for port in "${API_PORTS[@]}"; do
        body=$(http_get "$port" /cluster) || continue
        python3 -c '
import json, sys
members = json.loads(sys.argv[1]).get("members", [])
leaders = [m for m in members if m.get("role") == "leader" and m.get("state") == "running"]
streaming = [m for m in members if m.get("role") != "leader" and m.get("state") == "streaming"]
sys.exit(0 if len(leaders) == 1 and len(streaming) == 2 else 1)' "$body" && return 0
    done
    return 1
}

# ---- commands --------------------------------------------------------------------------
start() {
    [[ $(id -u) -eq 0 ]] || die "run as root (members are started as the postgres user)"
    if pid_running "$DATA/etcd.pid"; then die "demo already running: scripts/demo.sh stop first"; fi
    [[ "${DEMO_SKIP_INSTALL:-}" == 1 ]] || bash "$REPO/scripts/install-deps.sh"
    resolve_binaries

    mkdir -p "$DATA"
    chown postgres:postgres "$DATA"
    generate_configs
    runuser -u postgres -- test -r "$(member_config 0)" ||
        die "the postgres user cannot read $(member_config 0); put the repository in a directory it can reach"
    runuser -u postgres -- test -x "$STAZ_BIN" || die "the postgres user cannot execute $STAZ_BIN"

    log "starting etcd on 127.0.0.1:$ETCD_PORT (v2 API enabled)"
    setsid etcd --name demo --data-dir "$DATA/etcd" --enable-v2=true \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-cluster "demo=http://127.0.0.1:$ETCD_PEER_PORT" \
        >>"$DATA/etcd.log" 2>&1 </dev/null &
    echo $! >"$DATA/etcd.pid"
    for ((tick = 0; tick < 100; tick++)); do
        http_get "$ETCD_PORT" /health >/dev/null 2>&1 && break
        sleep 0.2
    done
    http_get "$ETCD_PORT" /health >/dev/null || die "etcd did not become healthy (see $DATA/etcd.log)"

    for i in 0 1 2; do
        log "starting member postgresql$i ($(basename "$STAZ_BIN") $(member_config "$i"))"
        # sh records its own pid and execs the daemon, so the pid file holds the daemon's pid.
        runuser -u postgres -- setsid sh -c 'echo $$ > "$1"; exec "$2" "$3" >>"$4" 2>&1 </dev/null' \
            sh "$DATA/postgres$i.pid" "$STAZ_BIN" "$(member_config "$i")" "$DATA/postgres$i.log" \
            >/dev/null 2>&1 </dev/null &
    done

    log "starting HAProxy (primary :$PRIMARY_PORT, replicas :$REPLICA_PORT, stats :$STATS_PORT)"
    haproxy -D -p "$DATA/haproxy.pid" -f "$HAPROXY_CFG"

    log "waiting for 1 leader + 2 streaming replicas (up to 300 s)"
    for ((tick = 0; tick < 300; tick++)); do
        cluster_is_healthy && break
        sleep 1
    done
    cluster_is_healthy || die "cluster not healthy after 300 s; see $DATA/postgres*.log"

    log "cluster is up"
    "$STAZCTL_BIN" -c "$(member_config 0)" list || true
    cat <<EOF

Connect to the primary:   PGPASSWORD=zalando psql -h 127.0.0.1 -p $PRIMARY_PORT -U postgres
Connect to a replica:     PGPASSWORD=zalando psql -h 127.0.0.1 -p $REPLICA_PORT -U postgres
Member table:             $STAZCTL_BIN -c $(member_config 0) list
HAProxy stats:            http://127.0.0.1:$STATS_PORT/
Logs:                     $DATA/postgres{0,1,2}.log, $DATA/etcd.log
Stop everything:          scripts/demo.sh stop
EOF
}

stop() {
    for i in 0 1 2; do
        # The daemon stops its PostgreSQL on SIGTERM; give it time for a clean shutdown.
        stop_pidfile "$DATA/postgres$i.pid" 90
        if [[ -f "$DATA/postgres$i/postmaster.pid" ]] &&
            kill -0 "$(head -1 "$DATA/postgres$i/postmaster.pid")" 2>/dev/null; then
            log "PostgreSQL of postgresql$i still running; stopping it"
            runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$DATA/postgres$i" \
                stop -m fast -w -t 60 >/dev/null || true
        fi
    done
    stop_pidfile "$DATA/haproxy.pid" 10
    stop_pidfile "$DATA/etcd.pid" 10
    log "stopped (data kept in $DATA; remove it for a fresh cluster)"
}

status() {
    resolve_binaries
    "$STAZCTL_BIN" -c "$(member_config 0)" list
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status) STAZ_BIN="${STAZ_BIN:-$REPO/.build/release/staz}" status ;;
    *) die "usage: scripts/demo.sh [start|status|stop]" ;;
esac
