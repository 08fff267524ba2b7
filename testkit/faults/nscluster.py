"""The integration harness's Cluster, with each member (its HA daemon and PostgreSQL) inside
its own network namespace (see netns.py), so one member can be partitioned away. etcd and
HAProxy stay in the root namespace and listen on the bridge address."""

import os
import pwd
import signal
import subprocess

from ..harness import Cluster
from ..members import Member
from .netns import BRIDGE_ADDRESS, Topology
from ..support import http_request, pid_alive, signal_pid

# bootstrap.dcs settings of each replication mode the suite runs.
MODES = {
    "async": {},
    "on": {"synchronous_mode": True},
    "quorum": {"synchronous_mode": "quorum"},
}


class NamespacedMember(Member):
    """A Member whose addresses are its namespace's and whose daemon runs inside it."""

    def __init__(self, cluster, name, pg_port, api_port, tags, daemon=None, overrides=None):
        super().__init__(cluster, name, pg_port, api_port, tags, daemon, overrides)
        self.address = cluster.topology.add(name)
        self.namespace = cluster.topology.namespace_of(name)

    def base_config(self):
        config = super().base_config()
        config["restapi"] = {"listen": f"{self.address}:{self.api_port}",
                             "connect_address": f"{self.address}:{self.api_port}"}
        config["postgresql"]["listen"] = f"{self.address}:{self.pg_port}"
        config["postgresql"]["connect_address"] = f"{self.address}:{self.pg_port}"
        dcs = config["bootstrap"]["dcs"]
        dcs["postgresql"]["pg_hba"] = [
            # The monitor reads every member through its unix socket, which a partition
            # does not cut: samples keep coming from the isolated side too.
            "local all postgres md5",
            "host replication replicator 10.200.0.0/24 md5",
            "host all all 10.200.0.0/24 md5",
            "host all all 127.0.0.1/32 md5"]
        dcs.update(MODES[self.cluster.mode])
        return config

    def start(self):
        """Starts the daemon in the member's namespace as the postgres user; `ip netns exec`
        and `setpriv` both exec, so the pid we hold is the daemon's."""
        assert self.process is None or self.process.poll() is not None, "already running"
        postgres = pwd.getpwnam("postgres")
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": self.cluster.dir,
               "USER": "postgres", "LOGNAME": "postgres", "LANG": "C.UTF-8"}
        command = ["ip", "netns", "exec", self.namespace, "setpriv",
                   f"--reuid={postgres.pw_uid}", f"--regid={postgres.pw_gid}",
                   "--clear-groups", self.daemon, self.config_path]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, cwd=self.cluster.dir, env=env,
                                            stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        self.cluster.note(f"started daemon {self.name} (pid {self.process.pid}) in "
                          f"{self.namespace} at {self.address}")

    def rest(self, path, method="GET", body=None, timeout=3.0, authenticated=True):
        return http_request_to(self.address, self.api_port, path, method, body, timeout)

    def postgres_pids(self):
        """The postmaster and its children (each PostgreSQL child is its own session leader,
        so signalling the postmaster's group would not reach them)."""
        postmaster = self.postmaster_pid()
        if not postmaster:
            return []
        pids = [postmaster]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as handle:
                        if int(handle.read().rsplit(")", 1)[1].split()[1]) == postmaster:
                            pids.append(int(entry))
                except (OSError, ValueError, IndexError):
                    continue
        return pids

    def signal_postgres(self, sig):
        pids = self.postgres_pids()
        for pid in pids:
            signal_pid(pid, sig)
        self.cluster.note(f"sent {signal.Signals(sig).name} to {len(pids)} postgres "
                          f"processes of {self.name}")

    def signal_daemon_only(self, sig):
        """Signals the daemon process alone (not its group: PostgreSQL must survive)."""
        pid = self.daemon_pid
        if pid:
            signal_pid(pid, sig)
            self.cluster.note(f"sent {signal.Signals(sig).name} to daemon {self.name} ({pid})")
        return pid


def http_request_to(address, port, path, method="GET", body=None, timeout=3.0):
    """support.http_request for a member's namespace address."""
    return http_request(port, path, method, body, timeout, host=address)


class NamespacedCluster(Cluster):
    def __init__(self, profile, mode="async", scope="faults"):
        self.mode = mode
        self.topology = Topology()
        super().__init__(profile, scope=scope)

    def add_member(self, name, tags=None, start=True, daemon=None, overrides=None):
        member = NamespacedMember(self, name, self.allocate(self.port_ranges.pg), self.allocate(self.port_ranges.rest),
                                  tags or {}, daemon=daemon, overrides=overrides)
        member.write_config()
        self.members[name] = member
        if start:
            member.start()
        return member

    def start_etcd(self):
        super().start_etcd(client_host=BRIDGE_ADDRESS, name="faults")

    def dcs_section(self):
        return {"etcd3": {"host": f"{BRIDGE_ADDRESS}:{self.etcd_port}"}}

    def start_haproxy(self):
        self.haproxy_primary_port = self.allocate(self.port_ranges.proxy)
        self.haproxy_replica_port = self.allocate(self.port_ranges.proxy)
        servers = "\n".join(
            f"    server {m.name} {m.address}:{m.pg_port} maxconn 100 check port {m.api_port}"
            for m in self.members.values())
        config = ("global\n    maxconn 300\n\ndefaults\n    mode tcp\n    retries 2\n"
                  "    timeout client 30m\n    timeout connect 2s\n    timeout server 30m\n"
                  "    timeout check 2s\n\n"
                  f"listen primary\n    bind 127.0.0.1:{self.haproxy_primary_port}\n"
                  "    option httpchk OPTIONS /primary\n    http-check expect status 200\n"
                  "    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions\n"
                  f"{servers}\n")
        with open(self.path("haproxy.cfg"), "w") as handle:
            handle.write(config)
        with open(self.path("haproxy.log"), "ab") as log:
            self.haproxy_process = subprocess.Popen(
                ["haproxy", "-db", "-f", self.path("haproxy.cfg")], stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        self.note(f"haproxy primary:{self.haproxy_primary_port}")

    def etcd_alive(self):
        return self.etcd_process and pid_alive(self.etcd_process.pid)

    def cleanup(self):
        try:
            for member in self.members.values():
                for pid in member.postgres_pids():
                    signal_pid(pid, signal.SIGCONT)  # a frozen postgres ignores SIGQUIT
                if member.daemon_pid:
                    signal_pid(member.daemon_pid, signal.SIGCONT)
            super().cleanup()
        finally:
            self.topology.destroy()
