"""`mesh.schema`: the replicated tables come from one SQL file that every zone's leader applies
before its database joins the mesh, as a new user sets a mesh up from the README: no
post_bootstrap script, no database made by hand. Three zones of one member each (pglogical,
or Spock with STAZ_MESH_PROVIDER=spock).

- From empty data directories, staz creates the database, runs the file in each zone and only
  then subscribes: a row written in one zone is read in the other two.
- The file changed (a table added): each zone applies it once more, the new table joins the
  replication sets, and its rows replicate. An unchanged file is never run again.
- The same row updated in two zones at once: the later commit wins in all three zones (last
  update wins, by commit timestamp), and the zone whose newer row met the older update counts
  the conflict (Spock from `spock.resolutions`, pglogical from its log lines) in GET /mesh,
  /metrics and `stazctl mesh`."""

import re

import pytest

from testkit.mesh import Mesh
from testkit.support import NotYet, OpenTransaction, wait_until

pytestmark = pytest.mark.staz_only

SCHEMA = """-- The replicated tables (run in every zone, in one transaction, whenever this file changes).
CREATE TABLE IF NOT EXISTS public.accounts (id bigint PRIMARY KEY, owner text NOT NULL, balance numeric NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS public.audit (at timestamptz NOT NULL DEFAULT now(), note text);  -- no key: inserts only
"""
ADDED = "CREATE TABLE IF NOT EXISTS public.orders (id bigint PRIMARY KEY, account bigint NOT NULL, amount numeric);\n"


def wait_schema_current(mesh, timeout, not_digest=None):
    """Every zone has applied the file's current version (not `not_digest`, the one before an
    edit) and replicates all its tables."""
    def current():
        for scope in mesh.scopes:
            database = mesh.database_status(scope)
            schema = database.get("schema") or {}
            if schema.get("current") is not True or schema.get("applied_digest") == not_digest:
                raise NotYet(f"{scope}: schema {schema}")
            if database.get("tables") != database.get("tables_replicated"):
                raise NotYet(f"{scope}: {database.get('tables_replicated')} of {database.get('tables')} tables replicated")
        return {scope: mesh.database_status(scope)["schema"] for scope in mesh.scopes}
    return wait_until(current, timeout, "the schema file applied in every zone", interval=0.5)


def test_schema_file_builds_the_mesh_tables_in_every_zone(request, make_cluster):
    mesh = Mesh(make_cluster, register=request.node.staz_clusters.append, reconcile_interval=2)
    mesh.start_from_schema(SCHEMA)
    mesh.wait_replicating(timeout=120)
    first = wait_schema_current(mesh, timeout=30)
    mesh.note(f"schema applied: {first}")
    assert len({s["applied_digest"] for s in first.values()}) == 1, first

    # A row written in one zone is read in the other two (the keyed and the keyless table).
    mesh.sql("zone-a", "INSERT INTO public.accounts VALUES (1, 'ann', 10); INSERT INTO public.audit (note) VALUES ('from a')")
    mesh.sql("zone-c", "INSERT INTO public.accounts VALUES (3, 'cy', 30)")
    for scope in mesh.scopes:
        wait_until(lambda: mesh.sql(scope, "SELECT string_agg(owner, ',' ORDER BY id) FROM public.accounts") == "ann,cy" or None,
                   30, f"both accounts in {scope}")
        wait_until(lambda: mesh.sql(scope, "SELECT count(*) FROM public.audit WHERE note = 'from a'") == "1" or None,
                   30, f"the audit row in {scope}")
    # Updates replicate too (the keyed table is in the `default` set).
    mesh.sql("zone-b", "UPDATE public.accounts SET balance = 15 WHERE id = 1")
    for scope in mesh.scopes:
        wait_until(lambda: mesh.sql(scope, "SELECT balance FROM public.accounts WHERE id = 1") == "15" or None,
                   30, f"the update in {scope}")

    # The same file is never run again: later passes leave the record alone.
    mesh.wait_for_passes("zone-a", 2, timeout=30)
    assert mesh.database_status("zone-a")["schema"]["applied_at"] == first["zone-a"]["applied_at"]

    # A table added to the file: applied once more in every zone, and it replicates.
    mesh.write_schema(SCHEMA + ADDED)
    second = wait_schema_current(mesh, timeout=60, not_digest=first["zone-a"]["applied_digest"])
    assert len({s["applied_digest"] for s in second.values()}) == 1, second
    mesh.sql("zone-b", "INSERT INTO public.orders VALUES (7, 1, 2.5)")
    for scope in mesh.scopes:
        wait_until(lambda: mesh.sql(scope, "SELECT amount FROM public.orders WHERE id = 7") == "2.5" or None,
                   30, f"the order in {scope}")
    # Only the file's tables and staz's record exist: nothing was made twice or elsewhere.
    tables = mesh.sql("zone-c", "SELECT string_agg(table_schema || '.' || table_name, ',' ORDER BY table_schema, table_name) FROM "
                      "information_schema.tables WHERE table_schema IN ('public', 'staz')")
    assert tables == "public.accounts,public.audit,public.orders,staz.mesh_schema", tables


