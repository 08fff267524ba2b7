#!/usr/bin/env bash
# staz demo on one machine, run as root from anywhere. Default: the three-zone mesh - one etcd
# shared by three staz clusters (zone-a, zone-b, zone-c), two members each (run as the
# "postgres" OS user), one HAProxy per zone, and the pglogical multi-master mesh between the
# zones, built by the zone leaders themselves. DEMO_ZONES=1: the classic single cluster of three
# members (postgres0.yml..postgres2.yml + haproxy.cfg), no mesh.
#
#   scripts/demo.sh          install deps, build, start everything, wait until healthy
#   scripts/demo.sh status   show the member tables (and the mesh)
#   scripts/demo.sh stop     stop everything this script started (pid files in data/)
#
# Knobs (environment):
#   DEMO_ZONES=3|1               three-zone mesh (default) or the single three-member cluster
#   STAZ_BIN=/path/to/daemon     skip the build and run this daemon instead (DEMO_ZONES=1 also
#                                runs the real Patroni: STAZ_BIN=/opt/patroni-venv/bin/patroni)
#   STAZCTL_BIN=/path/to/ctl     ctl used for the tables (default matches STAZ_BIN)
#   DEMO_PORT_BASE=24000         ports relative to BASE instead of the standard ones (see below);
#                                configs are then generated into data/
#   DEMO_SKIP_INSTALL=1          do not run scripts/install-deps.sh
#   DEMO_DATA=/path              where data, logs, pid files and generated configs go (data/)
#
# Ports, three zones (zone index z = 0, 1, 2): etcd 2379; PostgreSQL 5432+10z and 5433+10z;
# REST 8008+10z and 8009+10z; HAProxy primary 5000+10z, replicas 5001+10z, stats 7000+10z.
# With DEMO_PORT_BASE the same offsets apply from BASE (etcd BASE+379, PostgreSQL BASE+432+10z...).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${DEMO_DATA:-$REPO/data}"
cd "$REPO"
ZONES=${DEMO_ZONES:-3}
[[ "$ZONES" == 1 || "$ZONES" == 3 ]] || { echo "[demo] ERROR: DEMO_ZONES must be 1 or 3" >&2; exit 1; }

log() { echo "[demo] $*"; }
die() { echo "[demo] ERROR: $*" >&2; exit 1; }

# ---- ports -------------------------------------------------------------------------------
base=${DEMO_PORT_BASE:-}
port() { # offset-from-standard-port: standard when no base, else BASE-relative
    local standard=$1
    if [[ -z "$base" ]]; then echo "$standard"; return; fi
    case $standard in
        2379|2380) echo $((base + standard - 2000)) ;;          # 379/380
        54[0-9][0-9]) echo $((base + standard - 5000)) ;;     # 432...
        50[0-9][0-9]) echo $((base + standard - 4500)) ;;     # 500...
        80[0-9][0-9]) echo $((base + standard - 8000)) ;;     # 8...
        70[0-9][0-9]) echo $((base + standard - 6300)) ;;     # 700...
        *) die "no port mapping for $standard" ;;
    esac
}
ETCD_PORT=$(port 2379); ETCD_PEER_PORT=$(port 2380)

# ---- binaries ----------------------------------------------------------------------------
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
    if [[ "$ZONES" == 3 && "$(basename "$STAZ_BIN")" == patroni ]]; then
        die "the three-zone mesh is staz's; use DEMO_ZONES=1 to run Patroni"
    fi
}

# ---- process helpers ---------------------------------------------------------------------
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

cluster_is_healthy() { # replicas api-port... : 1 running leader + N streaming replicas in GET /cluster
    local replicas=$1 port body
    shift
    for port in "$@"; do
        body=$(http_get "$port" /cluster) || continue
        python3 -c '
import json, sys
members = json.loads(sys.argv[1]).get("members", [])
leaders = [m for m in members if m.get("role") == "leader" and m.get("state") == "running"]
streaming = [m for m in members if m.get("role") != "leader" and m.get("state") == "streaming"]
sys.exit(0 if len(leaders) == 1 and len(streaming) >= int(sys.argv[2]) else 1)' "$body" "$replicas" && return 0
    done
    return 1
}

start_etcd() {
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
}

start_member() { # name config
    log "starting member $1 ($(basename "$STAZ_BIN") $2)"
    runuser -u postgres -- test -r "$2" ||
        die "the postgres user cannot read $2; put the repository in a directory it can reach"
    # sh records its own pid and execs the daemon, so the pid file holds the daemon's pid.
    runuser -u postgres -- setsid sh -c 'echo $$ > "$1"; exec "$2" "$3" >>"$4" 2>&1 </dev/null' \
        sh "$DATA/$1.pid" "$STAZ_BIN" "$2" "$DATA/$1.log" >/dev/null 2>&1 </dev/null &
}

