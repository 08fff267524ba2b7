#!/usr/bin/env bash
# Builds the Debian package dist/staz_<version>_amd64.deb: staz, stazctl and staz-fence-guard
# (the small process that fences PostgreSQL while staz leads; see FenceGuardCommandLine), the systemd
# template unit staz@.service, shell completions, man pages, the Prometheus alert rules and
# an (empty) /etc/staz for the member configurations. See "Install as a service" in README.md.
#
#   scripts/package.sh                          release build (static Swift runtime), then package
#   STAZ_BUILD=debug scripts/package.sh         debug build (needs the toolchain's libraries)
#   STAZ_BIN_DIR=.build/debug scripts/package.sh   package these binaries, build nothing
#
# Environment:
#   STAZ_BUILD            release (default) or debug
#   STAZ_BIN_DIR          directory holding already built staz, stazctl and staz-fence-guard (no build)
#   STAZ_DEB_DIR          output directory (default: dist/ in the repository)
#   STAZ_DEB_COMPRESSION  dpkg-deb compressor: xz (default), gzip, zstd or none
#   STAZ_MAINTAINER       Maintainer field (default: the author of the checked-out commit)
#   STAZ_GENERATE_MANUAL  swift-argument-parser's generate-manual tool; by default it is built
#                         once from .build/checkouts/swift-argument-parser (about 30 s)
#   STAZ_MAN=0            package without man pages (--help only)
# Prints the path of the package on its last line.
# Measured on 2 busy cores: the release build about 30 min from scratch, xz about 5 min; the
# release .deb is 46 MB (staz 114 MB and stazctl 97 MB installed, most of it the static Swift
# runtime with Foundation's ICU data).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$PATH:/opt/swift/usr/bin"

BUILD="${STAZ_BUILD:-release}"
BIN_DIR="${STAZ_BIN_DIR:-}"
OUT_DIR="${STAZ_DEB_DIR:-$REPO/dist}"
COMPRESSION="${STAZ_DEB_COMPRESSION:-xz}"

log() { echo "[package] $*" >&2; }
die() { echo "[package] error: $*" >&2; exit 1; }

[[ "$BUILD" == release || "$BUILD" == debug ]] || die "STAZ_BUILD must be release or debug, not '$BUILD'"
for tool in dpkg-deb dpkg-shlibdeps objcopy; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install dpkg-dev binutils)"
done

# ---- binaries --------------------------------------------------------------------------
if [[ -z "$BIN_DIR" ]]; then
    build_flags=(-c "$BUILD")
    # A release package must run on a machine without the Swift toolchain: link the Swift
    # runtime and Foundation statically, leaving only Debian's libc/libstdc++/zlib to Depends.
    # The debug build keeps the shared runtime so it reuses the tests' build products.
    [[ "$BUILD" == release ]] && build_flags+=(--static-swift-stdlib)
    log "swift build ${build_flags[*]} (staz, stazctl, staz-fence-guard)"
    (cd "$REPO" && for product in staz stazctl staz-fence-guard; do swift build "${build_flags[@]}" --product "$product" || exit; done) >&2
    BIN_DIR="$(cd "$REPO" && swift build "${build_flags[@]}" --show-bin-path)"
fi
BIN_DIR="$(cd "$BIN_DIR" && pwd)"
for binary in staz stazctl staz-fence-guard; do
    [[ -x "$BIN_DIR/$binary" ]] || die "$BIN_DIR/$binary is missing or not executable"
done

# The version is the shipped binary's own (`staz --version`: "staz 0.1.0 (Patroni ...)"), so a
# package can never claim a version its binary does not report (compared with the source's).
VERSION="$("$BIN_DIR/staz" --version | awk '{print $2}')"
[[ "$VERSION" =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || die "cannot read a version from '$BIN_DIR/staz --version'"
SOURCE_VERSION="$(sed -n 's/.*static let staz = "\(.*\)".*/\1/p' "$REPO/Sources/StazCore/Names.swift")"
if [[ -n "$SOURCE_VERSION" && "$SOURCE_VERSION" != "$VERSION" ]]; then
    log "warning: staz --version says $VERSION but Sources/StazCore/Names.swift says $SOURCE_VERSION"
fi
MAINTAINER="${STAZ_MAINTAINER:-$(git -C "$REPO" log -1 --format='%an <%ae>' 2>/dev/null || true)}"
[[ -n "$MAINTAINER" ]] || die "set STAZ_MAINTAINER (no git history to take it from)"
# Dates inside the package (man pages, file times) come from the commit, not the clock, so the
# same commit packages to the same files.
EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || date +%s)}"
export SOURCE_DATE_EPOCH="$EPOCH"

