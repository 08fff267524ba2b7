"""Health checks answer from memory, yet never for a server that is gone: right after a
replica's PostgreSQL dies, and long before the next HA cycle, /replica says 503 and /patroni
says stopped within 100 ms (Patroni asks PostgreSQL on every request; staz checks the
postmaster's pid)."""

import subprocess

from testkit.support import PG_BIN, NotYet, psql, psql_value, wait_until


def test_a_dead_replica_fails_its_health_check_before_the_next_cycle(make_cluster):
    cluster = make_cluster()
    # A long loop_wait: the next cycle is up to 10 s away, so only the request itself can notice.
    slow = {"bootstrap": {"dcs": {"loop_wait": 10, "ttl": 30, "retry_timeout": 10}}}
    for index in range(2):
        cluster.add_member(f"m{index}", overrides=slow)
    leader = cluster.wait_for_healthy(replicas=1, timeout=90)
    replica = next(member for name, member in cluster.members.items() if name != leader)
    assert replica.rest("/replica")[0] == 200
    subprocess.run(["runuser", "-u", "postgres", "--", f"{PG_BIN}/pg_ctl", "-D", replica.data_dir,
                    "stop", "-m", "immediate", "-w"], check=True, capture_output=True, timeout=30)
    # The answer may be up to 100 ms old (APIState.livenessProbeInterval); the next cycle is
    # seconds away.
    def stopped():
        code, _ = replica.rest("/replica")
        status = replica.rest("/patroni")[1]
        if code != 503 or status.get("state") != "stopped":
            raise NotYet(f"/replica {code}, state {status.get('state')}")
        return status
    status = wait_until(stopped, 1, "a dead replica answered as stopped", interval=0.05)
    assert "xlog" not in status, status


def test_patroni_reports_the_wal_a_replica_has_now_not_at_its_last_cycle(make_cluster):
    """Peers compare /patroni positions in a leader race: a replica must report the WAL it
    holds when asked, not what its last HA cycle saw (up to loop_wait old)."""
    cluster = make_cluster()
    slow = {"bootstrap": {"dcs": {"loop_wait": 10, "ttl": 30, "retry_timeout": 10}}}
    for index in range(2):
        cluster.add_member(f"m{index}", overrides=slow)
    leader_name = cluster.wait_for_healthy(replicas=1, timeout=90)
    leader = cluster.members[leader_name]
    replica = next(member for name, member in cluster.members.items() if name != leader_name)
    # WAL the replica's last cycle cannot have seen: written now, the next cycle seconds away.
    code, _, error = psql(leader.pg_port, "CREATE TABLE IF NOT EXISTS fresh_positions (x int); "
                                          "INSERT INTO fresh_positions SELECT generate_series(1, 1000)")
    assert code == 0, error
    written = int(psql_value(leader.pg_port,
                             "SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_flush_lsn(), '0/0')::bigint"))

    def caught_up():
        xlog = replica.rest("/patroni")[1].get("xlog", {})
        received = max(xlog.get("received_location") or 0, xlog.get("replayed_location") or 0)
        if received < written:
            raise NotYet(f"/patroni reports {received}, the leader wrote up to {written}")
        return received
    wait_until(caught_up, 2, "/patroni reports the WAL the replica holds", interval=0.1)


def test_patroni_queries_on_a_connection_of_its_own(make_cluster):
    """/patroni's live query has its own connection, as Patroni's `restapi` one: when that
    connection breaks (or its deadline closes it), the HA loop's connection stays open."""
    cluster = make_cluster()
    for index in range(2):
        cluster.add_member(f"m{index}")
    leader_name = cluster.wait_for_healthy(replicas=1, timeout=90)
    replica = next(member for name, member in cluster.members.items() if name != leader_name)

    def backends():
        rows = psql_value(replica.pg_port, "SELECT string_agg(application_name || '=' || pid, ',') "
                                           "FROM pg_stat_activity WHERE application_name LIKE 'staz%'") or ""
        return dict(pair.split("=") for pair in rows.split(",") if pair)

    def both_open():
        assert replica.rest("/patroni")[0] == 200
        found = backends()
        if set(found) != {"staz", "staz restapi"}:
            raise NotYet(f"backends of staz: {found}")
        return found
    before = wait_until(both_open, 10, "the HA loop's and the REST API's connections", interval=0.2)
    assert before["staz"] != before["staz restapi"]
    code, _, error = psql(replica.pg_port, f"SELECT pg_terminate_backend({before['staz restapi']})")
    assert code == 0, error
    after = wait_until(both_open, 10, "a new REST API connection", interval=0.2)
    assert after["staz restapi"] != before["staz restapi"]
    assert after["staz"] == before["staz"], "the REST API's broken connection took the HA loop's with it"
