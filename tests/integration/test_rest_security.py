"""REST API security (basic authentication, TLS with a private CA) and Prometheus metrics."""

import json
import os
import pwd
import re
import socket
import subprocess
import time

import pytest

from testkit.support import http_request, wait_until
from testkit.workload import postmaster_start_time

AUTH = {"username": "admin", "password": "s3cret-pass"}


def test_unsafe_endpoint_requires_basic_auth(make_cluster, profile):
    cluster = make_cluster()
    member = cluster.add_member("m0", overrides={"restapi": {"authentication": AUTH}})
    cluster.wait_for_healthy(replicas=0)

    code, body = member.rest("/restart", "POST", {}, authenticated=False)
    assert code == 401, (code, body)
    code, body = http_request(member.api_port, "/restart", "POST", {},
                              auth=(AUTH["username"], "wrong"))
    assert code == 401, (code, body)
    # Safe GETs are never authenticated.
    assert member.rest("/patroni", authenticated=False)[0] == 200

    before = postmaster_start_time(member)
    code, body = member.rest("/restart", "POST", {}, timeout=60)
    assert code == 200, (code, body)
    assert postmaster_start_time(member) != before
    # The ctl authenticates with restapi.authentication of its config file.
    done = cluster.ctl("restart", cluster.scope, "m0", "--force")
    assert "Success: restart on member m0" in done.stdout, done.stdout


def make_certificates(directory):
    """A private CA and a server certificate for 127.0.0.1 signed by it; returns their paths."""
    paths = {name: os.path.join(directory, name) for name in
             ("ca.crt", "ca.key", "server.csr", "server.crt", "server.key", "server.ext")}
    with open(paths["server.ext"], "w") as handle:
        handle.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                     "keyUsage=critical,digitalSignature,keyEncipherment\n"
                     "extendedKeyUsage=serverAuth\n")
    commands = [
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=staz-it-ca", "-keyout", paths["ca.key"], "-out", paths["ca.crt"],
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", paths["server.key"], "-out", paths["server.csr"]],
        ["openssl", "x509", "-req", "-in", paths["server.csr"], "-CA", paths["ca.crt"],
         "-CAkey", paths["ca.key"], "-CAcreateserial", "-days", "2",
         "-extfile", paths["server.ext"], "-out", paths["server.crt"]],
    ]
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{' '.join(command)}: {done.stderr}"
    postgres = pwd.getpwnam("postgres")
    for name in ("ca.crt", "server.crt", "server.key"):
        os.chown(paths[name], postgres.pw_uid, postgres.pw_gid)
        os.chmod(paths[name], 0o600 if name.endswith(".key") else 0o644)
    return paths


def test_rest_api_over_tls_with_private_ca(make_cluster, profile):
    cluster = make_cluster()
    certificates = make_certificates(cluster.dir)
    tls = {"restapi": {"certfile": certificates["server.crt"],
                       "keyfile": certificates["server.key"],
                       "cafile": certificates["ca.crt"]},
           "ctl": {"cacert": certificates["ca.crt"]}}
    member = cluster.add_member("m0", overrides=tls)
    assert member.api_scheme == "https"
    cluster.wait_for_healthy(replicas=0)  # polls GET https://.../cluster verified by the CA

    code, body = member.rest("/patroni")
    assert code == 200 and body.get("role") == "primary", (code, body)
    assert body.get("patroni", {}).get("name") == "m0"
    code, body = http_request(member.api_port, "/patroni")  # plain http to the TLS port
    assert code != 200, (code, body)
    code, body = http_request(member.api_port, "/patroni", scheme="https")  # system CAs only
    assert code is None and "CERTIFICATE_VERIFY_FAILED" in body, (code, body)

    rows = cluster.ctl("list").stdout
    assert re.search(r"\|\s*m0\s*\|.*\|\s*Leader\s*\|\s*running\s*\|", rows), rows
    # A REST call by the ctl verifies the server certificate with ctl.cacert.
    done = cluster.ctl("reload", cluster.scope, "--force")
    assert "Reload request received for member m0" in done.stdout, done.stdout


def metric_values(member, name):
    """{label text: value} of one metric in GET /metrics."""
    code, text = member.rest("/metrics")
    assert code == 200 and isinstance(text, str), (code, text)
    return {labels: float(value) for labels, value in
            re.findall(rf"^{name}(\{{[^}}]*\}})?\s+(\S+)$", text, re.M)}


