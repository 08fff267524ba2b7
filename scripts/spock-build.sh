#!/usr/bin/env bash
# Builds PostgreSQL with pgEdge Spock's patches applied, plus Spock itself, into a cache outside
# the repository, so the three-zone mesh can run on real Spock (Debian ships no Spock package,
# and Spock builds only against a server with its patches). Run as root (it installs build dependencies with
# apt-get and runs a smoke test as the "postgres" user).
#
#   scripts/spock-build.sh [15|17]          (default 15)
#
# The PostgreSQL source is Debian's source package for that major (postgresql-15 from bookworm,
# postgresql-17 from trixie), fetched with a private apt configuration kept in the cache (the
# system's apt sources are never changed, and no trixie binary is installed), extracted without
# Debian's patches, with Spock's patches/<major>/* applied in file-name order. PostgreSQL
# (core and contrib, pg_walinspect among them) and Spock are installed into
# $SPOCK_CACHE/pg<major>-spock<spock version>. An unchanged second run does nothing.
# Progress goes to stderr; the last line on stdout is the install prefix, so callers can use
#   PREFIX=$(scripts/spock-build.sh 15 | tail -n1)
#
# Environment:
#   SPOCK_SRC       Spock source: a tarball (git archive of pgEdge/spock) or a source tree.
#                   Default: ../shared/spock/spock-5.0.9.tar.gz next to the repository, if present.
#   SPOCK_CACHE     where downloads, builds and installs go (default /var/cache/staz-spock).
#   SPOCK_REFRESH   1: refresh the private apt lists even when they exist, to pick up a newer
#                   Debian PostgreSQL source (a build happens only when the version changed).
#   SPOCK_SMOKE     0: skip the final smoke test (initdb, start with spock preloaded,
#                   CREATE EXTENSION spock).
#   DEBIAN_MIRROR   archive URL for the source package (default http://deb.debian.org/debian,
#                   the host Debian 12's own apt sources use).
set -euo pipefail

# Everything but the final prefix goes to stderr, so "| tail -n1" (or $(...)) gets the prefix
# even when a tool we call prints progress on stdout.
exec 3>&1 1>&2

# The prefix is used by the unprivileged postgres user (initdb, the test clusters): whatever we
# create must be readable by it regardless of the caller's umask.
umask 022
export LC_ALL=C   # file-name order of the patches, and tool messages we parse

log() { echo "[spock-build] $*" >&2; }
die() { echo "[spock-build] error: $*" >&2; exit 1; }

MAJOR="${1:-15}"
case "$MAJOR" in
    15) SUITE=bookworm ;;
    17) SUITE=trixie ;;
    *) die "usage: $0 [15|17] (got '$MAJOR')" ;;
esac
PG_SOURCE_PACKAGE="postgresql-$MAJOR"

[[ $(id -u) -eq 0 ]] || die "must run as root (apt-get for build dependencies, runuser for the smoke test)"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SPOCK_CACHE:-/var/cache/staz-spock}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# --- Spock source -------------------------------------------------------------------------------
if [[ -n "${SPOCK_SRC:-}" ]]; then
    [[ -e "$SPOCK_SRC" ]] || die "SPOCK_SRC=$SPOCK_SRC does not exist"
else
    SPOCK_SRC="$REPO_ROOT/../shared/spock/spock-5.0.9.tar.gz"
    [[ -e "$SPOCK_SRC" ]] || die "no Spock source: set SPOCK_SRC to a Spock 5.0.9 tarball (git archive of pgEdge/spock v5.0.9) or to a clone of https://github.com/pgEdge/spock checked out at v5.0.9"
fi
SPOCK_SRC="$(realpath "$SPOCK_SRC")"

