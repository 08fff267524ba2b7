#!/usr/bin/env bash
# The Debian package, end to end (root; 20-30 s, plus about 30 s the first time, when
# package.sh builds swift-argument-parser's generate-manual): scripts/package.sh packages
# prebuilt binaries (STAZ_BIN_DIR, default .build/debug: no release build needed), then
#   1. dpkg-deb --info/--contents: control fields, every file in place, all owned by root
#   2. dpkg --root installs it into an empty root (no maintainer scripts may be needed) and
#      --purge removes every file again (at the end)
#   3. the installed staz --version, stazctl --help, man pages and completion scripts work
#   4. systemd-analyze verify accepts the unit (in that root, with the host's targets copied)
#   5. the unit's ExecStart line, run as its User/Group from its WorkingDirectory with the
#      packaged example configuration (ports and paths changed), bootstraps a primary against
#      a local etcd and PostgreSQL 15; the installed stazctl lists it as the running leader;
#      ExecReload's SIGHUP reloads it; every metric name the alert rules use is in its
#      /metrics (or, for the mesh, in the source); SIGTERM (what systemctl stop sends,
#      KillMode=process) stops PostgreSQL, the fencing guard and staz cleanly
#   6. promtool check rules / test rules on the installed alert rules
# Ports 25100-25199. Everything it starts is stopped and its temp dir removed on any exit.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN_DIR="${STAZ_BIN_DIR:-$REPO/.build/debug}"
PG_BIN=/usr/lib/postgresql/15/bin
ETCD_PORT=25179 ETCD_PEER_PORT=25180 PG_PORT=25132 REST_PORT=25108
INSTANCE=pkgtest

PASSED=0
pass() { PASSED=$((PASSED + 1)); echo "ok      $*"; }
fail() {
    echo "FAILED  $*" >&2
    [[ -f "${WORK:-}/staz.log" ]] && { echo "---- staz log (tail) ----" >&2; tail -n 40 "$WORK/staz.log" >&2; }
    echo "$PASSED passed, 1 failed"
    exit 1
}

[[ $(id -u) -eq 0 ]] || { echo "test_package.sh must run as root (dpkg --root, runuser)" >&2; exit 1; }
for tool in dpkg-deb dpkg systemd-analyze promtool etcd runuser curl python3 "$PG_BIN/postgres"; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-deps.sh)"
done
for port in $ETCD_PORT $ETCD_PEER_PORT $PG_PORT $REST_PORT; do
    if ss -Htln "sport = :$port" | grep -q .; then fail "port $port is already in use"; fi
done

STARTED=$SECONDS
WORK="$(mktemp -d /tmp/staz-pkgtest.XXXXXX)"
ETCD_PID="" STAZ_PID="" RUNUSER_PID=""
cleanup() {
    # Best effort to the end: a process that is already gone must not stop the cleanup.
    set +e
    local pid
    [[ -n "$STAZ_PID" ]] && kill -KILL "$STAZ_PID" 2>/dev/null
    [[ -n "$RUNUSER_PID" ]] && kill -KILL "$RUNUSER_PID" 2>/dev/null
    # Whatever is left of the member (the postmaster and its children, the fencing guard)
    # mentions our unique temp dir on its command line or is the postmaster of our data dir.
    if [[ -f "$WORK/lib/staz/$INSTANCE/postmaster.pid" ]]; then
        pid="$(head -n 1 "$WORK/lib/staz/$INSTANCE/postmaster.pid")"
        kill -QUIT "$pid" 2>/dev/null && sleep 1
        kill -KILL "$pid" 2>/dev/null
    fi
    # (ps writes the list first: no process of this loop has the path in its arguments.)
    ps -eo pid=,args= >"$WORK/ps" 2>/dev/null || true
    while read -r pid args; do
        [[ "$args" == *"$WORK"* ]] && kill -KILL "$pid" 2>/dev/null
    done <"$WORK/ps"
    [[ -n "$ETCD_PID" ]] && kill -TERM "$ETCD_PID" 2>/dev/null
    wait 2>/dev/null  # reap our background jobs (etcd, runuser) before removing their files
    rm -rf "$WORK"
    return 0
}
trap cleanup EXIT