def test_metrics_report_primary_and_replica(make_cluster, profile):
    cluster = make_cluster()
    cluster.add_member("m0")
    cluster.add_member("m1")
    leader = cluster.member_named(cluster.wait_for_healthy(replicas=1))
    replica = next(m for m in cluster.members.values() if m is not leader)

    def metric(member, name):
        values = metric_values(member, name)
        expected_labels = f'{{scope="{cluster.scope}",name="{member.name}"}}'
        return values.get(expected_labels)
    wait_until(lambda: metric(leader, "patroni_primary") == 1, 10, "leader patroni_primary 1")
    assert metric(leader, "patroni_replica") == 0
    wait_until(lambda: metric(replica, "patroni_replica") == 1, 10, "replica patroni_replica 1")
    assert metric(replica, "patroni_primary") == 0
    assert metric(replica, "patroni_postgres_streaming") == 1
    assert metric(leader, "patroni_postgres_running") == 1


def _connect(port):
    connection = socket.create_connection(("127.0.0.1", port), timeout=5)
    connection.settimeout(5)
    return connection


def _read_until_closed(connection, seconds):
    """(bytes received, whether the server ended the connection) within `seconds`."""
    received = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        connection.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = connection.recv(65536)
        except socket.timeout:
            break
        except OSError:  # reset: closed too
            return received, True
        if not chunk:
            return received, True
        received += chunk
    return received, False


@pytest.mark.staz_only
def test_rest_connections_are_bounded(make_cluster, profile):
    """Bodies over 1 MiB get 413 and change nothing; unfinished, idle and surplus connections
    are closed; CONNECT and HTTP/0.9 are answered and closed (staz's restapi limits)."""
    cluster = make_cluster()
    limits = {"request_timeout": 1, "idle_timeout": 2, "max_connections": 16}
    member = cluster.add_member("m0", overrides={"restapi": limits})
    cluster.wait_for_healthy(replicas=0)
    code, before = member.rest("/config")
    assert code == 200, (code, before)

    # 1.4 MB of valid JSON: refused whole, nothing written to the DCS.
    pad = "x" * 1_400_000
    body = json.dumps({"pad": pad}).encode()
    connection = _connect(member.api_port)
    connection.sendall(b"PATCH /config HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       b"Content-Length: %d\r\n\r\n" % len(body))
    try:
        connection.sendall(body)
    except OSError:
        pass
    reply, closed = _read_until_closed(connection, 5)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert closed
    assert member.rest("/config") == (200, before)

    # Half a request: 408 and closed after request_timeout.
    connection = _connect(member.api_port)
    connection.sendall(b"GET /patroni HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    reply, closed = _read_until_closed(connection, 5)
    assert reply.startswith(b"HTTP/1.1 408") and closed, reply[:200]

    # Kept alive and idle: closed after idle_timeout.
    connection = _connect(member.api_port)
    connection.sendall(b"GET /patroni HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    reply, closed = _read_until_closed(connection, 6)
    assert reply.startswith(b"HTTP/1.1 200") and closed, reply[:200]

    # Requests staz cannot serve: answered at once, then closed.
    for request, status in ((b"CONNECT example.com:443 HTTP/1.1\r\n\r\n", b"HTTP/1.1 501"),
                            (b"GET /\r\n", b"HTTP/1.1 400")):
        connection = _connect(member.api_port)
        connection.sendall(request)
        reply, closed = _read_until_closed(connection, 3)
        assert reply.startswith(status) and closed, (request, reply[:200])

    # More connections than max_connections: the surplus is closed unanswered, with a WARNING.
    # (All opened before any can reach idle_timeout.)
    held = [_connect(member.api_port) for _ in range(limits["max_connections"] + 8)]
    for connection in held:
        connection.sendall(b"GET /liveness HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answers = []
    for connection in held:
        try:
            answers.append(connection.recv(65536))
        except socket.timeout:
            answers.append(None)
        except OSError:
            answers.append(b"")
    answered = sum(1 for answer in answers if answer and answer.startswith(b"HTTP/1.1 200"))
    refused = sum(1 for answer in answers if answer == b"")
    assert refused >= 8 and answered + refused == len(held), answers
    wait_until(lambda: "restapi.max_connections: 16" in member.log_text(), 10, "the connection-limit warning")
    for connection in held:
        connection.close()
    wait_until(lambda: member.rest("/patroni")[0] == 200, 10, "the API answering again")