# The checksum identifies the Spock input in the marker: of the file for a tarball, of every
# file's content and name for a tree (.git excluded, so a clone and an export of the same commit
# agree, and uncommitted edits count).
if [[ -d "$SPOCK_SRC" ]]; then
    [[ -f "$SPOCK_SRC/include/spock.h" ]] || die "SPOCK_SRC=$SPOCK_SRC does not look like a Spock source tree (no include/spock.h)"
    SPOCK_SUM="$(cd "$SPOCK_SRC" && find . -path ./.git -prune -o -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
    SPOCK_VERSION="$(sed -n 's/^#define SPOCK_VERSION "\(.*\)"/\1/p' "$SPOCK_SRC/include/spock.h")"
else
    SPOCK_SUM="$(sha256sum "$SPOCK_SRC" | cut -d' ' -f1)"
    SPOCK_VERSION="$(tar -xzOf "$SPOCK_SRC" --wildcards '*/include/spock.h' | sed -n 's/^#define SPOCK_VERSION "\(.*\)"/\1/p')"
fi
[[ -n "$SPOCK_VERSION" ]] || die "cannot read SPOCK_VERSION from $SPOCK_SRC (include/spock.h)"

PREFIX="$CACHE/pg$MAJOR-spock$SPOCK_VERSION"
MARKER="$PREFIX/.staz-spock-build"
# Bump when the recipe changes (configure options, contrib set) so existing prefixes rebuild.
RECIPE=1
CONFIGURE_OPTS=(--without-icu --with-openssl --without-readline)

mkdir -p "$CACHE"
# One build per prefix at a time (parallel CI jobs share the cache); waits for the other one,
# which then usually leaves a prefix this run can reuse.
exec 9>"$CACHE/.lock-pg$MAJOR"
flock -n 9 || { log "waiting for another spock-build.sh $MAJOR to finish"; flock 9; }

# --- Private apt configuration -------------------------------------------------------------------
# Only a deb-src line, only in the cache: the system's sources, lists and package cache stay as
# they are, and nothing from trixie can be installed through it. The release itself (its latest
# point release), not -security: mirrors and caching proxies do not all serve the security
# archive's source pool (this one answered 404 for postgresql-15's), and a version listed but
# not downloadable would fail the build.
APT_DIR="$CACHE/apt/$SUITE"
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$APT_DIR/sources.list.new" <<EOF
deb-src [signed-by=$KEYRING] $MIRROR $SUITE main
EOF
if ! cmp -s "$APT_DIR/sources.list.new" "$APT_DIR/sources.list" 2>/dev/null; then
    mv "$APT_DIR/sources.list.new" "$APT_DIR/sources.list"
    rm -f "$APT_DIR/lists/"*Sources* "$APT_DIR/lists/"*Release*   # force an update
else
    rm -f "$APT_DIR/sources.list.new"
fi
APT_OPTS=(
    -o "Dir::Etc::SourceList=$APT_DIR/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$APT_DIR/lists"
    -o "Dir::Cache=$APT_DIR/cache"
    # Debian's Docker images disable the binary caches; apt needs somewhere to build them.
    -o "Dir::Cache::pkgcache=$APT_DIR/cache/pkgcache.bin"
    -o "Dir::Cache::srcpkgcache=$APT_DIR/cache/srcpkgcache.bin"
)

apt_update() {
    log "updating the private apt lists ($SUITE deb-src) in $APT_DIR"
    apt-get "${APT_OPTS[@]}" -q update >&2
}

# The newest source version of postgresql-<major> in the release.
pg_source_version() {
    local newest="" v
    while read -r v; do
        if [[ -z "$newest" ]] || dpkg --compare-versions "$v" gt "$newest"; then newest="$v"; fi
    done < <(apt-cache "${APT_OPTS[@]}" showsrc --only-source "$PG_SOURCE_PACKAGE" 2>/dev/null \
                 | sed -n 's/^Version: //p')
    echo "$newest"
}

