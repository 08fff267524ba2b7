"""A standby cluster (Patroni's `standby_cluster`): a second scope whose leader is a standby
leader streaming from the first scope's primary through a slot there, with replicas of its
own; a failover inside it; then `stazctl promote-cluster` with every acknowledged row there.
This is how a new zone is seeded from an existing one before it joins the mesh."""

import time

import pytest

from testkit.support import psql_value, wait_until

pytestmark = pytest.mark.staz_only


def roles(cluster):
    """{member: role} as GET /cluster reports them (`standby_leader` for a standby leader)."""
    view = cluster.cluster_view() or {}
    return {m["name"]: m.get("role") for m in view.get("members", [])}


def replay_lsn_reached(member, lsn):
    return psql_value(member.pg_port, f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn") == "t"


def test_standby_cluster_follows_fails_over_and_is_promoted_without_losing_rows(make_cluster):
    source = make_cluster(scope="zonea")
    sync = {"synchronous_mode": True, "slots": {"zoneb": {"type": "physical"}}}
    a0 = source.add_member("a0", overrides={"bootstrap": {"dcs": sync}})
    source.wait_for_healthy(replicas=0)
    source.add_member("a1", overrides={"bootstrap": {"dcs": sync}})
    source.wait_for_healthy(replicas=1)
    psql_value(a0.pg_port, "CREATE TABLE seeded(id int primary key); INSERT INTO seeded SELECT generate_series(1, 100)")

    standby = make_cluster(scope="zoneb")
    remote = {"bootstrap": {"dcs": {
        "synchronous_mode": True,  # ignored in a standby cluster, as in Patroni
        "standby_cluster": {"host": "127.0.0.1", "port": a0.pg_port, "primary_slot_name": "zoneb"}}}}
    b0 = standby.add_member("b0", overrides=remote)
    wait_until(lambda: roles(standby).get("b0") == "standby_leader", 120, "b0 bootstraps as the standby leader")
    b1 = standby.add_member("b1", overrides=remote)
    wait_until(lambda: psql_value(b0.pg_port, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'b1'") == "1",
               120, "b1 streams from the standby leader b0")
    assert b0.rest("/standby-leader")[0] == 200
    assert b0.rest("/primary")[0] == 503, "a standby leader takes no writes"
    assert psql_value(a0.pg_port, "SELECT active FROM pg_replication_slots WHERE slot_name = 'zoneb'") == "t", \
        "b0 streams through the slot standby_cluster names"
    assert "b1" not in standby.dcs_get("sync"), "no synchronous replication inside a standby cluster"

    # Rows acknowledged by the source (synchronous mode: on a1 too) reach both standbys.
    for row in range(101, 201):
        psql_value(a0.pg_port, f"INSERT INTO seeded VALUES ({row})")
    wait_until(lambda: psql_value(b1.pg_port, "SELECT count(*) FROM seeded") == "200", 60, "200 rows on b1")

    # The standby leader's node is lost: b1 takes over as the standby leader, with no promotion,
    # and streams from the source itself.
    b0.crash()
    wait_until(lambda: roles(standby).get("b1") == "standby_leader", 90, "b1 becomes the standby leader")
    assert psql_value(b1.pg_port, "SELECT pg_is_in_recovery()") == "t", "b1 was not promoted"
    for row in range(201, 301):
        psql_value(a0.pg_port, f"INSERT INTO seeded VALUES ({row})")
    wait_until(lambda: psql_value(b1.pg_port, "SELECT count(*) FROM seeded") == "300", 60,
               "rows written after the failover reach the new standby leader")
    b0.start()
    wait_until(lambda: psql_value(b1.pg_port, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'b0'") == "1",
               120, "b0 rejoins as a replica of b1")

    # Zone B's etcd away for longer than ttl: its standby leader cannot renew the lock, yet a
    # standby takes no writes, so nothing stops it and it keeps replaying zone A.
    postmaster = b1.postmaster_pid()
    standby.freeze_etcd()
    try:
        for row in range(301, 311):
            psql_value(a0.pg_port, f"INSERT INTO seeded VALUES ({row})")
        time.sleep(standby.profile.ttl + 3)
        assert b1.postmaster_pid() == postmaster, "the standby leader's PostgreSQL was stopped"
        wait_until(lambda: psql_value(b1.pg_port, "SELECT count(*) FROM seeded") == "310", 30,
                   "b1 keeps replaying while zone B's etcd is away")
    finally:
        standby.thaw_etcd()
    # The lock may have expired meanwhile: whichever member leads zone B now, it is a standby leader.
    leader_name = wait_until(lambda: next((n for n, r in roles(standby).items() if r == "standby_leader"), None), 60,
                             "zone B has a standby leader again once etcd is back")
    leader, other = (b1, b0) if leader_name == "b1" else (b0, b1)

    # Promotion once the standby has everything the source acknowledged.
    last = psql_value(a0.pg_port, "SELECT pg_current_wal_lsn()")
    wait_until(lambda: replay_lsn_reached(leader, last), 60, f"{leader.name} replayed up to {last}")
    standby.ctl("promote-cluster", "zoneb", "--force", member=leader)
    wait_until(lambda: roles(standby).get(leader.name) == "leader" and leader.rest("/primary")[0] == 200, 60, f"{leader.name} leads zoneb as a primary")
    assert psql_value(leader.pg_port, "SELECT count(*) FROM seeded") == "310", "every acknowledged row is on the promoted cluster"
    psql_value(leader.pg_port, "INSERT INTO seeded VALUES (311)")
    wait_until(lambda: psql_value(other.pg_port, "SELECT count(*) FROM seeded") == "311", 60, f"{other.name} follows the promoted {leader.name}")
    log = b1.log_text()
    assert "promoted self to a standby leader by acquiring session lock" in log, log[-3000:]

    # And back: zone A becomes a standby cluster of the promoted zone B (`stazctl demote-cluster`).
    source.ctl("demote-cluster", "zonea", "--host", "127.0.0.1", "--port", str(leader.pg_port), "--force", member=a0)
    wait_until(lambda: roles(source).get("a0") == "standby_leader", 60, "a0 leads zone A as a standby leader")
    assert psql_value(a0.pg_port, "SELECT pg_is_in_recovery()") == "t"
    psql_value(leader.pg_port, "INSERT INTO seeded VALUES (312)")
    wait_until(lambda: psql_value(a0.pg_port, "SELECT count(*) FROM seeded") == "312", 60,
               "a row written in zone B reaches zone A's standby leader")
