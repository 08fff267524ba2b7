"""The real patronictl and stazctl must describe a running cluster identically (members,
hosts, roles, states, timelines, column names), over the etcd v3 and the etcd v2 API."""

import json
import os
import subprocess

import pytest

from profiles import PATRONICTL

STABLE_COLUMNS = ("Cluster", "Member", "Host", "Role", "State", "TL")


def run_ctl(executable, config, *args):
    done = subprocess.run([executable, "-c", config, *args], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, LANG="C.UTF-8"))
    assert done.returncode == 0, f"{executable} {' '.join(args)} failed: {done.stderr}"
    return done.stdout


def table_cells(pretty):
    """Title (without border dashes) and the first six cells of every row of a pretty table."""
    lines = pretty.strip().splitlines()
    title = lines[0].strip("+- ")
    rows = [[cell.strip() for cell in line.strip("|").split("|")][:5]
            for line in lines if line.startswith("|")]
    return title, rows


@pytest.mark.parametrize("dcs", ["etcd3", "etcd"])
def test_patronictl_and_stazctl_list_agree(make_cluster, profile, dcs):
    assert os.access(PATRONICTL, os.X_OK), (
        f"{PATRONICTL} missing: run scripts/patroni-venv.sh (needed for this comparison)")
    cluster = make_cluster(dcs=dcs)
    for index in range(3):
        cluster.add_member(f"m{index}")
    leader = cluster.wait_for_healthy(replicas=2)
    config = cluster.member_named("m0").config_path

    reference = json.loads(run_ctl(PATRONICTL, config, "list", "-f", "json"))
    ours = json.loads(run_ctl(profile.ctl, config, "list", "-f", "json"))

    # Ground truth first, so agreeing on something wrong cannot pass.
    by_member = {row["Member"]: row for row in reference}
    assert sorted(by_member) == ["m0", "m1", "m2"], reference
    assert by_member[leader]["Role"] == "Leader" and by_member[leader]["State"] == "running"
    for name, row in by_member.items():
        member = cluster.member_named(name)
        assert row["Host"] == f"127.0.0.1:{member.pg_port}", row
        if name != leader:
            assert (row["Role"], row["State"]) == ("Replica", "streaming"), row

    assert [sorted(row) for row in ours] == [sorted(row) for row in reference], (ours, reference)
    assert ([{key: row.get(key) for key in STABLE_COLUMNS} for row in ours]
            == [{key: row.get(key) for key in STABLE_COLUMNS} for row in reference])

    reference_title, reference_rows = table_cells(run_ctl(PATRONICTL, config, "list"))
    our_title, our_rows = table_cells(run_ctl(profile.ctl, config, "list"))
    assert our_title == reference_title
    assert our_rows == reference_rows
