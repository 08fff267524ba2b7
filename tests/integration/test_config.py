"""Configuration compatibility: the repository's Patroni-style sample config runs unchanged
(apart from ports and paths), and --validate-config names the offending key."""

import copy
import os
import re
import subprocess

import pytest

from testkit.profiles import REPO
from testkit.support import to_yaml, wait_until


def test_sample_config_runs_unchanged_apart_from_ports_and_paths(make_cluster, profile):
    cluster = make_cluster(scope="demo")
    member = cluster.add_member("postgresql0", start=False)
    sample = (REPO / "postgres0.yml").read_text()
    replacements = {
        "127.0.0.1:8008": f"127.0.0.1:{member.api_port}",
        "127.0.0.1:2379": f"127.0.0.1:{cluster.etcd_port}",
        "127.0.0.1:5432": f"127.0.0.1:{member.pg_port}",
        "/tmp/pgpass0": cluster.path("pgpass0"),
    }
    text = sample
    for old, new in replacements.items():
        assert old in text, f"postgres0.yml no longer contains {old}"
        text = text.replace(old, new)
    # data_dir stays relative ("data/postgres0"): the daemon resolves it against its cwd.
    assert re.search(r"^\s*data_dir: data/postgres0\s*$", text, re.M)
    member.data_dir = cluster.path("data", "postgres0")
    member.write_config(text)
    member.start()

    def primary_running():
        status = member.status()
        return status.get("role") == "primary" and status.get("state") == "running" and status
    status = wait_until(primary_running, profile.bootstrap_timeout, "sample-config member is a running primary")
    assert status["patroni"]["scope"] == "demo"
    assert os.path.exists(os.path.join(member.data_dir, "PG_VERSION"))
    wait_until(lambda: cluster.leader_name() == "postgresql0", 30,
               "GET /cluster names postgresql0 as leader")


def set_path(config, dotted, value):
    *parents, last = dotted.split(".")
    node = config
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value


DELETE = object()
BAD_CONFIGS = [
    # (description, dotted key, new value, text the output must contain, must exit non-zero)
    # Unknown keys are only warned about (Patroni ignores them too), but must be named.
    ("wrong type for ttl", "bootstrap.dcs.ttl", "thirty", "ttl", True),
    ("section is not a mapping", "restapi", "8008", "restapi", True),
    ("missing scope", "scope", DELETE, "scope", True),
    ("unknown top-level key", "bogus_setting", 1, "bogus_setting", False),
    ("unknown nested key", "restapi.lisen", "127.0.0.1:1", "restapi.lisen", False),
    # Half-configured REST security would leave unsafe endpoints open: refused.
    ("username without password", "restapi.authentication", {"username": "admin"},
     "restapi.authentication.password", True),
    ("misspelt password key", "restapi.authentication", {"username": "admin", "pasword": "x"},
     "restapi.authentication.pasword", True),
    ("verify_client without TLS", "restapi.verify_client", "required", "restapi.certfile", True),
    # What the daemon would die on (or silently adjust) at start.
    ("missing certfile", "restapi.certfile", "/nonexistent/server.crt", "restapi.certfile", True),
    ("ttl below the minimum", "bootstrap.dcs.ttl", 1, "bootstrap.dcs.ttl", True),
    ("loop_wait above ttl", "bootstrap.dcs.loop_wait", 600, "bootstrap.dcs.loop_wait", True),
    ("data directory owned by root", "postgresql.data_dir", "/root", "postgresql.data_dir", True),
    ("data directory is a file", "postgresql.data_dir", "/etc/hostname", "postgresql.data_dir", True),
    ("missing etcd3 CA file", "etcd3.cacert", "/nonexistent/ca.crt", "etcd3.cacert", True),
    ("log dir is a file", "log", {"dir": "/etc/hostname"}, "log.dir: '/etc/hostname' is not a directory", True),
    ("unknown log type", "log", {"type": "xml"}, "log.type: expected plain or json, got 'xml'", True),
    ("unknown log format field", "log", {"format": "%(asctime)s %(bogus)s"}, "log.format: unknown field", True),
]