marker_content() {
    cat <<EOF
recipe=$RECIPE
major=$MAJOR
postgresql_source=$PG_SOURCE_PACKAGE $1 ($SUITE)
configure=${CONFIGURE_OPTS[*]}
spock_version=$SPOCK_VERSION
spock_sha256=$SPOCK_SUM
EOF
}

reusable() {   # $1: PostgreSQL source version
    [[ -n "$1" && -f "$MARKER" && -x "$PREFIX/bin/pg_config" ]] && [[ "$(cat "$MARKER")" == "$(marker_content "$1")" ]]
}

# Reuse needs no network: the cached lists say which version would be built. Only when the
# lists are missing (first run), asked for (SPOCK_REFRESH=1) or the marker differs do we update.
T_START=$SECONDS
PG_VERSION=""
if compgen -G "$APT_DIR/lists/*_Sources*" >/dev/null && [[ "${SPOCK_REFRESH:-0}" != 1 ]]; then
    PG_VERSION="$(pg_source_version)"
    if reusable "$PG_VERSION"; then
        log "up to date: $PREFIX ($PG_SOURCE_PACKAGE $PG_VERSION, Spock $SPOCK_VERSION)"
        echo "$PREFIX" >&3
        exit 0
    fi
fi
apt_update
PG_VERSION="$(pg_source_version)"
[[ -n "$PG_VERSION" ]] || die "no source package $PG_SOURCE_PACKAGE in $SUITE (see $APT_DIR/sources.list)"
if reusable "$PG_VERSION"; then
    log "up to date: $PREFIX ($PG_SOURCE_PACKAGE $PG_VERSION, Spock $SPOCK_VERSION)"
    echo "$PREFIX" >&3
    exit 0
fi
[[ -d "$PREFIX" ]] && log "rebuilding $PREFIX (inputs changed or an earlier build did not finish)"
log "building $PG_SOURCE_PACKAGE $PG_VERSION + Spock $SPOCK_VERSION into $PREFIX"

# --- Build dependencies (system packages; the system PostgreSQL is not touched) ------------------
BUILD_DEPS=(build-essential bison flex libssl-dev zlib1g-dev libjansson-dev pkg-config dpkg-dev patch)
missing=()
for package in "${BUILD_DEPS[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
    log "installing build dependencies: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The system lists may be missing or stale (a fresh image): update them only if needed.
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
        || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
fi

# --- Download the PostgreSQL source package (kept in the cache for later rebuilds) ---------------
SRC_DIR="$CACHE/sources/${PG_SOURCE_PACKAGE}_$PG_VERSION"
DSC="$SRC_DIR/${PG_SOURCE_PACKAGE}_${PG_VERSION#*:}.dsc"
if [[ ! -f "$DSC" ]]; then
    log "downloading $PG_SOURCE_PACKAGE $PG_VERSION"
    mkdir -p "$SRC_DIR.partial"
    # apt checks the files against the signed Sources index; the directory is renamed only
    # once the download is complete.
    (cd "$SRC_DIR.partial" && apt-get "${APT_OPTS[@]}" -q -o APT::Sandbox::User=root \
        source --download-only "$PG_SOURCE_PACKAGE=$PG_VERSION" >&2) \
        || { rm -rf "$SRC_DIR.partial"; die "could not download $PG_SOURCE_PACKAGE $PG_VERSION from $MIRROR (a proxy or partial mirror may not serve $SUITE's pool: set DEBIAN_MIRROR)"; }
    rm -rf "$SRC_DIR"
    mv "$SRC_DIR.partial" "$SRC_DIR"
fi
[[ -f "$DSC" ]] || die "download did not produce $DSC"
T_DOWNLOADED=$SECONDS
log "downloads done in $((T_DOWNLOADED - T_START)) s"