def test_concurrent_updates_resolve_last_update_wins_and_are_counted(request, make_cluster):
    mesh = Mesh(make_cluster, register=request.node.staz_clusters.append, reconcile_interval=2)
    mesh.start_from_schema(SCHEMA)
    mesh.wait_replicating(timeout=120)
    wait_schema_current(mesh, timeout=30)
    mesh.sql("zone-c", "INSERT INTO public.accounts VALUES (1, 'start', 0)")
    for scope in mesh.scopes:
        wait_until(lambda: mesh.sql(scope, "SELECT owner FROM public.accounts WHERE id = 1") == "start" or None,
                   30, f"row 1 in {scope}")
    before = mesh.database_status("zone-b").get("conflicts_resolved", 0)

    # Both zones update row 1 before either commits, so neither saw the other's change; zone-b
    # commits last, so its row is the newer one everywhere.
    in_a = OpenTransaction(mesh.leader_member("zone-a").pg_port, database="app")
    in_b = OpenTransaction(mesh.leader_member("zone-b").pg_port, database="app")
    in_a.run("BEGIN; UPDATE public.accounts SET owner = 'from a', balance = 1 WHERE id = 1;")
    in_b.run("BEGIN; UPDATE public.accounts SET owner = 'from b', balance = 2 WHERE id = 1;")
    in_a.commit()
    in_b.commit()
    mesh.note("row 1 updated in zone-a and zone-b concurrently; zone-b committed last")

    def converged():
        rows = {scope: mesh.sql(scope, "SELECT owner || '/' || balance FROM public.accounts WHERE id = 1") for scope in mesh.scopes}
        if set(rows.values()) != {"from b/2"}:
            raise NotYet(rows)
        return rows
    rows = wait_until(converged, 30, "zone-b's update in every zone")
    print(f"\nROWS after the concurrent updates: {rows}")

    # Zone-b received zone-a's older update over its own newer row and kept its own: a
    # conflict both providers record (Spock saves only resolutions where the local row won;
    # a remote row replacing an older local one is its normal replication flow).
    def counted():
        database = mesh.database_status("zone-b")
        if database.get("conflicts_resolved", 0) <= before:
            raise NotYet(f"zone-b: conflicts_resolved={database.get('conflicts_resolved')}")
        return database
    database = wait_until(counted, 30, "zone-b's GET /mesh counting the conflict")
    print(f"CONFLICTS " + ", ".join(f"{scope}: {mesh.database_status(scope).get('conflicts_resolved')}" for scope in mesh.scopes)
          + f"; zone-b's last: {database.get('last_conflict')}")
    assert "accounts" in database.get("last_conflict", ""), database
    code, metrics = mesh.leader_member("zone-b").rest("/metrics")
    sample = re.search(r'^staz_mesh_conflicts_resolved\{[^}]*database="app"[^}]*\} (\S+)$', metrics if code == 200 else "", re.M)
    assert sample and float(sample.group(1)) >= 1, metrics
    assert "conflicts resolved" in mesh.first.ctl("mesh").stdout
