"""Which daemon the suite drives (staz or the real Patroni) and the timing each one gets.

staz accepts ttl down to 4 s; Patroni raises anything below ttl 20 / retry_timeout 3, so the
same test runs with per-daemon timing. Both satisfy loop_wait + 2 * retry_timeout <= ttl."""

import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class DaemonProfile:
    kind: str                 # "staz" or "patroni"
    daemon: str               # path of the HA daemon executable
    ctl: str                  # path of the matching ctl (stazctl / patronictl)
    ttl: int
    loop_wait: int
    retry_timeout: int
    graceful_takeover: float  # max seconds from SIGTERM of the leader to a new primary
    bootstrap_timeout: float  # max seconds for a 3-node cluster to be fully streaming

    @property
    def is_patroni(self):
        return self.kind == "patroni"

    @property
    def failover_timeout(self):
        """Upper bound for a leader loss: lock expiry plus a few cycles and a promote."""
        return self.ttl + 4 * self.loop_wait + 2 * self.retry_timeout + 20


PATRONI_VENV = Path(os.environ.get("PATRONI_VENV", "/opt/patroni-venv"))
PATRONICTL = str(PATRONI_VENV / "bin" / "patronictl")


def current_profile():
    daemon = os.environ.get("STAZ_DAEMON", str(REPO / ".build" / "debug" / "staz"))
    if "patroni" in Path(daemon).name:
        ctl = os.environ.get("STAZ_CTL", str(Path(daemon).with_name("patronictl")))
        profile = DaemonProfile("patroni", daemon, ctl, ttl=20, loop_wait=2, retry_timeout=5,
                                graceful_takeover=15, bootstrap_timeout=120)
    else:
        ctl = os.environ.get("STAZ_CTL", str(REPO / ".build" / "debug" / "stazctl"))
        profile = DaemonProfile("staz", daemon, ctl, ttl=5, loop_wait=1, retry_timeout=1,
                                graceful_takeover=3, bootstrap_timeout=90)
    assert profile.loop_wait + 2 * profile.retry_timeout <= profile.ttl, profile
    return profile
PATRONI = str(PATRONI_VENV / "bin" / "patroni")