# --- Build in a scratch directory; the prefix is written only after the build succeeded ----------
mkdir -p "$CACHE/build"
# Leftovers of earlier failed runs for this major (we hold its lock, so none is in use).
rm -rf "$CACHE/build/pg$MAJOR".*
BUILD="$(mktemp -d "$CACHE/build/pg$MAJOR.XXXXXX")"
chmod 755 "$BUILD"
SMOKE_DIR=""
cleanup() {
    local rc=$?
    if [[ -n "$SMOKE_DIR" && -d "$SMOKE_DIR" ]]; then
        runuser -u postgres -- "$PREFIX/bin/pg_ctl" -D "$SMOKE_DIR/data" -m immediate stop >/dev/null 2>&1 3>&- 9>&- || true
        rm -rf "$SMOKE_DIR"
    fi
    if ((rc == 0)); then
        rm -rf "$BUILD"
    else
        log "failed (exit $rc); build tree kept in $BUILD, $PREFIX has no marker and will be rebuilt"
    fi
}
trap cleanup EXIT

# Record the system PostgreSQL's module directory, to prove below that we did not write there.
SYSTEM_LIB="/usr/lib/postgresql/$MAJOR/lib"
system_lib_state() { [[ -d "$SYSTEM_LIB" ]] && find "$SYSTEM_LIB" -printf '%p %s %T@\n' | sort | sha256sum || echo none; }
SYSTEM_BEFORE="$(system_lib_state)"

# dpkg-source warns that it cannot verify the .dsc's signature (the uploader's key is not in
# any installed keyring): harmless, apt already checked the files against the signed index.
# --skip-patches: one of Debian's patches hard-codes the module directory to the system's
# /usr/lib/postgresql/<major>/lib, so "make install" of a patched tree would overwrite the
# installed PostgreSQL's modules. Upstream source is what Spock's patches are made against.
log "extracting $(basename "$DSC") without Debian's patches"
dpkg-source -x --skip-patches "$DSC" "$BUILD/postgresql" >&2

if [[ -d "$SPOCK_SRC" ]]; then
    mkdir "$BUILD/spock"
    tar -C "$SPOCK_SRC" --exclude=./.git -cf - . | tar -C "$BUILD/spock" -xf -
else
    mkdir "$BUILD/spock"
    tar -C "$BUILD/spock" --strip-components=1 -xzf "$SPOCK_SRC"
fi

