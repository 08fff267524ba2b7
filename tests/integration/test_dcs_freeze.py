"""A frozen etcd (SIGSTOP) must make the primary stop accepting writes before its lock could
have expired; after SIGCONT the cluster returns to exactly one writable primary."""

import time

from testkit.support import psql, psql_value, wait_until


def test_frozen_etcd_demotes_primary_before_ttl_then_recovers(three_node_cluster, profile):
    cluster, leader = three_node_cluster
    primary = cluster.member_named(leader)
    psql_value(primary.pg_port, "CREATE TABLE freeze_probe(at timestamptz)")

    started = time.monotonic()
    cluster.freeze_etcd()

    def primary_refuses_writes():
        code, _, err = psql(primary.pg_port, "SET statement_timeout = 2000; "
                                             "INSERT INTO freeze_probe VALUES (now())", timeout=5)
        return (err or f"exit {code}") if code != 0 else None
    reason = wait_until(primary_refuses_writes, profile.ttl + 15,
                        f"{leader} stops accepting writes while etcd is frozen", interval=0.25)
    elapsed = time.monotonic() - started
    print(f"\nPRIMARY FENCED {elapsed:.2f}s after the freeze (ttl {profile.ttl}): {reason}")
    assert elapsed < profile.ttl, (
        f"{leader} still accepted writes {elapsed:.2f}s after etcd froze (ttl {profile.ttl}s)")

    cluster.thaw_etcd()

    def single_writable_primary():
        by_rest = cluster.primaries_by_rest()
        if len(by_rest) != 1:
            return None
        writable = [m.name for m in cluster.members.values()
                    if psql(m.pg_port, "SELECT pg_is_in_recovery()", timeout=3)[1] == "f"]
        return by_rest[0] if writable == by_rest else None
    new_primary = wait_until(single_writable_primary, profile.failover_timeout + 30,
                             "exactly one primary (REST /primary and pg_is_in_recovery) after SIGCONT")
    ok = wait_until(lambda: cluster.write_through_haproxy(
        "INSERT INTO freeze_probe VALUES (now())")[0], 30, "write through HAProxy after SIGCONT")
    assert ok
    # Stable: still exactly one primary a few loops later.
    time.sleep(3 * profile.loop_wait)
    assert cluster.primaries_by_rest() == [new_primary]