# ---- build ------------------------------------------------------------------------------
# No compression: the debug binaries are ~150 MB and xz would take minutes; what is checked
# is the package's contents, not its compressor.
DEB="$(STAZ_BIN_DIR="$BIN_DIR" STAZ_DEB_DIR="$WORK/dist" STAZ_DEB_COMPRESSION=none \
    bash "$REPO/scripts/package.sh" 2>"$WORK/package.log" | tail -n 1)" || { cat "$WORK/package.log" >&2; fail "scripts/package.sh"; }
VERSION="$("$BIN_DIR/staz" --version | awk '{print $2}')"
[[ "$(basename "$DEB")" == "staz_${VERSION}_amd64.deb" ]] || fail "package name $(basename "$DEB"), expected staz_${VERSION}_amd64.deb"
pass "scripts/package.sh built $(basename "$DEB") in $((SECONDS - STARTED)) s"

# ---- 1. metadata and contents -------------------------------------------------------------
field() { dpkg-deb --field "$DEB" "$1"; }
[[ "$(field Package)" == staz ]] || fail "Package: $(field Package)"
[[ "$(field Version)" == "$VERSION" ]] || fail "Version: $(field Version), binary says $VERSION"
[[ "$(field Architecture)" == amd64 ]] || fail "Architecture: $(field Architecture)"
[[ -n "$(field Maintainer)" && -n "$(field Description)" ]] || fail "Maintainer or Description missing"
[[ "$(field Depends)" == *"libc6 (>= "* ]] || fail "Depends has no versioned libc6: $(field Depends)"
[[ "$(field Recommends)" == *postgresql* ]] || fail "Recommends: $(field Recommends)"
[[ "$(field Suggests)" == *etcd-server* && "$(field Suggests)" == *haproxy* ]] || fail "Suggests: $(field Suggests)"
dpkg-deb --info "$DEB" >/dev/null || fail "dpkg-deb --info"
pass "control: $(field Package) $(field Version) $(field Architecture), Depends: $(field Depends)"

dpkg-deb --contents "$DEB" >"$WORK/contents"
expected=(
    ./usr/bin/staz ./usr/bin/stazctl ./usr/bin/staz-fence-guard ./lib/systemd/system/staz@.service ./etc/staz/
    ./usr/share/staz/prometheus/staz-alerts.yml ./usr/share/staz/make-patronictl-link
    ./usr/share/staz/staz.yml.example ./usr/share/doc/staz/README.Debian
    ./usr/share/man/man1/staz.1.gz ./usr/share/man/man1/stazctl.1.gz
    ./usr/share/bash-completion/completions/staz ./usr/share/bash-completion/completions/stazctl
    ./usr/share/zsh/vendor-completions/_staz ./usr/share/zsh/vendor-completions/_stazctl
    ./usr/share/fish/vendor_completions.d/staz.fish ./usr/share/fish/vendor_completions.d/stazctl.fish
)
for path in "${expected[@]}"; do
    awk '{print $6}' "$WORK/contents" | grep -qxF "$path" || fail "$path is not in the package"
done
# Only what we list (and the directories above it), so nothing lands in the package by accident.
extra="$(awk '$1 !~ /^d/ {print $6}' "$WORK/contents" | grep -vxF -f <(printf '%s\n' "${expected[@]}") || true)"
[[ -z "$extra" ]] || fail "unexpected files in the package: $extra"
awk '{print $2}' "$WORK/contents" | grep -vqx root/root && fail "files not owned by root/root"
# The patronictl link is documented, never installed.
awk '{print $6}' "$WORK/contents" | grep -q "/patronictl$" && fail "the package installs a patronictl"
pass "contents: ${#expected[@]} files, all root/root, no patronictl"