def validate(profile, path):
    done = subprocess.run([profile.daemon, "--validate-config", path], capture_output=True,
                          text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.staz_only
def test_validate_config_accepts_generated_config(make_cluster, profile):
    cluster = make_cluster()
    member = cluster.add_member("m0", start=False)
    code, output = validate(profile, member.config_path)
    assert code == 0, output


@pytest.mark.staz_only
@pytest.mark.parametrize("description,key,value,expected,is_error", BAD_CONFIGS,
                         ids=[case[0].replace(" ", "-") for case in BAD_CONFIGS])
def test_validate_config_reports_bad_config(make_cluster, profile, description, key, value,
                                            expected, is_error):
    cluster = make_cluster()
    member = cluster.add_member("m0", start=False)
    config = copy.deepcopy(member.config())
    set_path(config, key, value)
    member.write_config(to_yaml(config) + "\n")
    code, output = validate(profile, member.config_path)
    if is_error:
        assert code != 0, f"{description}: --validate-config exited 0\n{output}"
    assert expected in output, f"{description}: output does not name '{expected}'\n{output}"


@pytest.mark.staz_only
def test_validate_config_reports_unreachable_dcs(make_cluster, profile):
    cluster = make_cluster()
    member = cluster.add_member("m0", start=False)
    config = member.config()
    closed_port = cluster.etcd_port + 1000  # nothing listens there (outside our etcd range)
    config["etcd3"] = {"host": f"127.0.0.1:{closed_port}"}
    member.write_config(to_yaml(config) + "\n")
    code, output = validate(profile, member.config_path)
    assert code != 0, f"--validate-config exited 0 for an unreachable etcd3 host\n{output}"
    assert "etcd3" in output and str(closed_port) in output, output


@pytest.mark.staz_only
def test_validate_config_never_echoes_the_file(make_cluster, profile):
    """A duplicated key is reported by line and column only: no text of the file, which holds
    passwords, reaches the output."""
    cluster = make_cluster()
    member = cluster.add_member("m0", start=False)
    config = member.config()
    text = to_yaml(config) + "\n"
    assert text.startswith("scope: ")
    member.write_config(text + f"scope: {config['scope']}\n")
    code, output = validate(profile, member.config_path)
    assert code != 0, output
    assert "line 1, column 1" in output, output  # the first of the repeated keys
    passwords = [user["password"] for user in config["postgresql"]["authentication"].values()]
    for secret in passwords + [config["scope"], config["name"]]:
        assert secret not in output.replace(member.config_path, ""), f"{secret!r} echoed:\n{output}"
    assert len(output.strip().splitlines()) == 1, output


@pytest.mark.staz_only
def test_validate_config_reports_key_not_matching_certificate(make_cluster, profile):
    """The daemon would refuse to start its REST API: --validate-config says so, naming both
    keys and files."""
    cluster = make_cluster()
    member = cluster.add_member("m0", start=False)
    certfile, keyfile, other_key = (cluster.path(name) for name in ("api.crt", "api.key", "other.key"))
    for command in (["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                     "-subj", "/CN=127.0.0.1", "-keyout", keyfile, "-out", certfile],
                    ["openssl", "genpkey", "-algorithm", "RSA", "-out", other_key]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    config = member.config()
    config["restapi"].update(certfile=certfile, keyfile=keyfile)
    member.write_config(to_yaml(config) + "\n")
    code, output = validate(profile, member.config_path)
    assert code == 0, output

    config["restapi"]["keyfile"] = other_key
    member.write_config(to_yaml(config) + "\n")
    code, output = validate(profile, member.config_path)
    assert code != 0, output
    assert "restapi.keyfile does not match restapi.certfile" in output, output
    assert other_key in output and certfile in output, output
