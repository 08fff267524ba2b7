"""REST API security (basic authentication, TLS with a private CA) and Prometheus metrics."""

import os
import pwd
import re
import subprocess

from support import http_request, wait_until
from workload import postmaster_start_time

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