# ---- 2. install into an empty root --------------------------------------------------------
ROOT="$WORK/root"
mkdir -p "$ROOT/usr/bin" "$ROOT/usr/lib" "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates"
ln -s usr/bin "$ROOT/bin" && ln -s usr/lib "$ROOT/lib"  # merged /usr, as on Debian 12
touch "$ROOT/var/lib/dpkg/status"
# The root has none of the Depends (libc6 ...): those are checked above, not installed here.
dpkg --root="$ROOT" --log=/dev/null --force-depends --force-script-chrootless -i "$DEB" >"$WORK/dpkg.log" 2>&1 \
    || { cat "$WORK/dpkg.log" >&2; fail "dpkg --root -i"; }
[[ "$(dpkg --root="$ROOT" -s staz | sed -n 's/^Status: //p')" == "install ok installed" ]] || fail "dpkg -s staz in the root"
[[ -x "$ROOT/usr/bin/staz" && -f "$ROOT/lib/systemd/system/staz@.service" && -d "$ROOT/etc/staz" ]] || fail "installed files"
pass "dpkg --root install into an empty root"

# ---- 3. the installed binaries, man pages, completions ------------------------------------
[[ "$("$ROOT/usr/bin/staz" --version)" == "staz $VERSION "* ]] || fail "installed staz --version: $("$ROOT/usr/bin/staz" --version)"
"$ROOT/usr/bin/stazctl" --help >"$WORK/help" || fail "stazctl --help"
grep -q "list" "$WORK/help" || fail "stazctl --help lists no commands"
"$ROOT/usr/bin/stazctl" version | grep -q "$VERSION" || fail "stazctl version"
for page in staz stazctl; do
    MANWIDTH=80 man -l "$ROOT/usr/share/man/man1/$page.1.gz" 2>/dev/null | grep -q "^NAME" || fail "man page $page.1"
    bash -n "$ROOT/usr/share/bash-completion/completions/$page" || fail "bash completion of $page"
    # Each script must complete this binary (zsh and fish find them by these names).
    [[ "$(head -n 1 "$ROOT/usr/share/zsh/vendor-completions/_$page")" == "#compdef $page" ]] || fail "zsh completion of $page"
    grep -q "^complete -c '$page'" "$ROOT/usr/share/fish/vendor_completions.d/$page.fish" || fail "fish completion of $page"
done
pass "installed staz --version ($VERSION), stazctl --help, man pages, bash/zsh/fish completions"

# The documented patronictl link (made only on request; here in a directory of ours).
helper="$ROOT/usr/share/staz/make-patronictl-link"
PATRONI_CTL_LINK_DIR="$WORK/links" "$helper" >/dev/null 2>&1 || fail "make-patronictl-link"
[[ "$(readlink "$WORK/links/patronictl")" == /usr/bin/stazctl ]] || fail "make-patronictl-link made no link to /usr/bin/stazctl"
PATRONI_CTL_LINK_DIR="$WORK/links" "$helper" --remove >/dev/null || fail "make-patronictl-link --remove"
[[ ! -e "$WORK/links/patronictl" && ! -L "$WORK/links/patronictl" ]] || fail "make-patronictl-link --remove left the link"
touch "$WORK/links/patronictl"  # someone else's patronictl is never replaced
PATRONI_CTL_LINK_DIR="$WORK/links" "$helper" >/dev/null 2>&1 && fail "make-patronictl-link replaced a patronictl it did not make"
pass "make-patronictl-link creates and removes the patronictl link, leaves others alone"

