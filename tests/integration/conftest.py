"""pytest wiring: the daemon profile (staz or Patroni, from STAZ_DAEMON), a cluster factory
that always cleans up, and full diagnostics (timeline + log tails) in every failure report."""

import dataclasses
import os
import shutil
import subprocess
import tempfile

import pytest

from testkit.harness import Cluster
from testkit.profiles import current_profile


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "staz_only: staz behaviour Patroni does not have; deselected for Patroni")


def pytest_collection_modifyitems(config, items):
    if not current_profile().is_patroni:
        return
    # Deselect (not skip): a test that did not run must not look like a pass.
    kept = [item for item in items if "staz_only" not in item.keywords]
    deselected = [item for item in items if "staz_only" in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_report_header(config):
    profile = current_profile()
    return (f"HA daemon: {profile.kind} ({profile.daemon}); ctl: {profile.ctl}; "
            f"ttl={profile.ttl} loop_wait={profile.loop_wait} "
            f"retry_timeout={profile.retry_timeout}")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    # Attach the timeline and log tails of every cluster of the test to its failure report
    # (teardown output would be hidden by pytest's capture).
    if report.failed and report.when in ("setup", "call"):
        for cluster in getattr(item, "staz_clusters", []):
            kept = cluster.keep_logs(item.nodeid)
            report.sections.append((f"cluster diagnostics ({cluster.dir}; every log kept in {kept})",
                                    cluster.diagnostics()))
    elif report.when == "call" and os.environ.get("STAZ_IT_KEEP_LOGS"):
        # STAZ_IT_KEEP_LOGS=1: a passing run's logs too, to compare its timing with a failure's.
        for cluster in getattr(item, "staz_clusters", []):
            cluster.keep_logs(item.nodeid)


@pytest.fixture(scope="session")
def profile():
    profile = current_profile()
    if not os.access(profile.daemon, os.X_OK):
        pytest.fail(f"HA daemon {profile.daemon} is not executable (set STAZ_DAEMON)")
    if not runnable_by_postgres(profile.daemon):
        # e.g. a CI checkout under /root: give the postgres user its own copy.
        directory = tempfile.mkdtemp(prefix="staz-it-bin-", dir="/tmp")
        os.chmod(directory, 0o755)
        copy = shutil.copy2(profile.daemon, directory)
        os.chmod(copy, 0o755)
        profile = dataclasses.replace(profile, daemon=copy)
        yield profile
        shutil.rmtree(directory, ignore_errors=True)
        return
    yield profile


def runnable_by_postgres(path):
    check = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", path])
    return check.returncode == 0


@pytest.fixture
def make_cluster(request, profile):
    """make_cluster(scope=..., dcs="etcd3"|"etcd") -> Cluster with etcd already running."""
    clusters = request.node.staz_clusters = []

    def factory(scope="itest", dcs="etcd3"):
        cluster = Cluster(profile, scope=scope, dcs=dcs)
        clusters.append(cluster)
        cluster.start_etcd()
        return cluster

    yield factory
    crashes = [crash for cluster in clusters for crash in cluster.daemon_crashes()]
    if crashes:
        for cluster in clusters:
            cluster.keep_logs(request.node.nodeid)
    for cluster in clusters:
        cluster.cleanup()
    # A daemon that crashed fails the test even when what the test checked still held: the
    # other members may have covered for it (CI stop 30: a crashed bootstrap left a zone
    # waiting for its leader, and only a later wait timed out).
    if crashes:
        pytest.fail("staz crashed: " + "; ".join(crashes), pytrace=False)


@pytest.fixture
def three_node_cluster(make_cluster):
    """Three members bootstrapped from empty data dirs plus HAProxy; returns (cluster, leader)."""
    cluster = make_cluster()
    for index in range(3):
        cluster.add_member(f"m{index}")
    cluster.start_haproxy()
    leader = cluster.wait_for_healthy(replicas=2)
    return cluster, leader