stop_member() { # name data-dir
    # The daemon stops its PostgreSQL on SIGTERM; give it time for a clean shutdown.
    stop_pidfile "$DATA/$1.pid" 90
    if [[ -f "$2/postmaster.pid" ]] && kill -0 "$(head -1 "$2/postmaster.pid")" 2>/dev/null; then
        log "PostgreSQL of $1 still running; stopping it"
        runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$2" stop -m fast -w -t 60 >/dev/null || true
    fi
}

prepare() {
    [[ $(id -u) -eq 0 ]] || die "run as root (members are started as the postgres user)"
    if pid_running "$DATA/etcd.pid"; then die "demo already running: scripts/demo.sh stop first"; fi
    [[ "${DEMO_SKIP_INSTALL:-}" == 1 ]] || bash "$REPO/scripts/install-deps.sh"
    resolve_binaries
    mkdir -p "$DATA"
    chown postgres:postgres "$DATA"
    runuser -u postgres -- test -x "$STAZ_BIN" || die "the postgres user cannot execute $STAZ_BIN"
}

# ==== single zone: the repository's sample configuration ==================================
SINGLE_PG_PORTS=($(port 5432) $(port 5433) $(port 5434))
SINGLE_API_PORTS=($(port 8008) $(port 8009) $(port 8010))
# The repository's samples as they are, unless ports or the data directory are moved.
single_generated() { [[ -n "$base" || -n "${DEMO_DATA:-}" ]]; }
single_config() { if single_generated; then echo "$DATA/postgres$1.yml"; else echo "$REPO/postgres$1.yml"; fi; }
single_haproxy() { if single_generated; then echo "$DATA/haproxy.cfg"; else echo "$REPO/haproxy.cfg"; fi; }

single_generate() {
    # Same files as the repository's samples, with only the ports, data and pgpass paths changed.
    single_generated || return 0
    local sed_args=(-e "s/127.0.0.1:2379/127.0.0.1:$ETCD_PORT/")
    for i in 0 1 2; do
        sed_args+=(-e "s/127.0.0.1:$((5432 + i))/127.0.0.1:${SINGLE_PG_PORTS[$i]}/"
                   -e "s/127.0.0.1:$((8008 + i))/127.0.0.1:${SINGLE_API_PORTS[$i]}/"
                   -e "s/check port $((8008 + i))/check port ${SINGLE_API_PORTS[$i]}/")
    done
    for i in 0 1 2; do
        sed "${sed_args[@]}" -e "s#/tmp/pgpass$i#$DATA/pgpass$i#" -e "s#data_dir: data/postgres$i#data_dir: $DATA/postgres$i#" \
            "$REPO/postgres$i.yml" >"$(single_config "$i")"
    done
    sed "${sed_args[@]}" -e "s/127.0.0.1:5000/127.0.0.1:$(port 5000)/" \
        -e "s/127.0.0.1:5001/127.0.0.1:$(port 5001)/" -e "s/127.0.0.1:7000/127.0.0.1:$(port 7000)/" \
        "$REPO/haproxy.cfg" >"$(single_haproxy)"
    chown postgres:postgres "$DATA"/postgres?.yml
}

single_start() {
    prepare
    single_generate
    start_etcd
    for i in 0 1 2; do start_member "postgres$i" "$(single_config "$i")"; done
    log "starting HAProxy (primary :$(port 5000), replicas :$(port 5001), stats :$(port 7000))"
    haproxy -D -p "$DATA/haproxy.pid" -f "$(single_haproxy)"
    log "waiting for 1 leader + 2 streaming replicas (up to 300 s)"
    for ((tick = 0; tick < 300; tick++)); do
        cluster_is_healthy 2 "${SINGLE_API_PORTS[@]}" && break
        sleep 1
    done
    cluster_is_healthy 2 "${SINGLE_API_PORTS[@]}" || die "cluster not healthy after 300 s; see $DATA/postgres*.log"
    log "cluster is up"
    "$STAZCTL_BIN" -c "$(single_config 0)" list || true
    cat <<EOF

Connect to the primary:   PGPASSWORD=zalando psql -h 127.0.0.1 -p $(port 5000) -U postgres
Connect to a replica:     PGPASSWORD=zalando psql -h 127.0.0.1 -p $(port 5001) -U postgres
Member table:             $STAZCTL_BIN -c $(single_config 0) list
HAProxy stats:            http://127.0.0.1:$(port 7000)/
Logs:                     $DATA/postgres{0,1,2}.log, $DATA/etcd.log
Stop everything:          DEMO_ZONES=1 scripts/demo.sh stop
EOF
}

