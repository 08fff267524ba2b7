"""Workload and waits for the mesh failover tests and the mesh benchmark: per-zone writers that
record acknowledged inserts, and checks that every acknowledged row reached every zone."""

import time

from .mesh import MESH_DATABASE, MESH_KEYLESS_TABLE, MESH_TABLE, Mesh
from .support import NotYet, wait_until
from .workload import AckedWriter

ZONE_ID_BASE = 10_000_000  # zone k writes ids k*BASE + n: zones never collide


class ZoneWriter(AckedWriter):
    """The acknowledged-write workload of one zone: each id goes into both mesh tables in one
    transaction (the keyed one and the keyless one), and zone k writes ids from
    (k+1) * ZONE_ID_BASE, so zones never collide. Each keyed row records the WAL position of its
    insert (`note`), to place it in a divergence range."""

    def __init__(self, mesh, scope, index, interval=0.03):
        super().__init__(mesh.zones[scope], table=MESH_TABLE, interval=interval,
                         first_id=(index + 1) * ZONE_ID_BASE, database=MESH_DATABASE, timeout=5,
                         label=scope)
        self.scope = scope

    def statement(self, row_id):
        return (f"INSERT INTO public.{MESH_TABLE} VALUES ({row_id}, '{self.scope}', "
                "pg_current_wal_lsn()::text); "
                f"INSERT INTO public.{MESH_KEYLESS_TABLE} VALUES ({row_id}, '{self.scope}')")


class ZoneWriters:
    """A ZoneWriter in every zone of `mesh`, started on entering the `with` block and stopped on
    leaving it, whatever happened inside."""

    def __init__(self, mesh):
        self.writers = {scope: ZoneWriter(mesh, scope, index) for index, scope in enumerate(mesh.scopes)}

    def __enter__(self):
        for writer in self.writers.values():
            writer.start()
        return self

    def __exit__(self, *exc):
        for writer in self.writers.values():
            writer.stop()
        return False

    def __getitem__(self, scope):
        return self.writers[scope]

    def items(self):
        return self.writers.items()

    def wait_all(self, count, timeout, what):
        """`count` more acknowledged writes in every zone."""
        for writer in self.writers.values():
            writer.wait_for_acks(count, timeout, what)


def start_mesh(make_cluster, register, synchronous_mode, daemon_env=None, own_etcd=False, dcs=None):
    """3 zones x 2 members with HAProxy per zone, mesh replicating, slot copies ready.
    `mesh.converged_after`: seconds from starting the daemons to 6 subscriptions replicating.
    `daemon_env`: scope -> extra environment of that zone's daemons; `own_etcd`: an etcd per
    zone; `dcs`: more bootstrap dynamic configuration."""
    mesh = Mesh(make_cluster, register=register, reconcile_interval=2, own_etcd=own_etcd)
    for scope, env in (daemon_env or {}).items():
        mesh.zones[scope].daemon_env.update(env)
    started = time.monotonic()
    mesh.add_members(per_zone=2, dcs={"synchronous_mode": synchronous_mode, **(dcs or {})})
    for cluster in mesh.zones.values():
        cluster.wait_for_healthy(replicas=1, timeout=180)
    mesh.wait_replicating(timeout=120)
    mesh.converged_after = time.monotonic() - started
    mesh.note(f"mesh converged {mesh.converged_after:.1f} s after the daemons started")
    for cluster in mesh.zones.values():
        cluster.start_haproxy()
    wait_slot_copies_ready(mesh, timeout=90)
    return mesh


def wait_slot_copies_ready(mesh, timeout):
    """Every replica reports its copies of the zone's mesh slots ready for a failover."""
    def ready():
        waiting = []
        for scope, cluster in mesh.zones.items():
            leader = cluster.leader_name()
            for member in cluster.members.values():
                if member.name == leader:
                    continue
                code, body = member.rest("/patroni")
                if code != 200 or body.get("logical_slots_ready") is not True:
                    waiting.append(f"{scope}/{member.name}={body.get('logical_slots_ready') if code == 200 else code}")
        if waiting:
            raise NotYet(", ".join(waiting))
        return True
    wait_until(ready, timeout, "every replica's logical slot copies ready", interval=0.5)


