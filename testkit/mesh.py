"""Several zones (each a harness Cluster with its own scope) sharing one etcd, with the mesh
section in every member's configuration: the three-zone Spock/pglogical layout on loopback.

Every zone's first member runs a post_bootstrap script that creates the mesh database and the
test tables (one with a primary key, one without), so the schema exists in every zone before the mesh subscribes (subscriptions are
created without data synchronisation)."""

import os
import pwd
import time

from .harness import Cluster
from .support import NotYet, PG_BIN, psql, wait_until

MESH_DATABASE = "app"
MESH_TABLE = "mesh_items"
# Without a primary key: in the insert-only replication set, and where a transaction applied
# twice shows up as a duplicate row.
MESH_KEYLESS_TABLE = "mesh_log"

POST_BOOTSTRAP = f"""#!/bin/sh
# $1: libpq DSN of the new cluster's postgres database (password from PGPASSFILE).
set -e
{PG_BIN}/psql "$1" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE {MESH_DATABASE}"
{PG_BIN}/psql "$(echo "$1" | sed 's/dbname=postgres/dbname={MESH_DATABASE}/')" -v ON_ERROR_STOP=1 -qc \\
  "CREATE TABLE public.{MESH_TABLE} (id bigint PRIMARY KEY, zone text NOT NULL, note text);
   CREATE TABLE public.{MESH_KEYLESS_TABLE} (id bigint NOT NULL, zone text NOT NULL)"
"""