# ---- 4. the unit --------------------------------------------------------------------------
UNIT="$ROOT/lib/systemd/system/staz@.service"
unit_value() { sed -n "s/^$1=//p" "$UNIT"; }
[[ "$(unit_value ExecStart)" == "/usr/bin/staz /etc/staz/%i.yml" ]] || fail "ExecStart=$(unit_value ExecStart)"
[[ "$(unit_value KillMode)" == process && "$(unit_value Restart)" == on-failure ]] || fail "KillMode/Restart"
[[ "$(unit_value User)" == postgres && "$(unit_value Group)" == postgres ]] || fail "User/Group"
[[ "$(unit_value ExecReload)" == '/bin/kill -HUP $MAINPID' ]] || fail "ExecReload=$(unit_value ExecReload)"
# verify resolves dependencies (multi-user.target, network-online.target ...) and executables
# inside --root: give the root the host's targets and kill(1). It prints warnings (unknown
# keys, bad values) without failing, so any output fails the test.
cp /lib/systemd/system/*.target "$ROOT/lib/systemd/system/"
cp /usr/bin/kill "$ROOT/usr/bin/kill"
verify="$(systemd-analyze verify --man=no --root="$ROOT" "staz@$INSTANCE.service" 2>&1)" || fail "systemd-analyze verify: $verify"
[[ -z "$verify" ]] || fail "systemd-analyze verify: $verify"
pass "systemd-analyze verify staz@$INSTANCE.service"

# ---- 5. a member started the way the unit starts it ---------------------------------------
mkdir -p "$WORK/lib" "$WORK/run"
chown postgres:postgres "$WORK/lib" "$WORK/run"
chmod 0755 "$WORK"
etcd --name pkgtest --data-dir "$WORK/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "pkgtest=http://127.0.0.1:$ETCD_PEER_PORT" >"$WORK/etcd.log" 2>&1 &
ETCD_PID=$!
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$ETCD_PORT/health" >/dev/null && break
    sleep 0.2
done
curl -fs "http://127.0.0.1:$ETCD_PORT/health" >/dev/null || fail "etcd did not come up (see $WORK/etcd.log)"

# The packaged example, with this test's ports, paths and names; as README.Debian says:
# 0640 root:postgres in /etc/staz.
CONFIG="$ROOT/etc/staz/$INSTANCE.yml"
sed -e "s/127\.0\.0\.1:8008/127.0.0.1:$REST_PORT/g" -e "s/127\.0\.0\.1:2379/127.0.0.1:$ETCD_PORT/" \
    -e "s/127\.0\.0\.1:5432/127.0.0.1:$PG_PORT/g" -e "s|/var/lib/postgresql/staz|$WORK/lib/staz|g" \
    -e "s|/var/run/postgresql|$WORK/run|" -e "s/^scope: .*/scope: $INSTANCE/" -e "s/^name: .*/name: $INSTANCE/" \
    -e "s|/staz/postgresql0|/staz/$INSTANCE|" -e "s|pgpass-postgresql0|pgpass-$INSTANCE|" \
    "$ROOT/usr/share/staz/staz.yml.example" >"$CONFIG"
chown root:postgres "$CONFIG" && chmod 0640 "$CONFIG"
for value in "$REST_PORT" "$ETCD_PORT" "$PG_PORT" "$WORK/lib/staz/$INSTANCE" "$WORK/run"; do
    grep -qF "$value" "$CONFIG" || fail "the example configuration has no place for $value"
done
"$ROOT/usr/bin/staz" --validate-config "$CONFIG" >"$WORK/validate" 2>&1 || { cat "$WORK/validate" >&2; fail "staz --validate-config"; }

# ExecStart as systemd would run it (%i = instance), its paths inside our root.
read -r -a exec_start <<<"$(unit_value ExecStart | sed "s/%i/$INSTANCE/g")"
exec_start=("${exec_start[@]/#\//$ROOT/}")
home="$(getent passwd "$(unit_value User)" | cut -d: -f6)"
[[ "$(unit_value WorkingDirectory)" == "~" && -d "$home" ]] || fail "WorkingDirectory=~ ($home)"
(cd "$home" && exec runuser -u "$(unit_value User)" -g "$(unit_value Group)" -- "${exec_start[@]}") >"$WORK/staz.log" 2>&1 &
RUNUSER_PID=$!
# runuser forks staz and waits for it (passing its exit status on); staz, its child, is what
# systemd would see as $MAINPID and signal.
for _ in $(seq 50); do
    STAZ_PID="$(ps -o pid= --ppid "$RUNUSER_PID" | tr -d ' ' || true)"
    [[ -n "$STAZ_PID" ]] && break
    sleep 0.1