def ids_in(mesh, scope, low, high, table=MESH_TABLE):
    out = mesh.sql(scope, f"SELECT id FROM public.{table} WHERE id >= {low} AND id < {high}")
    return {int(line) for line in out.split()} if out else set()


def missing_rows(mesh, acked_by_zone):
    """{"origin->scope": [acknowledged ids of origin missing in scope]} for the keyed table,
    and "origin->scope (keyless)" for the keyless one; zones in mesh order."""
    missing = {}
    for index, (origin, acked) in enumerate(acked_by_zone.items()):
        low = (index + 1) * ZONE_ID_BASE
        for scope in acked_by_zone:
            for table, suffix in ((MESH_TABLE, ""), (MESH_KEYLESS_TABLE, " (keyless)")):
                absent = set(acked) - ids_in(mesh, scope, low, low + ZONE_ID_BASE, table)
                if absent:
                    missing[f"{origin}->{scope}{suffix}"] = sorted(absent)
    return missing


def duplicated_rows(mesh):
    """{scope: [ids that appear more than once in the keyless table]}: a transaction applied
    twice (the keyed table would refuse the second copy, the keyless one keeps it)."""
    duplicated = {}
    for scope in mesh.scopes:
        out = mesh.sql(scope, f"SELECT id FROM public.{MESH_KEYLESS_TABLE} GROUP BY id HAVING count(*) > 1")
        if out:
            duplicated[scope] = sorted(int(line) for line in out.split())
    return duplicated


def wait_all_present(mesh, acked_by_zone, timeout):
    """Waits until every acknowledged id is in every zone; returns what is still missing."""
    def complete():
        missing = missing_rows(mesh, acked_by_zone)
        if missing:
            raise NotYet({k: (len(v), v[:5]) for k, v in missing.items()})
        return True
    try:
        wait_until(complete, timeout, "every acknowledged row in every zone", interval=1)
        return {}
    except AssertionError:
        return missing_rows(mesh, acked_by_zone)


def count_outcome(mesh, writers, timeout):
    """After the writers stopped: waits up to `timeout` for every acknowledged row to reach
    every zone, prints what each zone wrote, what is missing and what was applied twice, and
    returns (missing, duplicated) as `missing_rows` and `duplicated_rows` give them."""
    acked = {scope: writer.acked for scope, writer in writers.items()}
    missing = wait_all_present(mesh, acked, timeout=timeout)
    counted = ", ".join(f"{scope}: {len(ids)} acked / {writers[scope].failures} failed" for scope, ids in acked.items())
    duplicated = duplicated_rows(mesh)
    print(f"COUNTED {counted}; lost or skipped acknowledged rows (both tables): "
          f"{sum(len(ids) for ids in missing.values())}; applied twice: {sum(len(ids) for ids in duplicated.values())}")
    return missing, duplicated


def lsn_value(text):
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def pauses_by_subscription(mesh):
    """{subscription: times staz paused it} over every member's log in every zone (the
    integrity check logs "pause subscription NAME" for each pause it applies)."""
    counts = {}
    for cluster in mesh.zones.values():
        for member in cluster.members.values():
            for line in member.log_text().splitlines():
                marker = line.find(": pause subscription ")
                if "mesh integrity:" in line and marker >= 0:
                    name = line[marker + len(": pause subscription "):].split()[0]
                    counts[name] = counts.get(name, 0) + 1
    return counts


def healthy_pauses(mesh, pauses, failed_scopes):
    """The pauses of subscriptions whose provider zone and subscriber zone both kept their
    primary: each is a healthy subscription stopped for nothing. (A subscriber zone that failed
    over may pause its own subscriptions while a provider puts a held slot copy in place.)"""
    failed_nodes = {mesh.node(scope) for scope in failed_scopes}

    def touched(name):
        return any(name.startswith(f"sub_{node}_") or name.endswith(f"_{node}") for node in failed_nodes)
    return {name: count for name, count in pauses.items() if not touched(name)}
