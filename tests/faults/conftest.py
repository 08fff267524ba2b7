"""pytest wiring for the fault-injection suite: the integration harness on sys.path and the
cluster timeline printed with every failure (the campaign builds it; see timeline.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pathsetup  # noqa: E402,F401 - tests/integration on sys.path


def pytest_report_header(config):
    from profiles import current_profile
    profile = current_profile()
    return (f"fault suite: HA daemon {profile.kind} ({profile.daemon}), ttl={profile.ttl} "
            f"loop_wait={profile.loop_wait} retry_timeout={profile.retry_timeout}")
