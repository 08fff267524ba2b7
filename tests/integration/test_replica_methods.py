"""Replicas built by Patroni's custom replica methods with a real pgBackRest repository: a new
member restores from the repository instead of running pg_basebackup against the primary, and,
with every member gone, a `no_leader` member restores itself from the repository alone."""

import os
import pwd
import subprocess

import pytest

from support import psql_value, wait_until

pytestmark = pytest.mark.staz_only

STANZA = "main"


def pgbackrest_config(cluster, member):
    """One pgBackRest configuration per member: the shared repository, this member's data."""
    path = cluster.path(f"pgbackrest-{member.name}.conf")
    with open(path, "w") as handle:
        handle.write(f"""[global]
repo1-path={cluster.path('pgbackrest-repo')}
log-path={cluster.path('pgbackrest-log')}
lock-path={cluster.path('pgbackrest-lock')}
log-level-console=warn
log-level-file=info
start-fast=y

[{STANZA}]
pg1-path={member.data_dir}
pg1-port={member.pg_port}
pg1-socket-path={cluster.dir}
pg1-user=postgres
""")
    postgres = pwd.getpwnam("postgres")
    os.chown(path, postgres.pw_uid, postgres.pw_gid)
    for directory in ("pgbackrest-repo", "pgbackrest-log", "pgbackrest-lock"):
        os.makedirs(cluster.path(directory), exist_ok=True)
        os.chown(cluster.path(directory), postgres.pw_uid, postgres.pw_gid)
    return path


def pgbackrest(config, *args):
    """pgBackRest as the postgres user (scripts/install-deps.sh installs it; missing, this fails)."""
    done = subprocess.run(["runuser", "-u", "postgres", "--", "pgbackrest", f"--config={config}",
                           f"--stanza={STANZA}", *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"pgbackrest {' '.join(args)}: {done.stdout}{done.stderr}"


def restore_method(config, no_leader=False):
    """Patroni's documented pgBackRest replica method: pgBackRest knows the data directory."""
    return {"command": f"pgbackrest --config={config} --stanza={STANZA} --delta restore --type=standby",
            "keep_data": True, "no_params": True, **({"no_leader": True} if no_leader else {})}


def test_replicas_restore_from_pgbackrest_with_and_without_a_leader(make_cluster):
    cluster = make_cluster()
    placeholder = cluster.add_member("m0", start=False)
    config0 = pgbackrest_config(cluster, placeholder)
    archive = f"pgbackrest --config={config0} --stanza={STANZA} archive-push %p"
    m0 = placeholder
    m0.overrides = {
        "bootstrap": {"dcs": {"postgresql": {"pg_hba": [
            "local all postgres trust",
            "host replication replicator 127.0.0.1/32 md5",
            "host all all 127.0.0.1/32 md5"]}}},
        "postgresql": {"parameters": {"archive_mode": "on", "archive_command": archive}},
    }
    m0.write_config()
    m0.start()
    cluster.wait_for_healthy(replicas=0, timeout=90)
    psql_value(m0.pg_port, "CREATE TABLE restored(id int primary key); INSERT INTO restored SELECT generate_series(1, 100)")
    pgbackrest(config0, "stanza-create")
    pgbackrest(config0, "backup", "--type=full")

    # A replica restored from the repository, not copied from the primary.
    m1 = cluster.add_member("m1", start=False)
    config1 = pgbackrest_config(cluster, m1)
    m1.overrides = {"postgresql": {"create_replica_methods": ["pgbackrest", "basebackup"],
                                   "pgbackrest": restore_method(config1)}}
    m1.write_config()
    m1.start()
    cluster.wait_for_healthy(replicas=1, timeout=120)
    log = m1.log_text()
    assert "replica has been created using pgbackrest" in log, log[-3000:]
    assert "with pg_basebackup" not in log, log[-3000:]
    psql_value(m0.pg_port, "INSERT INTO restored VALUES (101)")
    wait_until(lambda: psql_value(m1.pg_port, "SELECT count(*) FROM restored") == "101", 30,
               "a row written after the restore streams to m1")

    # Every member gone: a member with a no_leader method rebuilds from the repository alone.
    for member in (m1, m0):
        member.kill_daemon(sig=15)
        assert member.wait_daemon_exit(60) is not None, f"{member.name} did not stop"
    wait_until(lambda: not cluster.dcs_get("leader").strip(), 30, "the leader key is gone")
    m2 = cluster.add_member("m2", start=False)
    config2 = pgbackrest_config(cluster, m2)
    # With no primary to stream from, the standby replays the archive (Patroni's
    # recovery_conf.restore_command; staz takes it from the parameters).
    m2.overrides = {"postgresql": {"create_replica_methods": ["pgbackrest"],
                                   "pgbackrest": restore_method(config2, no_leader=True),
                                   "parameters": {"restore_command": f'pgbackrest --config={config2} --stanza={STANZA} archive-get %f "%p"'}}}
    m2.write_config()
    m2.start()
    wait_until(lambda: "replica has been created using pgbackrest" in m2.log_text(), 120,
               "m2 restored without a leader")
    assert "trying to bootstrap (without leader)" in m2.log_text()
    assert "with pg_basebackup" not in m2.log_text()
    # It replays the whole archive, so it holds everything the last leader wrote and, nobody
    # else being left, takes over with every row.
    wait_until(lambda: m2.status().get("role") == "primary", 90, "m2 leads the rebuilt cluster")
    wait_until(lambda: psql_value(m2.pg_port, "SELECT count(*) FROM restored") == "101", 30,
               "every row, the one written after the backup included, is on m2")
