"""The benchmarks' use of the test kit: clusters in the bench port range 27000-27999, so a
benchmark never collides with a test run, and the daemon setups (tool + timing) every scenario
runs against."""

import os
from dataclasses import dataclass, field
from pathlib import Path

from testkit import harness, members
from testkit.profiles import REPO, DaemonProfile
from testkit.support import PortAllocator, PortRanges

BENCH_PORTS = PortRanges(rest=PortAllocator(27008, 27299), etcd=PortAllocator(27379, 27431),
                         pg=PortAllocator(27432, 27799), proxy=PortAllocator(27800, 27899))
SCRATCH_PORTS = PortAllocator(27900, 27999)  # floors: standalone postgres instances

PATRONI_VENV = Path(os.environ.get("PATRONI_VENV", "/opt/patroni-venv"))
STAZ_BIN = Path(os.environ.get("STAZ_BENCH_BIN", str(REPO / ".build" / "release")))


@dataclass(frozen=True)
class Setup:
    """One daemon configuration under test. `key` names it in results."""
    key: str
    tool: str                      # "staz" | "patroni"
    ttl: int
    loop_wait: int
    retry_timeout: int
    extra_dcs: dict = field(default_factory=dict)  # more bootstrap.dcs settings

    @property
    def label(self):
        extra = "".join(f", {k} {v}" for k, v in self.extra_dcs.items())
        return (f"{self.tool} ttl {self.ttl} / loop_wait {self.loop_wait} / "
                f"retry_timeout {self.retry_timeout}{extra}")

    def profile(self):
        if self.tool == "staz":
            daemon, ctl = str(STAZ_BIN / "staz"), str(STAZ_BIN / "stazctl")
        else:
            daemon, ctl = str(PATRONI_VENV / "bin" / "patroni"), str(PATRONI_VENV / "bin" / "patronictl")
        return DaemonProfile(self.tool, daemon, ctl, ttl=self.ttl, loop_wait=self.loop_wait,
                             retry_timeout=self.retry_timeout, graceful_takeover=15,
                             bootstrap_timeout=180)


SETUPS = {s.key: s for s in [
    # staz at its fastest safe settings; Patroni at its fastest accepted ones and at defaults.
    Setup("staz-fast", "staz", 5, 1, 1),
    Setup("staz-fast-pst0", "staz", 5, 1, 1, {"primary_start_timeout": 0}),
    # Node loss in synchronous mode: the promotion waits on the synchronous standby settings.
    Setup("staz-fast-sync", "staz", 5, 1, 1, {"synchronous_mode": True}),
    Setup("patroni-fast", "patroni", 20, 1, 3),
    Setup("patroni-fast-pst0", "patroni", 20, 1, 3, {"primary_start_timeout": 0}),
    Setup("patroni-default", "patroni", 30, 10, 10),
    # staz at Patroni's default timing, for like-for-like comparisons (B7 at loop_wait 10).
    Setup("staz-default", "staz", 30, 10, 10),
    Setup("patroni-default-pst0", "patroni", 30, 10, 10, {"primary_start_timeout": 0}),
]}


class BenchMember(members.Member):
    def config(self):
        config = super().config()
        config["bootstrap"]["dcs"].update(self.cluster.setup.extra_dcs)
        return config


class BenchCluster(harness.Cluster):
    """A harness Cluster whose members carry the setup's extra dynamic settings."""

    def __init__(self, setup, scope="bench"):
        super().__init__(setup.profile(), scope=scope, dcs="etcd3", port_ranges=BENCH_PORTS)
        self.setup = setup

    def add_member(self, name, tags=None, start=True, daemon=None, overrides=None):
        member = BenchMember(self, name, self.allocate(self.port_ranges.pg),
                             self.allocate(self.port_ranges.rest), tags or {}, daemon=daemon,
                             overrides=overrides)
        member.write_config()
        self.members[name] = member
        if start:
            member.start()
        return member