single_stop() {
    for i in 0 1 2; do stop_member "postgres$i" "$DATA/postgres$i"; done
    stop_pidfile "$DATA/haproxy.pid" 10
    stop_pidfile "$DATA/etcd.pid" 10
    log "stopped (data kept in $DATA; remove it for a fresh cluster)"
}

# ==== three zones: generated configurations with a mesh section ===========================
ZONE_NAMES=(a b c)
zone_config() { echo "$DATA/zone-$1$2.yml"; }           # zone letter, member index
zone_pg_port() { port $((5432 + 10 * $1 + $2)); }        # zone index, member index
zone_api_port() { port $((8008 + 10 * $1 + $2)); }
zone_proxy_port() { port $((5000 + 10 * $1 + $2)); }     # member index 0: primary, 1: replicas
zone_stats_port() { port $((7000 + 10 * $1)); }

mesh_generate() {
    # The replicated tables: every zone's leader runs this file (mesh.schema) in the mesh
    # database before subscribing, as the mesh copies no tables; again only when it changes.
    cat >"$DATA/schema.sql" <<'EOF'
CREATE TABLE IF NOT EXISTS public.items (id bigint PRIMARY KEY, written_in text NOT NULL, at timestamptz NOT NULL DEFAULT now());
EOF
    chmod 644 "$DATA/schema.sql"
    for z in 0 1 2; do
        local zone=${ZONE_NAMES[$z]}
        for m in 0 1; do
            cat >"$(zone_config "$zone" "$m")" <<EOF
# Generated by scripts/demo.sh: member $m of zone-$zone in the three-zone mesh demo.
scope: zone-$zone
namespace: /service/
name: $zone$m
restapi:
  listen: 127.0.0.1:$(zone_api_port "$z" "$m")
  connect_address: 127.0.0.1:$(zone_api_port "$z" "$m")
etcd3:
  host: 127.0.0.1:$ETCD_PORT
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 2
    retry_timeout: 2
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: true
      use_slots: true
      pg_hba:
      - host replication replicator 127.0.0.1/32 md5
      - host all all 127.0.0.1/32 md5
      parameters:
        wal_log_hints: "on"
  initdb:
  - encoding: UTF8
  - data-checksums
postgresql:
  listen: 127.0.0.1:$(zone_pg_port "$z" "$m")
  connect_address: 127.0.0.1:$(zone_pg_port "$z" "$m")
  data_dir: $DATA/$zone$m
  bin_dir: /usr/lib/postgresql/15/bin
  pgpass: $DATA/pgpass-$zone$m
  authentication:
    replication:
      username: replicator
      password: rep-pass
    superuser:
      username: postgres
      password: zalando
    rewind:
      username: rewind_user
      password: rewind_password
  parameters:
    unix_socket_directories: '$DATA'
# The mesh: every zone's leader keeps its node and its subscriptions to the other zones.
# Zone DSNs come from the member keys in etcd (a multi-host DSN reaching the zone's primary);
# "dsn: host=... port=..." on a zone would use e.g. that zone's HAProxy instead.
mesh:
  provider: pglogical
  databases: [app]
  zones: [zone-a, zone-b, zone-c]
  schema: $DATA/schema.sql
  reconcile_interval: 5
EOF
        done
        cat >"$DATA/haproxy-$zone.cfg" <<EOF
# Generated by scripts/demo.sh: HAProxy of zone-$zone (clients of this zone).
global
    maxconn 100
defaults
    mode tcp
    retries 2
    timeout client 30m
    timeout connect 4s
    timeout server 30m
    timeout check 5s
listen stats
    mode http
    bind 127.0.0.1:$(zone_stats_port "$z")
    stats enable
    stats uri /
listen primary
    bind 127.0.0.1:$(zone_proxy_port "$z" 0)
    option httpchk OPTIONS /primary
    http-check expect status 200
    default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
    server ${zone}0 127.0.0.1:$(zone_pg_port "$z" 0) maxconn 100 check port $(zone_api_port "$z" 0)
    server ${zone}1 127.0.0.1:$(zone_pg_port "$z" 1) maxconn 100 check port $(zone_api_port "$z" 1)
listen replicas
    bind 127.0.0.1:$(zone_proxy_port "$z" 1)
    balance roundrobin
    option httpchk OPTIONS /replica
    http-check expect status 200
    default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
    server ${zone}0 127.0.0.1:$(zone_pg_port "$z" 0) maxconn 100 check port $(zone_api_port "$z" 0)
    server ${zone}1 127.0.0.1:$(zone_pg_port "$z" 1) maxconn 100 check port $(zone_api_port "$z" 1)
EOF
    done
    chown postgres:postgres "$DATA"/zone-*.yml "$DATA/schema.sql"
}

