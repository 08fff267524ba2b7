"""Fuzzing the REST API of a running member (issue 14).

Two kinds of input, from one seeded generator (`STAZ_FUZZ_SEED`, printed on failure), for at
least `STAZ_FUZZ_SECONDS` (default 40) and until each kind has been tried enough times:
- raw requests: random methods, targets, headers, lengths and bytes, some cut short. The
  server must answer or close each connection within its request timeout, and never die.
- dynamic-configuration changes built from values whose fate on PostgreSQL 15 is known: a
  `PATCH`/`PUT /config` containing a value staz or PostgreSQL would refuse must be refused
  (400) and change nothing; one made only of good values must be accepted.
Afterwards the member still answers, the stored configuration holds only good values, and a
restart of PostgreSQL works (nothing unreadable reached postgresql.conf)."""

import json
import os
import random
import socket
import time

import pytest

from testkit.support import psql_value, wait_until

pytestmark = pytest.mark.staz_only

# (path in the config, value, good?) on PostgreSQL 15 with staz's timing minimums.
CHANGES = [
    (("postgresql", "parameters", "work_mem"), "4MB", True),
    (("postgresql", "parameters", "work_mem"), 2048, True),
    (("postgresql", "parameters", "work_mem"), "lots", False),
    (("postgresql", "parameters", "work_mem"), 10, False),
    (("postgresql", "parameters", "work_mem"), "4 parsecs", False),
    (("postgresql", "parameters", "checkpoint_timeout"), "5min", True),
    (("postgresql", "parameters", "checkpoint_timeout"), "10", False),
    (("postgresql", "parameters", "synchronous_commit"), "local", True),
    (("postgresql", "parameters", "synchronous_commit"), "sometimes", False),
    (("postgresql", "parameters", "random_page_cost"), 1.5, True),
    (("postgresql", "parameters", "random_page_cost"), "cheap", False),
    (("postgresql", "parameters", "work_mme"), "4MB", False),
    (("postgresql", "parameters", "max_connections"), "many", False),
    (("postgresql", "parameters", "temp_buffers"), [1, 2], False),
    (("postgresql", "use_pg_rewind"), True, True),
    (("postgresql", "use_pg_rewind"), "perhaps", False),
    (("postgresql",), "notamap", False),
    (("ttl",), 6, True),
    (("ttl",), "abc", False),
    (("ttl",), 1, False),
    (("loop_wait",), 1, True),
    (("loop_wait",), -1, False),
    (("maximum_lag_on_failover",), 1048576, True),
    (("maximum_lag_on_failover",), "far", False),
    (("synchronous_mode",), "banana", False),
    (("synchronous_mode",), False, True),
]

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE", "BREW", "", "G\x00T"]
TARGETS = ["/", "/patroni", "/config", "/config/check", "/cluster", "/history", "/restart", "/reinitialize",
           "/switchover", "/failover", "/mesh", "/failsafe", "/reload", "/metrics", "/health?lag=abc",
           "/replica?lag=1MB&tag_x=true", "/read-only?lag=-1", "/%zz", "//..//..", "*", "http://x/patroni",
           "/" + "a" * 9000]


def etcd_config(cluster):
    return json.loads(cluster.dcs_get("config"))


def nested(items):
    body = {}
    for path, value in items:
        node = body
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return body


def is_good(items):
    """Whether every value that ends up in the body (the last one at each path) is good."""
    final = {path: value for path, value in items}
    return all(any(p == path and json.dumps(v) == json.dumps(value) and good for p, v, good in CHANGES)
               for path, value in final.items())


