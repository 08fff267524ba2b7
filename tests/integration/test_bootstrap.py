"""Three members from empty data directories form one primary with two streaming replicas; a
second daemon with a name already in use refuses to start."""

import os
import pwd
import subprocess

from testkit.members import deep_merge
from testkit.support import psql_value, to_yaml, wait_until


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


def test_a_second_daemon_with_a_taken_name_refuses_to_start(make_cluster):
    """Two daemons with one name would fight over one member key: the second must exit at once
    with Patroni's CRITICAL line (its REST API on its own port, the first still answering)."""
    cluster = make_cluster()
    first = cluster.add_member("m0")
    cluster.wait_for_healthy(replicas=0, timeout=60)
    port = cluster.allocate(cluster.port_ranges.rest)
    config = deep_merge(first.config(), {"restapi": {"listen": f"127.0.0.1:{port}", "connect_address": f"127.0.0.1:{port}"}})
    path = cluster.path("duplicate.yml")
    with open(path, "w") as handle:
        handle.write(to_yaml(config) + "\n")
    postgres = pwd.getpwnam("postgres")
    os.chown(path, postgres.pw_uid, postgres.pw_gid)
    done = subprocess.run([first.daemon, path], cwd=cluster.dir, capture_output=True, text=True, timeout=60,
                          user=postgres.pw_uid, group=postgres.pw_gid, extra_groups=[])
    output = done.stdout + done.stderr
    assert done.returncode == 1, f"exit {done.returncode}: {output[-2000:]}"
    assert "CRITICAL" in output and "Can't start; there is already a node named 'm0' running" in output, output[-2000:]
    assert "Fatal error" not in output, output[-2000:]
    assert first.status().get("state") == "running", "the first daemon was disturbed"