PATCHES=("$BUILD/spock/patches/$MAJOR"/*)
[[ -e "${PATCHES[0]}" ]] || die "Spock $SPOCK_VERSION has no patches for PostgreSQL $MAJOR (patches/$MAJOR)"
for p in "${PATCHES[@]}"; do   # glob order under LC_ALL=C is file-name order
    log "applying $(basename "$p")"
    patch -d "$BUILD/postgresql" -p1 --batch --forward <"$p" >&2 \
        || die "$(basename "$p") does not apply to $PG_SOURCE_PACKAGE $PG_VERSION"
done

# nice -n 19: this 2-core machine also runs test suites; a build must not starve them.
NICE=(nice -n 19)
log "configuring PostgreSQL: --prefix=$PREFIX ${CONFIGURE_OPTS[*]}"
(cd "$BUILD/postgresql" && "${NICE[@]}" ./configure --prefix="$PREFIX" "${CONFIGURE_OPTS[@]}" >"$BUILD/configure.log" 2>&1) \
    || { tail -n 30 "$BUILD/configure.log" >&2; die "configure failed (see $BUILD/configure.log)"; }

log "compiling PostgreSQL and contrib"
"${NICE[@]}" make -C "$BUILD/postgresql" -j2 -s >&2
# All of contrib is cheap next to the server, and staz's tests may use any of it
# (pg_walinspect, pg_stat_statements, amcheck, ...).
"${NICE[@]}" make -C "$BUILD/postgresql/contrib" -j2 -s >&2

# Clear what a failed or older build left, so the prefix holds exactly this build.
rm -rf "$PREFIX"
log "installing PostgreSQL into $PREFIX"
make -C "$BUILD/postgresql" -s install >&2
make -C "$BUILD/postgresql/contrib" -s install >&2

PKGLIBDIR="$("$PREFIX/bin/pg_config" --pkglibdir)"
[[ "$PKGLIBDIR" == "$PREFIX"/* ]] || die "pg_config --pkglibdir is $PKGLIBDIR, outside $PREFIX"

log "compiling Spock $SPOCK_VERSION with PGXS"
# Spock's Makefile (and spockctrl's) call pg_config from PATH unless PG_CONFIG is given: set both.
(
    export PATH="$PREFIX/bin:$PATH"
    export PG_CONFIG="$PREFIX/bin/pg_config"
    cd "$BUILD/spock"
    "${NICE[@]}" make -j2 -s >&2
    make -s install >&2
)
T_BUILT=$SECONDS

# --- Verify -------------------------------------------------------------------------------------
[[ -f "$PKGLIBDIR/spock.so" ]] || die "spock.so not installed in $PKGLIBDIR"
[[ -f "$PKGLIBDIR/pg_walinspect.so" ]] || die "pg_walinspect.so not installed in $PKGLIBDIR"
[[ -x "$PREFIX/bin/pg_rewind" ]] || die "pg_rewind not installed in $PREFIX/bin"
[[ "$(system_lib_state)" == "$SYSTEM_BEFORE" ]] || die "$SYSTEM_LIB changed during the install: check the system PostgreSQL (apt-get install --reinstall postgresql-$MAJOR)"

if [[ "${SPOCK_SMOKE:-1}" != 0 ]]; then
    log "smoke test: initdb, start with shared_preload_libraries=spock, CREATE EXTENSION spock"
    SMOKE_DIR="$(mktemp -d /tmp/staz-spock-smoke.XXXXXX)"
    chown postgres: "$SMOKE_DIR"
    # The postmaster must not inherit our stdout (a caller's $(...) would wait for it) or the lock.
    as_pg() { runuser -u postgres -- "$@" 3>&- 9>&-; }
    as_pg "$PREFIX/bin/initdb" -D "$SMOKE_DIR/data" -A trust -U postgres >"$SMOKE_DIR/initdb.log" 2>&1 \
        || { cat "$SMOKE_DIR/initdb.log" >&2; die "initdb failed"; }
    # Unix socket only, in the private directory: no TCP port to collide with other clusters.
    as_pg "$PREFIX/bin/pg_ctl" -D "$SMOKE_DIR/data" -l "$SMOKE_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses='' -k $SMOKE_DIR -p 25432 -c shared_preload_libraries=spock -c wal_level=logical -c track_commit_timestamp=on" \
        start >&2 || { cat "$SMOKE_DIR/server.log" >&2; die "PostgreSQL with Spock preloaded did not start"; }
    SMOKE_VERSION="$(as_pg "$PREFIX/bin/psql" -h "$SMOKE_DIR" -p 25432 -U postgres -d postgres -X -qAt -v ON_ERROR_STOP=1 \
        -c 'CREATE EXTENSION spock' -c 'SELECT spock.spock_version()')" \
        || { cat "$SMOKE_DIR/server.log" >&2; die "CREATE EXTENSION spock failed"; }
    [[ "$SMOKE_VERSION" == "$SPOCK_VERSION" ]] || die "spock.spock_version() is '$SMOKE_VERSION', expected $SPOCK_VERSION"
    as_pg "$PREFIX/bin/pg_ctl" -D "$SMOKE_DIR/data" -m fast -w stop >&2
    rm -rf "$SMOKE_DIR"
    SMOKE_DIR=""
    log "smoke test passed (spock_version $SMOKE_VERSION)"
fi

# Written last: a prefix without it (an interrupted or failed run) is rebuilt from scratch.
marker_content "$PG_VERSION" >"$MARKER"
log "done: downloads $((T_DOWNLOADED - T_START)) s, build and install $((T_BUILT - T_DOWNLOADED)) s, total $((SECONDS - T_START)) s"
echo "$PREFIX" >&3
