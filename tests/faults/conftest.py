"""pytest wiring for the fault-injection suite: the daemon under test in the report header (the
campaign prints the cluster timeline with every failure; see testkit/faults/timeline.py)."""

from testkit.profiles import current_profile


def pytest_report_header(config):
    profile = current_profile()
    return (f"fault suite: HA daemon {profile.kind} ({profile.daemon}), ttl={profile.ttl} "
            f"loop_wait={profile.loop_wait} retry_timeout={profile.retry_timeout}")
