"""The real patronictl and stazctl must describe a running cluster identically (members,
hosts, roles, states, timelines, column names), over the etcd v3 and the etcd v2 API, and
print the same answers to the same SQL (`query`: values of many types, several statements,
errors, transactions)."""

import json
import os
import subprocess

import pytest

from testkit.profiles import PATRONICTL
from testkit.support import SUPERUSER_PASSWORD

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


# Each is run by both tools; `{tool}` names a table of the tool's own, so that what one run
# changes cannot make the other's answer differ.
QUERIES = [
    "SELECT 1 AS a, 'x' AS b, NULL AS c, true AS d, false AS e",
    "SELECT 1.50::numeric AS n, 0.0000001::numeric AS tiny, 'NaN'::numeric AS nan_n, 2.5::float8 AS f8,"
    " 0.1::float4 AS f4, 1e300::float8 AS big, 'Infinity'::float8 AS inf, -0.0::float8 AS negzero,"
    " 12345678901::int8 AS i8, 32767::int2 AS i2, 'pg_class'::regclass::oid AS o, 'abc'::name AS nm,"
    " 'x'::char(3) AS padded, E'tab\\there' AS tabbed",
    "SELECT '{\"a\": [1, \"b\", null, 1.5], \"k\": {\"z\": true}}'::jsonb AS jb, '[1, 2]'::json AS j,"
    " ARRAY[1, 2] AS ints, '{x,NULL,\"it''s\"}'::text[] AS texts, ARRAY[[1], [2]] AS matrix,"
    " '\\x00ff27'::bytea AS raw, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS id, '0/16B3748'::pg_lsn AS lsn",
    "SELECT '2020-01-02 03:04:05.678+00'::timestamptz AS tz, '2020-06-01 12:00:00+00'::timestamptz AS summer,"
    " '2020-01-02 03:04:05'::timestamp AS ts, '2020-01-02'::date AS d, '12:00:01.5'::time AS t,"
    " '1 year 2 mons 3 days 04:05:06.5'::interval AS iv, '-1 hour'::interval AS neg,"
    " '10.1.2.3'::inet AS ip, '10.1.2.3/24'::inet AS ip24, '2001:db8::1'::inet AS ip6, '10.0.0.0/8'::cidr AS net",
    # Rows are loaded after the whole text ran, in the time zone it left the session in.
    "SELECT '2020-06-01 12:00:00+00'::timestamptz AS t; SET TIME ZONE 'America/New_York'",
    "SELECT x FROM generate_series(1, 0) AS x",
    "SELECT 1 AS first; SELECT 2 AS second",
    "SELECT 'a;b' AS \"x;y\", $$c;d$$ AS z; DO $$BEGIN PERFORM 1; END$$",
    "SELECT * FROM no_such_table",
    "CREATE TABLE IF NOT EXISTS q_{tool} (x int)",
    "INSERT INTO q_{tool} VALUES (1); SELECT 1/0",
    "SELECT count(*) AS rows_after_rollback FROM q_{tool}",
    "INSERT INTO q_{tool} VALUES (2); INSERT INTO q_{tool} VALUES (3)",
    "SELECT array_agg(x ORDER BY x) AS committed FROM q_{tool}",
    "SELECT 1; VACUUM",
    "",
]


def comparable(output):
    """patronictl's error rows start with the time of the run: that field is dropped. Its
    "didn't produce records" error also names the command status, which PostgresNIO does
    not report: that tail is dropped too."""
    lines = []
    for line in output.splitlines():
        if line.count("\t") == 1 and "ERROR, SQLSTATE:" in line:
            line = line.split("\t", 1)[1].split(" (command status:")[0]
        lines.append(line)
    return lines


def test_patronictl_and_stazctl_query_agree(make_cluster, profile):
    assert os.access(PATRONICTL, os.X_OK), (
        f"{PATRONICTL} missing: run scripts/patroni-venv.sh (needed for this comparison)")
    cluster = make_cluster()
    cluster.add_member("m0")
    cluster.wait_for_healthy(replicas=0)
    config = cluster.member_named("m0").config_path
    env = dict(os.environ, LANG="C.UTF-8", PGPASSWORD=SUPERUSER_PASSWORD)

    def query(executable, tool, sql, *extra):
        done = subprocess.run([executable, "-c", config, "query", "-U", "postgres", "-d", "postgres",
                               "-c", sql.replace("{tool}", tool), *extra],
                              capture_output=True, text=True, timeout=60, env=env)
        assert done.returncode == 0, f"{executable} query {sql!r} failed: {done.stderr}"
        return done.stdout

    for sql in QUERIES:
        reference = query(PATRONICTL, "patronictl", sql)
        ours = query(profile.ctl, "stazctl", sql)
        assert comparable(ours) == comparable(reference), f"{sql!r}\n--- patronictl\n{reference}--- stazctl\n{ours}"

    # Ground truth, so that agreeing on something wrong cannot pass.
    assert query(profile.ctl, "stazctl", QUERIES[0]) == "a\tb\tc\td\te\n1\tx\tNone\tTrue\tFalse\n"
    assert comparable(query(profile.ctl, "stazctl", "SELECT count(*) FROM q_{tool}"))[1] == "2"
    assert "ERROR, SQLSTATE: 22012" in query(profile.ctl, "stazctl", "INSERT INTO q_{tool} VALUES (1); SELECT 1/0")

    for fmt in ("json", "yaml", "pretty"):
        reference = query(PATRONICTL, "patronictl", QUERIES[0], "--format", fmt)
        assert query(profile.ctl, "stazctl", QUERIES[0], "--format", fmt) == reference, fmt
