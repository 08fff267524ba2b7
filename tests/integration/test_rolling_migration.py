"""Rolling migration from Patroni: a staz member joins a running Patroni 4.1.5 cluster (same
scope, same etcd, same config style), clones and streams, then takes over the leadership by a
switchover that the real patronictl requests, and the Patroni members follow it."""

import os

import pytest

from testkit.profiles import PATRONI, PATRONICTL
from testkit.support import NotYet, psql_value, wait_until
from testkit.workload import wait_primary_is, wait_streaming_from

# The Patroni members bootstrap the cluster, so the DCS config gets timing Patroni accepts.
PATRONI_TIMING = {"bootstrap": {"dcs": {"ttl": 20, "loop_wait": 2, "retry_timeout": 5}}}


def slot_is_active(primary, slot):
    active = psql_value(primary.pg_port, "SELECT slot_name FROM pg_replication_slots "
                                         "WHERE active").split()
    if slot not in active:
        raise NotYet(f"{primary.name} active slots: {active}")
    return True


@pytest.mark.staz_only
def test_staz_member_joins_patroni_cluster_and_takes_over(make_cluster, profile):
    for tool in (PATRONI, PATRONICTL):
        assert os.access(tool, os.X_OK), f"{tool} missing: run scripts/patroni-venv.sh"
    cluster = make_cluster()
    cluster.add_member("m0", daemon=PATRONI, overrides=PATRONI_TIMING)
    cluster.add_member("m1", daemon=PATRONI, overrides=PATRONI_TIMING)
    first = cluster.member_named(cluster.wait_for_healthy(replicas=1, timeout=120))
    psql_value(first.pg_port, "CREATE TABLE migrated AS SELECT 'before staz' AS note")

    newcomer = cluster.add_member("m2", overrides=PATRONI_TIMING)  # the profile's daemon: staz
    cluster.wait_for_healthy(replicas=2, timeout=profile.bootstrap_timeout)
    wait_streaming_from(newcomer, first, 60)
    wait_until(lambda: slot_is_active(first, "m2"), 30,
               f"Patroni leader {first.name} has an active slot for m2")
    assert psql_value(newcomer.pg_port, "SELECT note FROM migrated") == "before staz"
    status = newcomer.status()
    assert status.get("role") == "replica" and status.get("state") == "running", status

    done = cluster.ctl("switchover", cluster.scope, "--candidate", "m2", "--force",
                       executable=PATRONICTL)
    assert 'Successfully switched over to "m2"' in done.stdout, done.stdout
    wait_primary_is(cluster, "m2", 90)
    psql_value(newcomer.pg_port, "INSERT INTO migrated VALUES ('after staz took over')")
    for name in ("m0", "m1"):
        follower = cluster.member_named(name)
        wait_streaming_from(follower, newcomer, 120)
        wait_until(lambda: slot_is_active(newcomer, name), 30,
                   f"staz leader has an active slot for {name}")
        wait_until(lambda: psql_value(follower.pg_port, "SELECT count(*) FROM migrated") == "2",
                   30, f"{name} replays a write made on the staz leader")
    assert cluster.primaries_by_rest() == ["m2"]