done
[[ -n "$STAZ_PID" ]] || fail "staz did not start under runuser"
started=$SECONDS
state=""
while ((SECONDS - started < 90)); do
    kill -0 "$STAZ_PID" 2>/dev/null || fail "staz exited"
    state="$(curl -fs "http://127.0.0.1:$REST_PORT/patroni" 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(s.get("state"), s.get("role"))' 2>/dev/null || true)"
    [[ "$state" == "running primary" || "$state" == "running master" ]] && break
    sleep 0.5
done
[[ "$state" == "running primary" || "$state" == "running master" ]] || fail "no running primary after 90 s (GET /patroni: '$state')"
[[ "$(ps -o user= -p "$STAZ_PID")" == postgres ]] || fail "staz does not run as postgres"
pass "ExecStart as postgres bootstrapped a primary in $((SECONDS - started)) s (GET /patroni: $state)"

# The installed stazctl, with the member's configuration, sees it as the running leader.
"$ROOT/usr/bin/stazctl" -c "$CONFIG" list --format json >"$WORK/list" 2>&1 || { cat "$WORK/list" >&2; fail "stazctl list"; }
python3 -c '
import json, sys
members = json.load(open(sys.argv[1]))
assert [(m["Member"], m["Role"], m["State"]) for m in members] == [(sys.argv[2], "Leader", "running")], members' \
    "$WORK/list" "$INSTANCE" || fail "stazctl list: $(cat "$WORK/list")"
pass "installed stazctl list: $INSTANCE is the running leader"

# While it leads, the fencing guard is the installed small executable, not a second staz.
guard_pid=""
for _ in $(seq 50); do
    guard_pid="$(ps -o pid= --ppid "$STAZ_PID" -o args= | awk '$2 ~ /staz-fence-guard$/ {print $1}' | head -n1)"
    [[ -n "$guard_pid" ]] && break
    sleep 0.1
done
[[ -n "$guard_pid" ]] || fail "no staz-fence-guard child of staz while it leads: $(ps -o pid=,args= --ppid "$STAZ_PID")"
[[ "$(readlink "/proc/$guard_pid/exe")" == "$ROOT/usr/bin/staz-fence-guard" ]] \
    || fail "the guard runs $(readlink "/proc/$guard_pid/exe"), not $ROOT/usr/bin/staz-fence-guard"
pass "the fencing guard is $ROOT/usr/bin/staz-fence-guard ($(awk '/VmRSS/ {print $2, $3}' "/proc/$guard_pid/status") resident)"

# ExecReload, with $MAINPID.
reload="$(unit_value ExecReload | sed "s/\$MAINPID/$STAZ_PID/")"
$reload || fail "ExecReload: $reload"
for _ in $(seq 50); do
    grep -q "Reloaded configuration from" "$WORK/staz.log" && break
    sleep 0.2
done
grep -q "Reloaded configuration from" "$WORK/staz.log" || fail "SIGHUP did not reload the configuration"
kill -0 "$STAZ_PID" || fail "staz died on SIGHUP"
pass "ExecReload (SIGHUP) reloaded the configuration"

# Every metric the alert rules use must exist: in this real scrape, or (the mesh's, absent
# without a mesh) among the names the source exports.
curl -fs "http://127.0.0.1:$REST_PORT/metrics" >"$WORK/metrics" || fail "GET /metrics"
# STAZ_PKGTEST_SCRAPE=FILE keeps the scrape (the series of staz-alerts.test.yml come from one).
[[ -n "${STAZ_PKGTEST_SCRAPE:-}" ]] && cp "$WORK/metrics" "$STAZ_PKGTEST_SCRAPE"
promtool check metrics <"$WORK/metrics" >"$WORK/lint" 2>&1 || true  # lint hints only (HELP texts)
RULES="$ROOT/usr/share/staz/prometheus/staz-alerts.yml"
# Names in the expressions, with {__name__=~"a_(b|c)_d"} expanded to a_b_d and a_c_d.
names="$(python3 - "$RULES" <<'PY'
import itertools, re, sys
text = open(sys.argv[1]).read()
exprs = re.findall(r"expr: (?:\|\n((?:      .*\n)+)|(.*))", text)
names = set()
for block, line in exprs:
    expr = re.sub(r"#.*", "", block or line)
    for regex in re.findall(r'__name__=~"([^"]+)"', expr):
        parts = re.split(r"\(([^)]*)\)", regex)  # literal, alternatives, literal, ...
        choices = [p.split("|") if i % 2 else [p] for i, p in enumerate(parts)]
        names.update("".join(c) for c in itertools.product(*choices))
    expr = re.sub(r'\{[^}]*\}', "", expr)
    names.update(re.findall(r"\b(?:patroni|staz)_[a-z_]+\b", expr))