mesh_replicating() { # all 6 subscriptions replicating, from the zone leaders' GET /mesh
    local ports=() z m
    for z in 0 1 2; do for m in 0 1; do ports+=("$(zone_api_port "$z" "$m")"); done; done
    python3 - "${ports[@]}" <<'EOF'
import json, sys, urllib.request
states = {}
for port in sys.argv[1:]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/mesh", timeout=2) as response:
            body = json.loads(response.read())
    except Exception:
        continue
    if body.get("role") != "leader":
        continue
    for database in body.get("databases", []):
        for sub in database.get("subscriptions", []):
            states[sub["name"]] = sub["status"]
sys.exit(0 if len(states) == 6 and all(s == "replicating" for s in states.values()) else 1)
EOF
}

mesh_start() {
    prepare
    mesh_generate
    start_etcd
    local z m
    for z in 0 1 2; do
        for m in 0 1; do start_member "${ZONE_NAMES[$z]}$m" "$(zone_config "${ZONE_NAMES[$z]}" "$m")"; done
    done
    for z in 0 1 2; do
        log "starting HAProxy of zone-${ZONE_NAMES[$z]} (primary :$(zone_proxy_port "$z" 0), replicas :$(zone_proxy_port "$z" 1))"
        haproxy -D -p "$DATA/haproxy-${ZONE_NAMES[$z]}.pid" -f "$DATA/haproxy-${ZONE_NAMES[$z]}.cfg"
    done
    log "waiting for every zone: 1 leader + 1 streaming replica (up to 300 s)"
    for z in 0 1 2; do
        local ports=("$(zone_api_port "$z" 0)" "$(zone_api_port "$z" 1)")
        for ((tick = 0; tick < 300; tick++)); do
            cluster_is_healthy 1 "${ports[@]}" && break
            sleep 1
        done
        cluster_is_healthy 1 "${ports[@]}" || die "zone-${ZONE_NAMES[$z]} not healthy after 300 s; see $DATA/${ZONE_NAMES[$z]}?.log"
    done
    log "waiting for the mesh: 6 subscriptions replicating (up to 120 s)"
    for ((tick = 0; tick < 240; tick++)); do
        mesh_replicating && break
        sleep 0.5
    done
    mesh_replicating || die "mesh not replicating after 120 s; see $STAZCTL_BIN -c $(zone_config a 0) mesh"
    log "mesh is up"
    "$STAZCTL_BIN" -c "$(zone_config a 0)" mesh || true
    cat <<EOF

Write in zone-a:      PGPASSWORD=zalando psql -h 127.0.0.1 -p $(zone_proxy_port 0 0) -U postgres app -c "INSERT INTO items (id, written_in) VALUES (1, 'zone-a')"
Read it in zone-b:    PGPASSWORD=zalando psql -h 127.0.0.1 -p $(zone_proxy_port 1 0) -U postgres app -c "SELECT * FROM items"
...and in zone-c:     PGPASSWORD=zalando psql -h 127.0.0.1 -p $(zone_proxy_port 2 0) -U postgres app -c "SELECT * FROM items"
Mesh status:          $STAZCTL_BIN -c $(zone_config a 0) mesh
Replicated DDL:       $STAZCTL_BIN -c $(zone_config a 0) mesh ddl "ALTER TABLE public.items ADD COLUMN note text"
Members of a zone:    $STAZCTL_BIN -c $(zone_config b 0) list
Logs:                 $DATA/{a,b,c}{0,1}.log, $DATA/etcd.log
Stop everything:      scripts/demo.sh stop
EOF
}

mesh_stop() {
    local zone m
    for zone in "${ZONE_NAMES[@]}"; do
        for m in 0 1; do stop_member "$zone$m" "$DATA/$zone$m"; done
        stop_pidfile "$DATA/haproxy-$zone.pid" 10
    done
    stop_pidfile "$DATA/etcd.pid" 10
    log "stopped (data kept in $DATA; remove it for a fresh mesh)"
}

mesh_status() {
    local zone
    for zone in "${ZONE_NAMES[@]}"; do "$STAZCTL_BIN" -c "$(zone_config "$zone" 0)" list || true; done
    "$STAZCTL_BIN" -c "$(zone_config a 0)" mesh
}

case "${1:-start}" in
    start) if [[ "$ZONES" == 1 ]]; then single_start; else mesh_start; fi ;;
    stop) if [[ "$ZONES" == 1 ]]; then single_stop; else mesh_stop; fi ;;
    status)
        STAZ_BIN="${STAZ_BIN:-$REPO/.build/release/staz}"
        resolve_binaries
        if [[ "$ZONES" == 1 ]]; then "$STAZCTL_BIN" -c "$(single_config 0)" list; else mesh_status; fi ;;
    *) die "usage: [DEMO_ZONES=1|3] scripts/demo.sh [start|status|stop]" ;;
esac
