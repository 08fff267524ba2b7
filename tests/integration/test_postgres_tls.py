"""PostgreSQL reached the way Patroni's own acceptance configuration reaches it: staz's own
sessions over the unix socket (`use_unix_socket`), every TCP connection with TLS and a client
certificate (`hostssl ... clientcert=verify-ca` only; `sslmode: verify-ca` with `sslcert`,
`sslkey`, `sslrootcert` for the superuser, replication and rewind roles). Bootstrap, a clone
with pg_basebackup, streaming, a failover and pg_rewind of the old primary must all work; none
of it may fall back to a plain TCP connection, which pg_hba refuses."""

import os
import pwd
import subprocess

from testkit.support import PG_BIN, NotYet, freeze_process, wait_until

pg_hba = [
    "local all all trust",
    "local replication all trust",
    "hostssl replication replicator all md5 clientcert=verify-ca",
    "hostssl all all all md5 clientcert=verify-ca",
]


def make_certificate(cluster):
    """One self-signed certificate for 127.0.0.1, used as CA, server and client certificate
    (as Patroni's acceptance suite does); key readable by the postgres user only."""
    key, cert = cluster.path("tls.key"), cluster.path("tls.crt")
    subprocess.run(["openssl", "req", "-nodes", "-new", "-x509", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    postgres = pwd.getpwnam("postgres")
    for path in (key, cert):
        os.chown(path, postgres.pw_uid, postgres.pw_gid)
    os.chmod(key, 0o600)
    return key, cert


def tls_overrides(key, cert):
    role = {"sslmode": "verify-ca", "sslrootcert": cert, "sslcert": cert, "sslkey": key}
    return {
        "postgresql": {
            "use_unix_socket": True,
            "use_unix_socket_repl": True,
            "pg_hba": pg_hba,
            "parameters": {"ssl": "on", "ssl_ca_file": cert, "ssl_cert_file": cert, "ssl_key_file": key},
            "authentication": {
                "superuser": dict(role), "replication": dict(role), "rewind": dict(role),
            },
        },
        "bootstrap": {"dcs": {"postgresql": {"pg_hba": pg_hba}}},
    }


def socket_sql(cluster, member, sql):
    """SQL as the superuser over the member's unix socket (pg_hba: local trust)."""
    done = subprocess.run([f"{PG_BIN}/psql", "-h", cluster.dir, "-p", str(member.pg_port), "-U", "postgres",
                           "-d", "postgres", "-Atc", sql], capture_output=True, text=True, timeout=15)
    if done.returncode != 0:
        raise NotYet(f"psql on {member.name}'s socket: {done.stderr.strip()}")
    return done.stdout.strip()


def test_tls_client_certificates_and_unix_sockets(make_cluster, profile):
    cluster = make_cluster()
    key, cert = make_certificate(cluster)
    overrides = tls_overrides(key, cert)
    for index in range(2):
        cluster.add_member(f"m{index}", overrides=overrides)
    leader_name = cluster.wait_for_healthy(replicas=1, timeout=120)
    leader = cluster.member_named(leader_name)
    replica = next(m for name, m in cluster.members.items() if name != leader_name)

    # TCP without a client certificate is refused: nothing below can have used plain TCP.
    plain = subprocess.run([f"{PG_BIN}/psql", "-h", "127.0.0.1", "-p", str(leader.pg_port), "-U", "postgres",
                            "-d", "postgres", "-Atc", "SELECT 1"], capture_output=True, text=True, timeout=15,
                           env=dict(os.environ, PGPASSWORD="x", PGSSLMODE="disable"))
    assert plain.returncode != 0 and "no pg_hba.conf entry" in plain.stderr, plain.stderr

    # The replica was cloned and streams over TLS with the client certificate.
    def streaming_over_tls():
        row = socket_sql(cluster, leader, "SELECT s.ssl, s.client_dn FROM pg_stat_replication r "
                         f"JOIN pg_stat_ssl s ON s.pid = r.pid WHERE r.application_name = '{replica.name}' "
                         "AND r.state = 'streaming'")
        if not row:
            raise NotYet(f"{replica.name} not streaming")
        return row
    row = wait_until(streaming_over_tls, 30, f"{replica.name} streaming from {leader.name}")
    assert row == "t|/CN=127.0.0.1", row

    # staz's own sessions on the leader come over the unix socket (no client address).
    sessions = socket_sql(cluster, leader, "SELECT count(*) FILTER (WHERE client_addr IS NULL) || '/' || count(*) "
                          "FROM pg_stat_activity WHERE application_name = 'staz'")
    local, total = sessions.split("/")
    assert int(total) >= 1 and local == total, f"staz sessions on the socket / all: {sessions}"

    # Failover with the replica behind, then the old primary is rewound (pg_rewind's
    # connection to the new primary: TLS, rewind role's certificate) and streams again.
    socket_sql(cluster, leader, "CREATE TABLE tls_check (id int PRIMARY KEY)")
    wait_until(lambda: socket_sql(cluster, replica, "SELECT to_regclass('tls_check') IS NOT NULL") == "t" or None,
               30, "tls_check on the replica")
    receiver = socket_sql(cluster, replica, "SELECT pid FROM pg_stat_wal_receiver")
    assert receiver, "no WAL receiver on the replica"
    freeze_process(int(receiver))
    socket_sql(cluster, leader, "INSERT INTO tls_check SELECT generate_series(1, 100)")
    leader.crash()
    os.kill(int(receiver), 9)
    new_leader = cluster.wait_for_new_leader({leader.name}, profile.failover_timeout)
    assert new_leader == replica.name
    # /cluster names the leader once it holds the lock, a moment before its promotion ends.
    wait_until(lambda: socket_sql(cluster, replica, "INSERT INTO tls_check VALUES (1000)") is not None, 10,
               f"{replica.name} accepting writes after taking the lock")
    leader.start()

    def rejoined():
        row = socket_sql(cluster, replica, "SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s "
                         f"ON s.pid = r.pid WHERE r.application_name = '{leader.name}' AND r.state = 'streaming'")
        if row != "t":
            raise NotYet(f"{leader.name} not streaming over TLS yet ({row!r})")
        return True
    wait_until(rejoined, 90, f"{leader.name} rewound and streaming from {replica.name}")
    assert "pg_rewind finished" in leader.log_text(), "the old primary rejoined without pg_rewind"
    assert socket_sql(cluster, leader, "SELECT count(*) FROM tls_check WHERE id = 1000") == "1"
