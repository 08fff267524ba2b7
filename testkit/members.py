"""One cluster member: its generated config (Patroni sample style) and the control of its
daemon process and of its postmaster."""

import os
import pwd
import signal
import subprocess
import time

from .support import PG_BIN, SUPERUSER_PASSWORD, freeze_process, http_request, pid_alive, signal_pid, to_yaml


def etcd_section(dcs, port):
    """The DCS section of a member config: `etcd3:` (v3 API) or `etcd:` (v2 API)."""
    return {dcs: {"host": f"127.0.0.1:{port}"}}


def deep_merge(base, overrides):
    """`overrides` merged into a copy of `base`, recursively for mappings (None deletes)."""
    merged = dict(base)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class Member:
    def __init__(self, cluster, name, pg_port, api_port, tags, daemon=None, overrides=None):
        self.cluster = cluster
        self.name = name
        self.pg_port = pg_port
        self.api_port = api_port
        self.tags = tags
        # Mixed clusters (rolling migration): this member's daemon instead of the profile's.
        self.daemon = daemon or cluster.profile.daemon
        # Extra config (e.g. restapi TLS/authentication, a ctl section), deep-merged.
        self.overrides = overrides or {}
        self.data_dir = cluster.path("data", name)
        self.config_path = cluster.path(f"{name}.yml")
        self.log_path = cluster.path(f"{name}.log")
        self.pg_log_path = cluster.path("pglog", f"{name}-postgresql.log")
        self.process = None

    # ---- configuration -------------------------------------------------------------
    @property
    def api_scheme(self):
        return "https" if self.overrides.get("restapi", {}).get("certfile") else "http"

    @property
    def api_cafile(self):
        return self.overrides.get("restapi", {}).get("cafile")

    @property
    def api_auth(self):
        """(username, password) of restapi.authentication, or None."""
        auth = self.overrides.get("restapi", {}).get("authentication")
        return (auth["username"], auth["password"]) if auth else None

    def config(self):
        return deep_merge(self.base_config(), self.overrides)

    def base_config(self):
        profile = self.cluster.profile
        return {
            "scope": self.cluster.scope,
            "namespace": "/service/",
            "name": self.name,
            "restapi": {"listen": f"127.0.0.1:{self.api_port}",
                        "connect_address": f"127.0.0.1:{self.api_port}"},
            **self.cluster.dcs_section(),
            "bootstrap": {
                "dcs": {
                    "ttl": profile.ttl,
                    "loop_wait": profile.loop_wait,
                    "retry_timeout": profile.retry_timeout,
                    "maximum_lag_on_failover": 1048576,
                    "postgresql": {
                        "use_pg_rewind": True,
                        "use_slots": True,
                        "pg_hba": ["host replication replicator 127.0.0.1/32 md5",
                                   "host all all 127.0.0.1/32 md5"],
                        "parameters": {"wal_log_hints": "on", "max_wal_senders": 10,
                                       "max_replication_slots": 10},
                    },
                },
                "initdb": [{"encoding": "UTF8"}, "data-checksums"],
            },
            "postgresql": {
                "listen": f"127.0.0.1:{self.pg_port}",
                "connect_address": f"127.0.0.1:{self.pg_port}",
                "data_dir": self.data_dir,
                "bin_dir": PG_BIN,
                "pgpass": self.cluster.path(f"pgpass-{self.name}"),
                "authentication": {
                    "replication": {"username": "replicator", "password": "rep-pass"},
                    "superuser": {"username": "postgres", "password": SUPERUSER_PASSWORD},
                    "rewind": {"username": "rewind_user", "password": "rewind_password"},
                },
                "parameters": {
                    "unix_socket_directories": self.cluster.dir,
                    # A log file outside the data dir survives pg_rewind/basebackup and is
                    # printed when a test fails.
                    "logging_collector": "on",
                    "log_directory": self.cluster.path("pglog"),
                    "log_filename": f"{self.name}-postgresql.log",
                    "log_line_prefix": "%m [%p] ",
                },
            },
            "tags": self.tags,
        }

    def write_config(self, text=None):
        os.makedirs(self.cluster.path("data"), exist_ok=True)
        os.makedirs(self.cluster.path("pglog"), exist_ok=True)
        with open(self.config_path, "w") as handle:
            handle.write(text if text is not None else to_yaml(self.config()) + "\n")
        postgres = pwd.getpwnam("postgres")
        for path in (self.cluster.path("data"), self.cluster.path("pglog"), self.config_path):
            os.chown(path, postgres.pw_uid, postgres.pw_gid)

    # ---- daemon --------------------------------------------------------------------
    def start(self):
        """Starts the HA daemon as the postgres OS user (setuid in the child, so the pid
        we hold is the daemon itself, not a runuser wrapper)."""
        assert self.process is None or self.process.poll() is not None, "already running"
        postgres = pwd.getpwnam("postgres")
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": self.cluster.dir,
               "USER": "postgres", "LOGNAME": "postgres", "LANG": "C.UTF-8",
               "PYTHONUNBUFFERED": "1", **self.cluster.daemon_env}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [self.daemon, self.config_path], cwd=self.cluster.dir, env=env,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                user=postgres.pw_uid, group=postgres.pw_gid, extra_groups=[],
                start_new_session=True)
        self.cluster.note(f"started daemon {self.name} (pid {self.process.pid}, "
                          f"{os.path.basename(self.daemon)})")

    @property
    def daemon_pid(self):
        return self.process.pid if self.process and self.process.poll() is None else None

    def kill_daemon(self, sig=signal.SIGKILL, quiet=False):
        """Signals the daemon (SIGKILL: its whole process group, which holds children such
        as pg_basebackup but not the postmaster). Does not wait: see wait_daemon_exit."""
        if not self.daemon_pid:
            return
        pid = self.process.pid
        try:
            if sig == signal.SIGKILL:
                os.killpg(pid, sig)
            elif sig == signal.SIGSTOP:
                freeze_process(pid)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            pass
        if not quiet:
            self.cluster.note(f"sent {signal.Signals(sig).name} to daemon {self.name} ({pid})")

    def crash(self):
        """kill -9 of the daemon and its postmaster together (node loss)."""
        self.kill_daemon(signal.SIGKILL)
        self.kill_postmaster(signal.SIGKILL)
        self.wait_daemon_exit(10)

    def wait_daemon_exit(self, timeout):
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    # ---- PostgreSQL ----------------------------------------------------------------
    def postmaster_pid(self):
        try:
            with open(os.path.join(self.data_dir, "postmaster.pid")) as handle:
                pid = int(handle.readline().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def kill_postmaster(self, sig=signal.SIGKILL):
        pid = self.postmaster_pid()
        if pid:
            signal_pid(pid, sig)
            self.cluster.note(f"sent {signal.Signals(sig).name} to postmaster {self.name} ({pid})")
        return pid

    def stop_postgres_hard(self):
        """Immediate shutdown (SIGQUIT), then SIGKILL: cleanup only."""
        pid = self.postmaster_pid()
        if not pid:
            return
        signal_pid(pid, signal.SIGQUIT)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.1)
        signal_pid(pid, signal.SIGKILL)

    # ---- observations --------------------------------------------------------------
    def rest(self, path, method="GET", body=None, timeout=3.0, authenticated=True):
        """A REST call with this member's scheme, CA and (unless authenticated=False) the
        basic-auth credentials of its config."""
        return http_request(self.api_port, path, method, body, timeout=timeout,
                            scheme=self.api_scheme, cafile=self.api_cafile,
                            auth=self.api_auth if authenticated else None)

    def status(self):
        """GET /patroni body, or {} when the API does not answer."""
        code, body = self.rest("/patroni")
        return body if code == 200 and isinstance(body, dict) else {}

    def log_text(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return ""