class Mesh:
    """zones[scope] -> Cluster; all members carry `mesh_section()` in their configuration."""

    def __init__(self, make_cluster, register, zones=("zone-a", "zone-b", "zone-c"),
                 provider=None, reconcile_interval=2, own_etcd=False):
        """make_cluster: the conftest factory (starts etcd); register(cluster): adds a zone's
        cluster to the test's clusters (cleanup and failure diagnostics). own_etcd: every zone
        runs its own one-member etcd, named in its `mesh.zones` entry (else they share the
        first zone's)."""
        self.own_etcd = own_etcd
        self.scopes = list(zones)
        # STAZ_MESH_PROVIDER=spock runs the mesh tests on Spock (with STAZ_PG_BIN pointing at
        # a Spock-patched PostgreSQL: scripts/spock-build.sh).
        self.provider = provider or os.environ.get("STAZ_MESH_PROVIDER") or "pglogical"
        self.reconcile_interval = reconcile_interval
        self.zones = {}
        first = make_cluster(scope=self.scopes[0])
        self.zones[self.scopes[0]] = first
        for scope in self.scopes[1:]:
            # Its own directory and members; the first zone's etcd, or one of its own.
            cluster = Cluster(first.profile, scope=scope)
            register(cluster)
            if own_etcd:
                cluster.start_etcd(name=scope)
            else:
                cluster.etcd_port = first.etcd_port
            self.zones[scope] = cluster
        self.script = first.path("mesh-post-bootstrap.sh")
        with open(self.script, "w") as handle:
            handle.write(POST_BOOTSTRAP)
        os.chmod(self.script, 0o755)
        postgres = pwd.getpwnam("postgres")
        os.chown(self.script, postgres.pw_uid, postgres.pw_gid)

    # SQL names that differ between the providers (catalog tables and columns are the same).
    FUNCTIONS = {
        "pglogical": {"drop_subscription": "drop_subscription", "subscription_status": "show_subscription_status"},
        "spock": {"drop_subscription": "sub_drop", "subscription_status": "sub_show_status"},
    }

    def fn(self, name):
        """`schema.function` of the provider for a pglogical-style name in FUNCTIONS."""
        return f"{self.provider}.{self.FUNCTIONS[self.provider][name]}"

    @property
    def output_plugin(self):
        return f"{self.provider}_output"

    @property
    def first(self):
        return self.zones[self.scopes[0]]

    def note(self, text):
        self.first.note(text)

    def mesh_section(self):
        zones = list(self.scopes)
        if self.own_etcd:
            zones = [{"scope": scope, **self.zones[scope].dcs_section()} for scope in self.scopes]
        return {"provider": self.provider, "databases": [MESH_DATABASE], "zones": zones,
                "reconcile_interval": self.reconcile_interval}

    def node(self, scope):
        return scope.lower().replace("-", "_")

    def subscription(self, provider_scope, subscriber_scope):
        return f"sub_{self.node(provider_scope)}_{self.node(subscriber_scope)}"

    def add_members(self, per_zone=2, start=True, dcs=None, extra=None):
        """dcs: bootstrap dynamic configuration for every zone (e.g. synchronous_mode); extra:
        more configuration for every member."""
        for scope, cluster in self.zones.items():
            for index in range(per_zone):
                bootstrap = {"post_bootstrap": self.script}
                if dcs:
                    bootstrap["dcs"] = dict(dcs)
                cluster.add_member(f"{scope[-1]}{index}", start=start, overrides={
                    "mesh": self.mesh_section(),
                    "bootstrap": bootstrap,
                    **(extra or {}),
                })

    def start_from_schema(self, schema_text, per_zone=1):
        """Members whose mesh section names a schema file (`mesh.schema`) and no post_bootstrap
        script: staz creates the database and runs the file in each zone, as the README says."""
        self.schema_path = self.first.path("schema.sql")
        self.write_schema(schema_text)
        self.add_members(per_zone=per_zone, extra={"mesh": {**self.mesh_section(), "schema": self.schema_path},
                                                   "bootstrap": {"post_bootstrap": None}})

    def write_schema(self, text):
        with open(self.schema_path, "w") as handle:
            handle.write(text)
        postgres = pwd.getpwnam("postgres")
        os.chown(self.schema_path, postgres.pw_uid, postgres.pw_gid)

    def database_status(self, scope, database=MESH_DATABASE):
        """The `databases` entry of `database` in the GET /mesh of the zone's leader ({})."""
        status = self.mesh_status(scope) or {}
        return next((d for d in status.get("databases", []) if d.get("name") == database), {})

    # ---- observations ------------------------------------------------------------
    def leader(self, scope):
        return self.zones[scope].leader_name()

    def leader_member(self, scope):
        name = self.leader(scope)
        return self.zones[scope].members[name] if name else None

    def mesh_status(self, scope):
        """GET /mesh of the zone's leader (or None)."""
        member = self.leader_member(scope)
        if not member:
            return None
        code, body = member.rest("/mesh", timeout=3)
        return body if code == 200 and isinstance(body, dict) else None

    def subscription_states(self, among=None):
        """{subscription: status} over every zone leader's /mesh (of the zones `among`)."""
        states = {}
        for scope in among or self.scopes:
            status = self.mesh_status(scope) or {}
            for database in status.get("databases", []):
                for sub in database.get("subscriptions", []):
                    states[sub["name"]] = sub["status"]
        return states

    def expected_subscriptions(self, among=None):
        scopes = among or self.scopes
        return sorted(self.subscription(p, s) for p in scopes for s in scopes if p != s)

    def wait_replicating(self, timeout, among=None):
        """Every subscription between the zones `among` (default all) replicating, as their
        leaders' GET /mesh report it."""
        expected = self.expected_subscriptions(among)

        def all_replicating():
            states = self.subscription_states(among)
            missing = [name for name in expected if states.get(name) != "replicating"]
            if missing:
                raise NotYet(f"not replicating: {', '.join(f'{n}={states.get(n)}' for n in missing)}")
            return True
        return wait_until(all_replicating, timeout, f"{len(expected)} subscriptions replicating",
                          interval=0.5)

    def sql(self, scope, statement, database=MESH_DATABASE):
        """Runs SQL on the zone's current leader; returns stdout or raises."""
        member = self.leader_member(scope)
        if not member:
            raise NotYet(f"zone {scope} has no leader")
        code, out, err = psql(member.pg_port, statement, database=database)
        if code != 0:
            raise NotYet(f"{scope}/{member.name}: {err}")
        return out

    def rows_with_ids(self, scope, ids):
        listed = ",".join(str(i) for i in ids)
        out = self.sql(scope, f"SELECT id FROM public.{MESH_TABLE} WHERE id IN ({listed}) ORDER BY id")
        return [int(line) for line in out.split()] if out else []

    def wait_rows(self, scope, ids, timeout=30):
        wanted = sorted(ids)

        def present():
            seen = self.rows_with_ids(scope, wanted)
            if seen != wanted:
                raise NotYet(f"{scope} has {seen} of {wanted}")
            return True
        return wait_until(present, timeout, f"rows {wanted} in {scope}", interval=0.25)

    def last_reconcile(self, scope):
        status = self.mesh_status(scope) or {}
        return status.get("last_reconcile") or {}

    def wait_for_passes(self, scope, count, timeout=30):
        """Waits until `count` new reconciliation passes finished on the zone's leader;
        returns their last_reconcile blocks."""
        seen = []
        last_at = self.last_reconcile(scope).get("at")
        deadline = time.monotonic() + timeout
        while len(seen) < count:
            assert time.monotonic() < deadline, f"no {count} reconciliation passes in {scope}: {seen}"
            current = self.last_reconcile(scope)
            if current.get("at") and current.get("at") != last_at:
                seen.append(current)
                last_at = current.get("at")
            time.sleep(0.2)
        return seen