WORK="$(mktemp -d /tmp/staz-package.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/staz_${VERSION}_amd64"
install -d -m 0755 "$ROOT/DEBIAN" "$ROOT/usr/bin" "$ROOT/lib/systemd/system" "$ROOT/etc/staz" \
    "$ROOT/usr/share/staz/prometheus" "$ROOT/usr/share/man/man1" \
    "$ROOT/usr/share/bash-completion/completions" "$ROOT/usr/share/zsh/vendor-completions" \
    "$ROOT/usr/share/fish/vendor_completions.d" "$ROOT/usr/share/doc/staz"

# Debug info is most of a Swift binary; the symbol table stays, so crash backtraces still name
# the functions.
for binary in staz stazctl staz-fence-guard; do
    install -m 0755 "$BIN_DIR/$binary" "$ROOT/usr/bin/$binary"
    objcopy --strip-debug "$ROOT/usr/bin/$binary"
done

# ---- shared library dependencies ---------------------------------------------------------
# dpkg-shlibdeps maps each library the binaries link against to its Debian package and the
# minimum version of the symbols they use. Libraries no package owns (the toolchain's own
# /opt/swift libraries of a debug build) cannot be depended on: they are listed and the
# package then only runs where that toolchain is installed at the same path.
unpackaged=()
while read -r library; do
    [[ -n "$library" ]] || continue
    # With merged /usr a library is registered under /lib or /usr/lib, and maybe by its real name.
    owned=0
    for path in "$library" "/usr$library" "$(readlink -f "$library")"; do
        dpkg -S "$path" >/dev/null 2>&1 && owned=1 && break
    done
    ((owned)) || unpackaged+=("$library")
