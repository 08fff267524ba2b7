#!/usr/bin/env bash
# Installs the system packages staz's demo and integration tests need on a fresh Debian 12
# machine (run as root). Idempotent: when everything is already present it only makes sure
# that Debian's default services do not hold the ports the demo/tests use.
set -euo pipefail

PACKAGES=(postgresql-15 postgresql-15-pglogical etcd-server etcd-client haproxy wrk iproute2 python3-venv libpq5 pgbackrest)
# The package test (tests/package/test_package.sh): dpkg-shlibdeps for scripts/package.sh's
# Depends, objcopy, man to read the man pages, systemd-analyze to verify the unit, promtool
# (Debian ships it in prometheus) for the alert rules, curl for the REST API.
PACKAGES+=(dpkg-dev binutils man-db systemd prometheus curl)

log() { echo "[install-deps] $*"; }

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps.sh must run as root (it uses apt-get)" >&2
    exit 1
fi

missing=()
for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} > 0)); then
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    log "all packages present"
fi

# Debian's postgresql package creates and starts a 15/main cluster on port 5432 and etcd-server
# starts a daemon on 2379: both would collide with our members, so stop and disable them.
# prometheus starts a server too (on 9090) that nothing here needs: only promtool is used.
if command -v pg_lsclusters >/dev/null 2>&1; then
    while read -r version name _port status _rest; do
        [[ "$version" =~ ^[0-9]+$ ]] || continue
        if [[ "$status" == online* ]]; then
            log "stopping Debian's default PostgreSQL cluster $version/$name"
            pg_ctlcluster "$version" "$name" stop -m fast || true
        fi
        # "manual" keeps the cluster from being started at boot by the init scripts.
        conf="/etc/postgresql/$version/$name/start.conf"
        if [[ -f "$conf" ]] && ! grep -qx "manual" "$conf"; then
            echo "manual" >"$conf"
        fi
    done < <(pg_lsclusters --no-header 2>/dev/null || true)
fi

if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    for unit in postgresql etcd prometheus; do
        systemctl disable --now "$unit" >/dev/null 2>&1 || true
    done
else
    # No systemd (containers): the package's init script may still have started etcd.
    for daemon in etcd prometheus; do
        if [[ -x /etc/init.d/$daemon ]]; then
            /etc/init.d/$daemon stop >/dev/null 2>&1 || true
        fi
        # The package's daemon runs as the user of its name; other copies are left alone.
        if pid=$(pgrep -x -u "$daemon" "$daemon" 2>/dev/null); then
            log "stopping packaged $daemon daemon (pid $pid)"
            kill $pid || true
        fi
    done
fi

# The integration suite runs with the interpreter called "python3" on PATH.
if ! python3 -c 'import pytest' >/dev/null 2>&1; then
    if [[ "$(command -v python3)" == /usr/bin/python3 ]]; then
        log "installing python3-pytest"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-pytest
    else
        log "installing pytest for $(command -v python3)"
        python3 -m pip install -q pytest
    fi
fi

log "done"
