"""Real pgBackRest for the tests and the disaster-recovery figures: one configuration per member
over a shared repository, the tool run as the postgres user, Patroni's documented pgBackRest
replica method, and a one-member cluster archiving to a new stanza."""

import os
import pwd
import subprocess

from .members import deep_merge

STANZA = "main"


def pgbackrest_config(cluster, member, repository=None):
    """One pgBackRest configuration per member: the shared repository (`repository`'s, default
    this cluster's), this member's data."""
    repository = repository or cluster
    path = cluster.path(f"pgbackrest-{member.name}.conf")
    with open(path, "w") as handle:
        handle.write(f"""[global]
repo1-path={repository.path('pgbackrest-repo')}
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


def archived_primary(cluster, dynamic=None):
    """A one-member cluster archiving to pgBackRest, with a stanza and no backup yet; `dynamic`:
    more of bootstrap.dcs.postgresql."""
    m0 = cluster.add_member("m0", start=False)
    config0 = pgbackrest_config(cluster, m0)
    m0.overrides = {
        "bootstrap": {"dcs": {"postgresql": deep_merge({"pg_hba": [
            "local all postgres trust",
            "host replication replicator 127.0.0.1/32 md5",
            "host all all 127.0.0.1/32 md5"]}, dynamic or {})}},
        "postgresql": {"parameters": {"archive_mode": "on",
                                      "archive_command": f"pgbackrest --config={config0} --stanza={STANZA} archive-push %p"}},
    }
    m0.write_config()
    m0.start()
    cluster.wait_for_healthy(replicas=0, timeout=90)
    pgbackrest(config0, "stanza-create")
    return m0, config0
