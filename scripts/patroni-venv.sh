#!/usr/bin/env bash
# Creates /opt/patroni-venv with the real Patroni 4.1.5 (used as the reference implementation
# by the integration suite and for patronictl compatibility checks). Built from the system
# interpreter so the unprivileged "postgres" user can execute it. Idempotent.
set -euo pipefail

VENV="${PATRONI_VENV:-/opt/patroni-venv}"
VERSION="4.1.5"

log() { echo "[patroni-venv] $*"; }

if [[ -x "$VENV/bin/patroni" ]] && "$VENV/bin/patroni" --version 2>/dev/null | grep -q "$VERSION"; then
    log "Patroni $VERSION already installed in $VENV"
    exit 0
fi

if ! /usr/bin/python3 -c 'import ensurepip' >/dev/null 2>&1; then
    log "python3-venv missing; installing"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv
fi

log "creating $VENV"
/usr/bin/python3 -m venv "$VENV"
# The psycopg3 extra pulls psycopg[binary] (bundles libpq); "etcd" adds the v2 client used
# by the etcd: section compatibility test.
"$VENV/bin/pip" install -q "patroni[etcd,etcd3,psycopg3]==$VERSION"
chmod -R a+rX "$VENV"
"$VENV/bin/patroni" --version
