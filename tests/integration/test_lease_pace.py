"""How often idle members renew their etcd lease, counted by etcd itself.

At ttl 8 / loop_wait 4 the leader renews every loop_wait (4 s), as Patroni does, and a member
that does not lead every loop_wait too (slower than ttl/3 and still twice per ttl). Renewing
every ttl/4 as staz did before would send 30 keepalives in 24 s instead of 18; an HA loop that
sent its own renewal besides the lease keeper's would add 6. Whatever the pace, no member key
may expire in between."""

import json
import re
import time
import urllib.request

import pytest

TIMING = {"ttl": 8, "loop_wait": 4, "retry_timeout": 1}
WINDOW = 24.0


def keepalives_handled(etcd_port):
    """LeaseKeepAlive requests etcd has answered so far (its gRPC gateway serves staz's HTTP)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{etcd_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(float(count) for labels, count in
               re.findall(r'^grpc_server_handled_total\{([^}]*)\} (\S+)$', text, re.M)
               if 'grpc_method="LeaseKeepAlive"' in labels)


def member_key_creations(cluster):
    """members/<name> → the revision that created the key (a new one after it expired)."""
    answer = json.loads(cluster.etcdctl("get", "--prefix", f"/service/{cluster.scope}/members/", "-w", "json"))
    return {kv["key"]: kv["create_revision"] for kv in answer.get("kvs", [])}


@pytest.mark.staz_only
def test_idle_members_renew_at_patronis_pace_and_keep_their_keys(make_cluster):
    cluster = make_cluster()
    for name in ("m0", "m1", "m2"):
        cluster.add_member(name, overrides={"bootstrap": {"dcs": TIMING}})
    leader = cluster.wait_for_healthy(replicas=2)
    time.sleep(TIMING["loop_wait"])  # the replicas' first cycles after they started streaming

    keys_before = member_key_creations(cluster)
    before = keepalives_handled(cluster.etcd_port)
    started = time.monotonic()
    time.sleep(WINDOW)
    sent = keepalives_handled(cluster.etcd_port) - before
    elapsed = time.monotonic() - started

    expected = 3 * elapsed / TIMING["loop_wait"]
    assert expected - 3 <= sent <= expected + 3, f"{sent:.0f} keepalives in {elapsed:.1f}s, expected about {expected:.0f}"
    assert len(keys_before) == 3 and member_key_creations(cluster) == keys_before, "a member key expired"
    assert cluster.leader_name() == leader
