"""Wires the integration harness (tests/integration) in as a library, moved to the bench
port range 27000-27999 so a benchmark never collides with a test run, and defines the
daemon setups (tool + timing) every scenario runs against."""

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import harness  # noqa: E402
import members  # noqa: E402
from profiles import DaemonProfile  # noqa: E402
from support import PortAllocator  # noqa: E402

# The harness reads these module globals on every allocation, so rebinding them moves
# every cluster this process creates into the bench range.
harness.REST_PORTS = PortAllocator(27008, 27299)
harness.ETCD_PORTS = PortAllocator(27379, 27431)
harness.PG_PORTS = PortAllocator(27432, 27799)
harness.PROXY_PORTS = PortAllocator(27800, 27899)
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
        super().__init__(setup.profile(), scope=scope, dcs="etcd3")
        self.setup = setup

    def add_member(self, name, tags=None, start=True, daemon=None, overrides=None):
        member = BenchMember(self, name, harness.PG_PORTS.allocate(),
                             harness.REST_PORTS.allocate(), tags or {}, daemon=daemon,
                             overrides=overrides)
        member.write_config()
        self.members[name] = member
        if start:
            member.start()
        return member
