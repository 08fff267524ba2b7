"""A throw-away cluster of real processes: etcd, N HA daemons (staz or Patroni) running as
the `postgres` OS user with their PostgreSQL 15 instances, and HAProxy in front of them.

Everything lives in one temp dir under /tmp; every process a cluster started is found again
through that unique path, so cleanup is complete even after kill -9 / crashes."""

import atexit
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

from .members import Member, etcd_section
from .support import (NotYet, freeze_process, PortAllocator, PortRanges, http_request, pid_alive,
                      pids_referencing, psql, release_port, tail, terminate, wait_until)

# The test suites' ranges (the benchmarks use their own: bench/benchlib/env.py).
TEST_PORTS = PortRanges(rest=PortAllocator(24008, 24299), etcd=PortAllocator(24379, 24431),
                        pg=PortAllocator(24432, 24799), proxy=PortAllocator(24800, 24999))

_live_clusters = []


@atexit.register
def _cleanup_everything():
    for cluster in list(_live_clusters):
        cluster.cleanup()


class Cluster:
    def __init__(self, profile, scope="itest", dcs="etcd3", port_ranges=TEST_PORTS):
        self.profile = profile
        self.port_ranges = port_ranges
        self.scope = scope
        self.dcs = dcs  # "etcd3" (v3 API) or "etcd" (v2 API)
        self.dir = tempfile.mkdtemp(prefix="staz-it-", dir="/tmp")
        postgres = pwd.getpwnam("postgres")
        os.chown(self.dir, postgres.pw_uid, postgres.pw_gid)
        os.chmod(self.dir, 0o755)
        self.members = {}
        # Extra environment for every daemon started from now on (test-only fault injection).
        self.daemon_env = {}
        self.view_errors = {}
        self.events = []  # (wall clock offset, text): printed when a test fails
        self.started_at = time.monotonic()
        self.etcd_process = None
        self.haproxy_process = None
        self.ports = []  # reserved through self.allocate, released by cleanup
        self.etcd_port = self.haproxy_primary_port = self.haproxy_replica_port = None
        _live_clusters.append(self)

    # ---- bookkeeping ---------------------------------------------------------------
    def note(self, text):
        self.events.append((time.monotonic() - self.started_at, text))
        print(f"[cluster +{self.events[-1][0]:6.1f}s] {text}", flush=True)

    def allocate(self, allocator):
        """A port reserved for this cluster until cleanup."""
        port = allocator.allocate()
        self.ports.append(port)
        return port

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    # ---- etcd ----------------------------------------------------------------------
    def start_etcd(self, client_host="127.0.0.1", name="itest"):
        """A one-member etcd (v3 and v2 APIs) whose clients reach it at `client_host`; it also
        listens on 127.0.0.1, where the test process asks it for its health."""
        self.etcd_port, peer_port = self.allocate(self.port_ranges.etcd), self.allocate(self.port_ranges.etcd)
        client, peer = f"http://{client_host}:{self.etcd_port}", f"http://127.0.0.1:{peer_port}"
        local = f"http://127.0.0.1:{self.etcd_port}"
        self.etcd_command = ["etcd", "--name", name, "--data-dir", self.path("etcd"),
                             "--listen-client-urls", client if client == local else f"{client},{local}",
                             "--advertise-client-urls", client,
                             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                             "--initial-cluster", f"{name}={peer}", "--enable-v2=true",
                             "--heartbeat-interval", "100", "--election-timeout", "1000"]
        self._run_etcd()
        self.note(f"etcd up on {client_host}:{self.etcd_port} (pid {self.etcd_process.pid})")

    def _run_etcd(self):
        with open(self.path("etcd.log"), "ab") as log:
            self.etcd_process = subprocess.Popen(self.etcd_command, stdout=log, stderr=subprocess.STDOUT,
                                                 start_new_session=True)
        wait_until(lambda: http_request(self.etcd_port, "/health")[0] == 200, 20,
                   f"etcd healthy on port {self.etcd_port}")

    def stop_etcd(self):
        """Stops this cluster's etcd (SIGTERM); `restart_etcd` brings it back with its data."""
        terminate(self.etcd_process.pid, grace=5)
        self.etcd_process.wait(timeout=10)
        self.note("etcd stopped")

    def restart_etcd(self):
        self._run_etcd()
        self.note(f"etcd restarted on port {self.etcd_port} (pid {self.etcd_process.pid})")

    def freeze_etcd(self):
        freeze_process(self.etcd_process.pid)
        self.note("etcd frozen (SIGSTOP)")

    def thaw_etcd(self):
        os.kill(self.etcd_process.pid, signal.SIGCONT)
        self.note("etcd resumed (SIGCONT)")

    def etcdctl(self, *args):
        """etcdctl (v3 API) against this cluster's etcd; returns its stdout."""
        return subprocess.run(["etcdctl", f"--endpoints=127.0.0.1:{self.etcd_port}", *args],
                              check=True, capture_output=True, text=True, timeout=10,
                              env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"}).stdout

    def dcs_get(self, key):
        """The raw value of this cluster's DCS `key` (e.g. "config")."""
        return self.etcdctl("get", "--print-value-only", f"/service/{self.scope}/{key}")

    def dcs_put(self, key, value):
        """Writes this cluster's DCS `key` directly, past staz."""
        self.etcdctl("put", f"/service/{self.scope}/{key}", value)

    def dcs_section(self):
        return etcd_section(self.dcs, self.etcd_port)

    # ---- members -------------------------------------------------------------------
    def add_member(self, name, tags=None, start=True, daemon=None, overrides=None):
        """daemon: executable for this member only (default: the profile's); overrides: config
        deep-merged into the generated one (see Member.config)."""
        member = Member(self, name, self.allocate(self.port_ranges.pg), self.allocate(self.port_ranges.rest), tags or {},
                        daemon=daemon, overrides=overrides)
        member.write_config()
        self.members[name] = member
        if start:
            member.start()
        return member

    def member_named(self, name):
        return self.members[name]

    def cluster_view(self, exclude=()):
        """GET /cluster from the first member that answers, or None (the reasons are kept in
        self.view_errors for diagnostics)."""
        self.view_errors = {}
        for member in self.members.values():
            if member.name in exclude:
                continue
            status, body = member.rest("/cluster", timeout=2)
            if status == 200 and isinstance(body, dict):
                return body
            self.view_errors[member.name] = f"{status}: {str(body)[:120]}"
        return None

    def leader_name(self, exclude=()):
        view = self.cluster_view(exclude)
        if not view:
            return None
        leaders = [m["name"] for m in view.get("members", []) if m.get("role") == "leader"]
        return leaders[0] if len(leaders) == 1 else None

    def wait_for_new_leader(self, old_leaders, timeout):
        """Waits until /cluster (asked from members other than old_leaders) names a leader
        that is not one of old_leaders; returns its name."""
        old = set(old_leaders)

        def new_leader():
            name = self.leader_name(exclude=old)
            return name if name and name not in old else None
        name = wait_until(new_leader, timeout, f"a leader other than {sorted(old)}",
                          interval=0.25)
        self.note(f"new leader: {name}")
        return name

    def primaries_by_rest(self):
        """Members whose REST API answers 200 to GET /primary (what HAProxy follows)."""
        return sorted(m.name for m in self.members.values()
                      if m.rest("/primary", timeout=2)[0] == 200)

    def streaming_replicas(self, view=None):
        view = view or self.cluster_view() or {}
        return sorted(m["name"] for m in view.get("members", [])
                      if m.get("role") != "leader" and m.get("state") == "streaming")

    def wait_for_healthy(self, replicas, timeout=None, leader_must_not_be=()):
        """Waits for one leader (running) plus `replicas` streaming replicas; returns leader."""
        def healthy():
            # Raising NotYet puts the reason (roles/states seen) into wait_until's timeline.
            view = self.cluster_view()
            if not view:
                raise NotYet(f"no member answers GET /cluster: {self.view_errors}")
            summary = ", ".join(f"{m.get('name')}={m.get('role')}/{m.get('state')}"
                                for m in view.get("members", []))
            leaders = [m for m in view["members"] if m.get("role") == "leader"]
            if (len(leaders) != 1 or leaders[0].get("state") != "running"
                    or leaders[0]["name"] in leader_must_not_be
                    or len(self.streaming_replicas(view)) < replicas):
                raise NotYet(summary or "no members")
            return leaders[0]["name"]
        leader = wait_until(healthy, timeout or self.profile.bootstrap_timeout,
                            f"1 running leader + {replicas} streaming replicas")
        self.note(f"healthy: leader {leader}, {replicas} streaming")
        return leader

    # ---- ctl -----------------------------------------------------------------------
    def ctl(self, *args, executable=None, member=None, check=True, timeout=120):
        """Runs `<ctl> -c <member config> args...` (the profile's ctl unless `executable`,
        the first member's config unless `member`); returns the CompletedProcess. With check,
        a non-zero exit fails the test with the ctl's output."""
        executable = executable or self.profile.ctl
        config = (member or next(iter(self.members.values()))).config_path
        command = [executable, "-c", config, *args]
        self.note(f"ctl: {os.path.basename(executable)} {' '.join(args)}")
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env=dict(os.environ, LANG="C.UTF-8"))
        output = (done.stdout + done.stderr).strip()
        self.note(f"ctl exit {done.returncode}: {output[-600:]}")
        if check:
            assert done.returncode == 0, (
                f"{' '.join(command)} exited {done.returncode}:\n{output}")
        return done

    # ---- HAProxy -------------------------------------------------------------------
    def start_haproxy(self):
        self.haproxy_primary_port = self.allocate(self.port_ranges.proxy)
        self.haproxy_replica_port = self.allocate(self.port_ranges.proxy)
        servers = "\n".join(
            f"    server {m.name} 127.0.0.1:{m.pg_port} maxconn 100 check port {m.api_port}"
            for m in self.members.values())
        sections = []
        for port, endpoint, name in ((self.haproxy_primary_port, "/primary", "primary"),
                                     (self.haproxy_replica_port, "/replica", "replicas")):
            sections.append(
                f"listen {name}\n    bind 127.0.0.1:{port}\n"
                f"    option httpchk OPTIONS {endpoint}\n    http-check expect status 200\n"
                "    default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions\n"
                f"{servers}\n")
        config = ("global\n    maxconn 200\n\ndefaults\n    mode tcp\n    retries 2\n"
                  "    timeout client 30m\n    timeout connect 4s\n    timeout server 30m\n"
                  "    timeout check 5s\n\n" + "\n".join(sections))
        with open(self.path("haproxy.cfg"), "w") as handle:
            handle.write(config)
        with open(self.path("haproxy.log"), "ab") as log:
            self.haproxy_process = subprocess.Popen(
                ["haproxy", "-db", "-f", self.path("haproxy.cfg")], stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        self.note(f"haproxy primary:{self.haproxy_primary_port} "
                  f"replicas:{self.haproxy_replica_port}")

    def write_through_haproxy(self, sql):
        """Returns (ok, detail) for one statement sent to the primary port."""
        code, out, err = psql(self.haproxy_primary_port, sql, timeout=10)
        return code == 0, (out if code == 0 else err)

    # ---- diagnostics & cleanup -----------------------------------------------------
    def diagnostics(self, lines=60):
        parts = ["==== cluster timeline ===="]
        parts += [f"  +{t:6.1f}s {text}" for t, text in self.events]
        for member in self.members.values():
            parts.append(f"==== {member.name}: daemon log {member.log_path} ====")
            parts.append(tail(member.log_path, lines))
            parts.append(f"==== {member.name}: postgres log {member.pg_log_path} ====")
            parts.append(tail(member.pg_log_path, lines))
        for name in ("etcd.log", "haproxy.log"):
            parts.append(f"==== {name} ====")
            parts.append(tail(self.path(name), 20))
        return "\n".join(parts)

    # What the Swift runtime prints when the process dies of a failed check or a trap.
    CRASH_MARKERS = ("Fatal error:", "Assertion failed:", "Precondition failed:", "*** Program crashed")

    def daemon_crashes(self):
        """One line per member whose daemon log shows a crash: the first crash line (the
        failed check's message when the runtime printed one)."""
        found = []
        for member in self.members.values():
            try:
                with open(member.log_path, errors="replace") as handle:
                    line = next((line for line in handle if any(m in line for m in self.CRASH_MARKERS)), None)
            except OSError:
                continue
            if line:
                found.append(f"{member.name}: {line.strip()}")
        return found

    def keep_logs(self, test_name):
        """Copies every log of this cluster (daemons, PostgreSQL, etcd, HAProxy) to
        $STAZ_IT_FAILED_DIR (default /tmp/staz-it-failed)/TEST/DIR, for a failure the printed
        tails do not explain; the cluster directory itself is removed at cleanup."""
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in test_name)[-120:]
        target = os.path.join(os.environ.get("STAZ_IT_FAILED_DIR", "/tmp/staz-it-failed"), safe,
                              os.path.basename(self.dir))
        os.makedirs(target, exist_ok=True)
        for name in sorted(os.listdir(self.dir)):
            path = os.path.join(self.dir, name)
            if name.endswith(".log") or name.endswith(".yml") or name == "pglog":
                copy = shutil.copytree if os.path.isdir(path) else shutil.copy2
                try:
                    copy(path, os.path.join(target, name))
                except OSError:
                    pass
        self.events.append((time.monotonic() - self.started_at, f"logs kept in {target}"))
        return target

    def cleanup(self):
        if self not in _live_clusters:
            return
        _live_clusters.remove(self)
        if self.etcd_process and pid_alive(self.etcd_process.pid):
            os.kill(self.etcd_process.pid, signal.SIGCONT)
        for member in self.members.values():
            member.kill_daemon(signal.SIGKILL, quiet=True)
        for member in self.members.values():
            member.stop_postgres_hard()
        for process in (self.haproxy_process, self.etcd_process):
            if process and process.poll() is None:
                terminate(process.pid, grace=5)
                process.wait(timeout=10)
        # Anything still mentioning our directory (pg_basebackup, pg_rewind, backends...).
        for _ in range(3):
            stragglers = pids_referencing(self.dir)
            if not stragglers:
                break
            for pid in stragglers:
                terminate(pid, grace=3, sig=signal.SIGKILL)
        if not os.environ.get("STAZ_IT_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        for port in self.ports:
            release_port(port)


class LeaderWatch:
    """Samples the leader (from /cluster of any answering member) in a background thread,
    so a test can assert who did - or never did - hold the lock over a whole period."""

    def __init__(self, cluster, interval=0.25):
        import threading
        self.cluster = cluster
        self.interval = interval
        self.samples = []  # (elapsed, leader name or None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._start = time.monotonic()
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                leader = self.cluster.leader_name()
            except Exception:  # noqa: BLE001 - a failed probe is just "unknown"
                leader = None
            self.samples.append((time.monotonic() - self._start, leader))
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)
        return self

    def leaders_seen(self):
        return {leader for _, leader in self.samples if leader}

    def first_time_led_by(self, name):
        return next((t for t, leader in self.samples if leader == name), None)
