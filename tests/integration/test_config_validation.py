"""A bad dynamic configuration never breaks a cluster (issue 14, problem 1).

`PATCH /config`, `PUT /config` and `stazctl edit-config` refuse, naming the key, what staz
or the running PostgreSQL would refuse, and write nothing. A value that reaches the DCS some
other way is not written into postgresql.conf: the member logs an ERROR naming the key, keeps
the last good value, and its PostgreSQL still restarts."""

import json
import os

import pytest

from testkit.support import psql_value, wait_until

pytestmark = pytest.mark.staz_only


def etcd_config(cluster):
    return json.loads(cluster.dcs_get("config"))


def etcd_put_config(cluster, config):
    cluster.dcs_put("config", json.dumps(config))


def conf_value(member, name):
    """The value of `name` in the member's postgresql.conf, as written (quotes included)."""
    with open(os.path.join(member.data_dir, "postgresql.conf"), encoding="utf-8") as handle:
        for line in handle:
            key, _, value = line.partition("=")
            if key.strip() == name:
                return value.strip()
    return None


BAD_PATCHES = [
    ({"postgresql": {"parameters": {"work_mem": "lots"}}}, "postgresql.parameters.work_mem"),
    ({"postgresql": {"parameters": {"checkpoint_timeout": "10"}}}, "postgresql.parameters.checkpoint_timeout"),
    ({"postgresql": {"parameters": {"synchronous_commit": "sometimes"}}}, "postgresql.parameters.synchronous_commit"),
    ({"postgresql": {"parameters": {"work_mme": "4MB"}}}, "postgresql.parameters.work_mme"),
    ({"postgresql": {"parameters": {"max_connections": "many"}}}, "postgresql.parameters.max_connections"),
    ({"ttl": "abc"}, "ttl"),
    ({"loop_wait": -1}, "loop_wait"),
    ({"synchronous_mode": "banana"}, "synchronous_mode"),
    ({"postgresql": "notamap"}, "postgresql"),
]


def test_bad_changes_are_refused_by_key_and_nothing_is_written(make_cluster, profile):
    cluster = make_cluster()
    for name in ("m0", "m1"):
        cluster.add_member(name)
    leader = cluster.member_named(cluster.wait_for_healthy(replicas=1))
    before = etcd_config(cluster)

    for patch, key in BAD_PATCHES:
        code, body = leader.rest("/config", method="PATCH", body=patch)
        assert code == 400, f"PATCH {patch}: {code} {body}"
        assert key + ":" in str(body), f"PATCH {patch}: the answer does not name {key}: {body}"
        code, body = leader.rest("/config", method="PUT", body={**before, **patch})
        assert code == 400, f"PUT with {patch}: {code} {body}"
        assert etcd_config(cluster) == before, f"{patch} changed the DCS config"

    done = cluster.ctl("edit-config", cluster.scope, "-p", "work_mem=lots", "--force", check=False)
    assert done.returncode != 0 and "postgresql.parameters.work_mem" in done.stdout + done.stderr, done
    done = cluster.ctl("edit-config", cluster.scope, "-s", "ttl=abc", "--force", check=False)
    assert done.returncode != 0 and "ttl:" in done.stdout + done.stderr, done
    assert etcd_config(cluster) == before

    # A good change still goes through, and reaches both members.
    code, body = leader.rest("/config", method="PATCH", body={"postgresql": {"parameters": {"work_mem": "8MB"}}})
    assert code == 200, body
    for member in cluster.members.values():
        wait_until(lambda: psql_value(member.pg_port, "SHOW work_mem") == "8MB", 10 * profile.loop_wait + 10,
                   f"{member.name} runs with work_mem 8MB")


def test_a_bad_value_in_the_dcs_keeps_the_last_good_one(make_cluster, profile):
    cluster = make_cluster()
    for name in ("m0", "m1"):
        cluster.add_member(name)
    leader = cluster.member_named(cluster.wait_for_healthy(replicas=1))
    code, body = leader.rest("/config", method="PATCH", body={"postgresql": {"parameters": {"work_mem": "8MB"}}})
    assert code == 200, body
    for member in cluster.members.values():
        wait_until(lambda: psql_value(member.pg_port, "SHOW work_mem") == "8MB", 10 * profile.loop_wait + 10,
                   f"{member.name} runs with work_mem 8MB")

    # Written straight into etcd, past every REST and stazctl check.
    config = etcd_config(cluster)
    config["postgresql"]["parameters"]["work_mem"] = "lots"
    config["postgresql"]["parameters"]["temp_buffers"] = "32MB"
    etcd_put_config(cluster, config)
    cluster.note("wrote work_mem = 'lots' and temp_buffers = 32MB into the DCS config")

    for member in cluster.members.values():
        wait_until(lambda: "postgresql parameter work_mem:" in member.log_text(), 10 * profile.loop_wait + 10,
                   f"{member.name} names work_mem in an ERROR")
        # The good part of the same change is applied; the bad value never reaches the file.
        wait_until(lambda: conf_value(member, "temp_buffers") is not None, 10 * profile.loop_wait + 10,
                   f"{member.name} applies temp_buffers")
        assert conf_value(member, "work_mem") == "'8MB'", conf_value(member, "work_mem")
        line = next(l for l in member.log_text().splitlines() if "postgresql parameter work_mem:" in l)
        assert "ERROR" in line and "keeping the last good value '8MB'" in line, line

    # Restarting both members works: nothing unreadable was written.
    for member in cluster.members.values():
        code, body = member.rest("/restart", method="POST", body={})
        assert code == 200, body
    for member in cluster.members.values():
        wait_until(lambda: member.status().get("state") == "running"
                   and psql_value(member.pg_port, "SHOW work_mem") == "8MB",
                   20 * profile.loop_wait + 30, f"{member.name} restarted with work_mem 8MB")
    cluster.wait_for_healthy(replicas=1)
