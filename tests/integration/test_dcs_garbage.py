"""DCS values staz cannot use (issue 14): a garbage member key and a garbage failover key are
named in one WARNING each (not every loop), the garbage member gets no replication slot, and
the cluster goes on as before."""

import time

import pytest

from testkit.support import psql_value, wait_until

pytestmark = pytest.mark.staz_only


def etcd_put(cluster, key, value):
    cluster.dcs_put(key, value)


def test_garbage_keys_are_named_once_and_get_no_slot(make_cluster, profile):
    cluster = make_cluster()
    for name in ("m0", "m1"):
        cluster.add_member(name)
    leader_name = cluster.wait_for_healthy(replicas=1)
    leader = cluster.member_named(leader_name)

    etcd_put(cluster, "members/ghost", "not a member")
    etcd_put(cluster, "failover", '{"foo": 1}')
    cluster.note("wrote members/ghost = 'not a member' and failover = {\"foo\": 1}")

    def warned():
        text = leader.log_text()
        return "DCS value not usable: members/ghost" in text and "DCS value not usable: failover" in text
    wait_until(warned, 10 * profile.loop_wait + 5, f"{leader_name} names both garbage keys")
    # Several more loops: still one warning per key (rate-limited), and no slot for the ghost.
    time.sleep(5 * profile.loop_wait)
    text = leader.log_text()
    assert text.count("DCS value not usable: members/ghost") == 1, text[-3000:]
    assert text.count("DCS value not usable: failover") == 1, text[-3000:]
    slots = psql_value(leader.pg_port, "SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots")
    assert "ghost" not in (slots or ""), f"slots on {leader_name}: {slots}"
    # The cluster is unharmed: the same leader, its replica streaming.
    assert cluster.wait_for_healthy(replicas=1) == leader_name


def test_garbage_config_and_history_are_named_and_the_cluster_goes_on(make_cluster, profile):
    cluster = make_cluster()
    for name in ("m0", "m1"):
        cluster.add_member(name)
    leader_name = cluster.wait_for_healthy(replicas=1)
    leader = cluster.member_named(leader_name)

    etcd_put(cluster, "config", "[1, 2]")
    etcd_put(cluster, "history", "not a history")
    cluster.note("wrote config = [1, 2] and history = 'not a history'")

    for member in cluster.members.values():
        wait_until(lambda: "DCS value not usable: config" in member.log_text()
                   and "DCS value not usable: history" in member.log_text(),
                   10 * profile.loop_wait + 5, f"{member.name} names both garbage keys")
    time.sleep(5 * profile.loop_wait)
    assert leader.log_text().count("DCS value not usable: config") == 1, leader.log_text()[-3000:]
    # Read as an empty dynamic configuration: the bootstrap.dcs values apply, nothing breaks.
    assert cluster.wait_for_healthy(replicas=1) == leader_name
    assert cluster.member_named(leader_name).status().get("role") == "primary"