def raw_exchange(port, payload, timeout, half_close):
    """Sends `payload`, reads until the server answers or closes, or `timeout`; returns
    (bytes, answered or closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        try:
            connection.sendall(payload)
            if half_close:
                connection.shutdown(socket.SHUT_WR)
        except OSError:
            return b"", True
        received = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = connection.recv(65536)
            except socket.timeout:
                return received, False
            except OSError:
                return received, True
            if not chunk:
                return received, True
            received += chunk
            if b"\r\n\r\n" in received and not received.startswith(b"HTTP/1.1 1"):
                return received, True  # an answer: the connection may stay open (keep-alive)
        return received, False


def random_raw_request(rng):
    method = rng.choice(METHODS)
    target = rng.choice(TARGETS)
    version = rng.choice(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9", ""])
    body = bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 17, 300, 5000])))
    if rng.random() < 0.4:
        body = json.dumps({"ttl": rng.choice([1, "x", None, [1]]), "pad": "y" * rng.randint(0, 50)}).encode()
    headers = [f"Host: 127.0.0.1"]
    length = rng.choice([len(body), len(body) + 10, max(0, len(body) - 3), -1, 2 ** 40, None])
    if length is not None:
        headers.append(f"Content-Length: {length}")
    if rng.random() < 0.2:
        headers.append("Transfer-Encoding: chunked")
    if rng.random() < 0.2:
        headers.append("Authorization: Basic " + rng.choice(["", "!!!", "YWRtaW46", "x" * 500]))
    if rng.random() < 0.1:
        headers.append("X-Garbage: " + "\x7f\x00" * rng.randint(1, 20))
    head = f"{method} {target} {version}\r\n" + "\r\n".join(headers) + "\r\n\r\n"
    payload = head.encode("latin-1") + body
    if rng.random() < 0.2:
        payload = payload[: rng.randint(0, len(payload))]
    return payload


def test_rest_fuzz_never_crashes_and_never_accepts_a_bad_change(make_cluster, profile):
    seed = int(os.environ.get("STAZ_FUZZ_SEED", random.randrange(1 << 30)))
    budget = float(os.environ.get("STAZ_FUZZ_SECONDS", "40"))
    rng = random.Random(seed)
    cluster = make_cluster()
    member = cluster.add_member("m0")
    cluster.wait_for_healthy(replicas=0)
    cluster.note(f"fuzz seed {seed}, {budget:.0f} s")
    pid = member.daemon_pid

    # The budget is a minimum, not the test: raw requests that stop short wait out the server's
    # request timeout, so how many inputs fit in it depends on the seed. Fuzzing goes on past
    # the budget until each kind of input has been tried often enough to mean something.
    minimum = {"raw": 11, "good accepted": 6, "bad refused": 11}
    counts = {kind: 0 for kind in minimum}
    started = time.monotonic()
    hard_stop = started + max(4 * budget, 240)
    while time.monotonic() < started + budget or any(counts[k] < n for k, n in minimum.items()):
        assert time.monotonic() < hard_stop, f"seed {seed}: too slow to try enough inputs: {counts}"
        if rng.random() < 0.3:
            payload = random_raw_request(rng)
            # Nothing sent and the socket left open is an idle keep-alive connection, which the
            # server rightly keeps for idle_timeout (90 s): a client that sends nothing closes.
            half_close = rng.random() < 0.5 or not payload
            _, closed = raw_exchange(member.api_port, payload, timeout=15, half_close=half_close)
            assert closed, f"seed {seed}: no answer and no close within 15 s for {payload[:200]!r}"
            counts["raw"] += 1
            continue
        pool = CHANGES if rng.random() < 0.6 else [change for change in CHANGES if change[2]]
        items = [(path, value) for path, value, _ in rng.sample(pool, rng.randint(1, 3))]
        if any(path == ("postgresql",) for path, _ in items):
            items = [(("postgresql",), "notamap")]  # a scalar there leaves no room for parameters
        body = nested(items)
        good = is_good(items)
        before = etcd_config(cluster)
        method = rng.choice(["PATCH", "PUT"])
        if method == "PUT":
            merged = json.loads(json.dumps(before))
            for path, value in items:
                node = merged
                for key in path[:-1]:
                    if not isinstance(node.get(key), dict):
                        node[key] = {}
                    node = node[key]
                node[path[-1]] = value
            body = merged
        code, answer = member.rest("/config", method=method, body=body, timeout=15)
        after = etcd_config(cluster)
        if good:
            assert code == 200, f"seed {seed}: {method} {body} (only good values) → {code} {answer}"
            counts["good accepted"] += 1
        else:
            assert code == 400, f"seed {seed}: {method} {body} (has a bad value) → {code} {answer}"
            assert after == before, f"seed {seed}: refused {method} {body} changed the config"
            counts["bad refused"] += 1

    cluster.note(f"fuzz counts: {counts}")
    assert member.daemon_pid == pid, "the daemon restarted or died"
    assert member.rest("/patroni")[0] == 200
    stored = etcd_config(cluster)
    for path, value, good in CHANGES:
        node = stored
        for key in path[:-1]:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict) and path[-1] in node and not good:
            assert json.dumps(node[path[-1]]) != json.dumps(value), f"seed {seed}: bad {path}={value} stored"
    code, answer = member.rest("/restart", method="POST", body={}, timeout=60)
    assert code == 200, f"seed {seed}: restart after fuzzing: {code} {answer}"
    wait_until(lambda: member.status().get("state") == "running", 30, "PostgreSQL runs after the restart")
    assert psql_value(member.pg_port, "SELECT 1") == "1"
    assert "Fatal error" not in member.log_text()