done < <(ldd "$ROOT/usr/bin/staz" "$ROOT/usr/bin/stazctl" "$ROOT/usr/bin/staz-fence-guard" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u)
if ((${#unpackaged[@]} > 0)); then
    log "warning: linked against libraries no Debian package provides (this package then needs"
    log "         them at the same path; build with STAZ_BUILD=release for a self-contained one):"
    printf '[package]   %s\n' "${unpackaged[@]}" >&2
fi
mkdir -p "$WORK/shlibs/debian"
printf 'Source: staz\n\nPackage: staz\nArchitecture: amd64\n' >"$WORK/shlibs/debian/control"
# (Its warnings about the unpackaged libraries and unused links are the list above.)
DEPENDS="$(cd "$WORK/shlibs" && dpkg-shlibdeps -O --ignore-missing-info \
    "$ROOT/usr/bin/staz" "$ROOT/usr/bin/stazctl" "$ROOT/usr/bin/staz-fence-guard" 2>"$WORK/shlibdeps.log" | sed -n 's/^shlibs:Depends=//p')"
[[ -n "$DEPENDS" ]] || { cat "$WORK/shlibdeps.log" >&2; die "dpkg-shlibdeps found no dependencies"; }

# ---- files -------------------------------------------------------------------------------
install -m 0644 "$REPO/packaging/systemd/staz@.service" "$ROOT/lib/systemd/system/staz@.service"
install -m 0644 "$REPO/packaging/prometheus/staz-alerts.yml" "$ROOT/usr/share/staz/prometheus/staz-alerts.yml"
install -m 0755 "$REPO/packaging/make-patronictl-link" "$ROOT/usr/share/staz/make-patronictl-link"
# The example member configuration is not put in /etc/staz: every file there is a unit
# instance (staz@NAME), and an example's made-up addresses and passwords must not be one.
install -m 0644 "$REPO/packaging/staz.yml.example" "$ROOT/usr/share/staz/staz.yml.example"
install -m 0644 "$REPO/packaging/README.Debian" "$ROOT/usr/share/doc/staz/README.Debian"
# staz runs as postgres and reads /etc/staz/NAME.yml: the directory stays world-searchable and
# each file, which holds passwords, is 0640 root:postgres (README.Debian).
chmod 0755 "$ROOT/etc/staz"

# Completions come from swift-argument-parser itself, so they always match the binaries.
for binary in staz stazctl; do
    "$ROOT/usr/bin/$binary" --generate-completion-script bash >"$ROOT/usr/share/bash-completion/completions/$binary"
    "$ROOT/usr/bin/$binary" --generate-completion-script zsh >"$ROOT/usr/share/zsh/vendor-completions/_$binary"
    "$ROOT/usr/bin/$binary" --generate-completion-script fish >"$ROOT/usr/share/fish/vendor_completions.d/$binary.fish"
done

# Man pages from the binaries' own help (--experimental-dump-help) by swift-argument-parser's
# generate-manual, the tool behind its GenerateManual plugin. The plugin itself would build
# every product of the package again; the tool alone builds in about 30 s (once: it is kept in
# .build/generate-manual) and reads the binaries we ship.
generate_manual() {
    if [[ -n "${STAZ_GENERATE_MANUAL:-}" ]]; then
        echo "$STAZ_GENERATE_MANUAL"
        return
    fi
    local checkout="$REPO/.build/checkouts/swift-argument-parser" scratch="$REPO/.build/generate-manual"
    [[ -f "$checkout/Package.swift" ]] || return 1
    if [[ ! -x "$scratch/debug/generate-manual" ]]; then
        log "building generate-manual from $checkout"
        swift build --package-path "$checkout" --scratch-path "$scratch" --product generate-manual >&2 || return 1
    fi
    echo "$scratch/debug/generate-manual"
}
if [[ "${STAZ_MAN:-1}" != 0 ]]; then
    tool="$(generate_manual)" || die "no generate-manual (swift build the package first, set STAZ_GENERATE_MANUAL, or STAZ_MAN=0)"
    man_date="$(date -u -d "@$EPOCH" +%Y-%m-%d)"
    mkdir -p "$WORK/man"
    for binary in staz stazctl; do
        "$tool" "$ROOT/usr/bin/$binary" --date "$man_date" --section 1 --output-directory "$WORK/man" >&2
        gzip -9n <"$WORK/man/$binary.1" >"$ROOT/usr/share/man/man1/$binary.1.gz"
    done
else
    rmdir "$ROOT/usr/share/man/man1" "$ROOT/usr/share/man"
fi

# ---- control ------------------------------------------------------------------------------
INSTALLED_SIZE="$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)"
cat >"$ROOT/DEBIAN/control" <<EOF
Package: staz
Version: $VERSION
Architecture: amd64
Maintainer: $MAINTAINER
Installed-Size: $INSTALLED_SIZE
Depends: $DEPENDS
Recommends: postgresql (>= 15) | postgresql-15
Suggests: etcd-server, haproxy, prometheus
Section: database
Priority: optional
Description: PostgreSQL high-availability manager, Patroni compatible
 staz runs beside each PostgreSQL server of a cluster and, through etcd,
 bootstraps the cluster, clones replicas, holds the leader lock, fails over
 and rejoins old primaries with pg_rewind. It reads Patroni's YAML, writes
 Patroni's etcd keys and serves Patroni's REST API; stazctl is a patronictl
 compatible command line client.
 .
 Members run as systemd units staz@NAME with /etc/staz/NAME.yml; alert rules
 for Prometheus are in /usr/share/staz/prometheus.
EOF

# Every file owned by root (--root-owner-group), times from the commit.
find "$ROOT" -exec touch --no-dereference --date="@$EPOCH" {} +
mkdir -p "$OUT_DIR"
DEB="$OUT_DIR/staz_${VERSION}_amd64.deb"
log "dpkg-deb --build ($COMPRESSION)"
dpkg-deb --build --root-owner-group -Z"$COMPRESSION" "$ROOT" "$DEB" >&2
log "built $DEB ($(du -h "$DEB" | cut -f1))"
echo "$DEB"