print("\n".join(sorted(names)))
PY
)"
[[ -n "$names" ]] || fail "no metric names in $RULES"
for name in $names; do
    if grep -q "^$name{" "$WORK/metrics"; then continue; fi
    [[ "$name" == staz_mesh_* ]] && grep -rqF "\"$name\"" "$REPO/Sources" && continue
    fail "alert rules use $name, which staz does not export"
done
pass "the alert rules' $(wc -w <<<"$names") metric names are all exported: ${names//$'\n'/ }"

# What systemctl stop does (KillMode=process: SIGTERM to staz alone): staz stops PostgreSQL
# and exits 0 well within TimeoutStopSec.
timeout_stop="$(unit_value TimeoutStopSec)"
postmaster="$(head -n 1 "$WORK/lib/staz/$INSTANCE/postmaster.pid")"
stopped=$SECONDS
kill -TERM "$STAZ_PID"
rc=0
wait "$RUNUSER_PID" || rc=$?
STAZ_PID="" RUNUSER_PID=""
((rc == 0)) || fail "staz exited $rc on SIGTERM"
((SECONDS - stopped < timeout_stop)) || fail "stopping took $((SECONDS - stopped)) s, TimeoutStopSec=$timeout_stop"
# A postmaster that exited cleanly may wait a moment for its parent (PID 1 here) to reap
# it: `kill -0` still finds that zombie, so look at its state.
process_runs() { local state; state="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1; [[ -n "$state" && "$state" != Z* ]]; }
process_runs "$postmaster" && fail "PostgreSQL still runs after staz stopped"
# Nor may the fencing guard outlive it: with KillMode=process systemd would leave it behind.
# (ps alone, not piped into a grep whose own arguments would match.)
guard_runs() { [[ "$(ps -eo args=)" == *"fence-guard $WORK/"* ]]; }
for _ in $(seq 50); do
    guard_runs || break
    sleep 0.1
done
guard_runs && fail "the fencing guard still runs after staz stopped"
pass "SIGTERM: staz stopped PostgreSQL and exited 0 in $((SECONDS - stopped)) s"

# ---- 6. alert rules -----------------------------------------------------------------------
promtool check rules "$RULES" >"$WORK/promtool" 2>&1 || { cat "$WORK/promtool" >&2; fail "promtool check rules"; }
# The unit tests name the rules file relative to themselves: run them next to the installed one.
cp "$REPO/packaging/prometheus/staz-alerts.test.yml" "$ROOT/usr/share/staz/prometheus/"
(cd "$ROOT/usr/share/staz/prometheus" && promtool test rules staz-alerts.test.yml) >"$WORK/promtool" 2>&1 \
    || { cat "$WORK/promtool" >&2; fail "promtool test rules"; }
rm "$ROOT/usr/share/staz/prometheus/staz-alerts.test.yml"
pass "promtool check rules and test rules"

# ---- purge --------------------------------------------------------------------------------
rm -f "$CONFIG"
rm "$ROOT/usr/bin/kill" "$ROOT"/lib/systemd/system/*.target
dpkg --root="$ROOT" --log=/dev/null --force-script-chrootless --purge staz >"$WORK/dpkg.log" 2>&1 \
    || { cat "$WORK/dpkg.log" >&2; fail "dpkg --root --purge"; }
left="$(cd "$ROOT" && find . -path ./var -prune -o ! -type d -print | grep -v -e '^\./bin$' -e '^\./lib$' || true)"
[[ -z "$left" ]] || fail "left after purge: $left"
pass "dpkg --root --purge removed every file"

echo "package test took $((SECONDS - STARTED)) s"
echo "$PASSED passed, 0 failed"
