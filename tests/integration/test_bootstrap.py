"""Three members from empty data directories form one primary with two streaming replicas."""

from support import psql_value, wait_until


def test_three_members_bootstrap_one_leader_two_streaming_replicas(three_node_cluster):
    cluster, leader = three_node_cluster
    view = cluster.cluster_view()
    roles = {member["name"]: member["role"] for member in view["members"]}
    assert sorted(roles) == ["m0", "m1", "m2"], view
    assert list(roles.values()).count("leader") == 1, view
    assert cluster.streaming_replicas(view) == sorted(set(roles) - {leader}), view
    assert view["scope"] == cluster.scope

    primary = cluster.member_named(leader)
    assert psql_value(primary.pg_port, "SELECT pg_is_in_recovery()") == "f"
    streaming = wait_until(
        lambda: psql_value(primary.pg_port, "SELECT count(*) FROM pg_stat_replication "
                                            "WHERE state = 'streaming'") == "2",
        30, "pg_stat_replication on the primary lists 2 streaming standbys")
    assert streaming
    for name in set(roles) - {leader}:
        replica = cluster.member_named(name)
        assert psql_value(replica.pg_port, "SELECT pg_is_in_recovery()") == "t"
        assert replica.status().get("role") == "replica"
    assert primary.status().get("role") == "primary"

    # Write through HAProxy's primary port; the row must reach both replicas.
    ok, detail = wait_until(lambda: (lambda r: r if r[0] else None)(cluster.write_through_haproxy(
        "CREATE TABLE bootstrap_check(id int primary key, note text);"
        "INSERT INTO bootstrap_check VALUES (1, 'written via haproxy')")),
        30, "write through HAProxy's primary port")
    assert ok, detail
    for name in set(roles) - {leader}:
        replica = cluster.member_named(name)
        wait_until(lambda: psql_value(replica.pg_port, "SELECT note FROM bootstrap_check "
                                                       "WHERE id = 1") == "written via haproxy",
                   30, f"row replicated to {name}")
