"""MESH (staz only; no peer manages a mesh): 3 zones x 2 members with pglogical (or Spock:
STAZ_MESH_PROVIDER=spock with STAZ_PG_BIN at a Spock-patched PostgreSQL), synchronous mode
inside each zone. Measures the mesh bootstrap from empty data directories to 6 subscriptions
replicating, then, with writers in every zone (each row into a keyed and a keyless table),
the node loss of one zone's primary: seconds from the promotion to all subscriptions
replicating again, acknowledged rows lost or skipped and rows applied twice after the mesh
drained, divergence reports, and pauses of subscriptions between two zones that both kept
their primary."""

import os
import shutil
import tempfile
import time

from .env import BenchCluster
from testkit.mesh_workload import (ZoneWriter, duplicated_rows, healthy_pauses, pauses_by_subscription, start_mesh,
                           wait_all_present)


class _Zones:
    """The factory Mesh expects: the first zone's cluster starts the shared etcd."""

    def __init__(self, setup):
        self.setup = setup
        self.clusters = []

    def make_cluster(self, scope="bench"):
        cluster = BenchCluster(self.setup, scope=scope)
        cluster.start_etcd()
        self.clusters.append(cluster)
        return cluster

    def cleanup(self):
        for cluster in reversed(self.clusters):
            cluster.cleanup()


def run_mesh(context, setup, reps):
    bootstrap, recovery, lost, duplicated, reports, paused = [], [], [], [], [], []
    runs = []
    for rep in range(reps):
        zones = _Zones(setup)
        try:
            mesh = start_mesh(zones.make_cluster, zones.clusters.append, "on")
            bootstrap.append(mesh.converged_after)
            writers = {scope: ZoneWriter(mesh, scope, index).start() for index, scope in enumerate(mesh.scopes)}
            try:
                for writer in writers.values():
                    writer.wait_for_acks(30, 60, "before the fault")
                zone = mesh.zones[mesh.scopes[0]]
                old = zone.leader_name()
                fault = time.monotonic()
                zone.members[old].crash()
                zone.wait_for_new_leader({old}, setup.ttl + 4 * setup.loop_wait + 30)
                promoted = time.monotonic()
                mesh.wait_replicating(timeout=120)
                replicating = time.monotonic() - promoted
                recovery.append(replicating)
                writers[mesh.scopes[0]].wait_for_acks(20, 60, "after the failover")
            finally:
                for writer in writers.values():
                    writer.stop()
            acked = {scope: writer.acked for scope, writer in writers.items()}
            missing = wait_all_present(mesh, acked, timeout=90)
            lost.append(sum(len(ids) for ids in missing.values()))
            twice = duplicated_rows(mesh)
            duplicated.append(sum(len(ids) for ids in twice.values()))
            divergence = {scope: (mesh.mesh_status(scope) or {}).get("divergence_reports") or [] for scope in mesh.scopes}
            reports.append(sum(len(found) for found in divergence.values()))
            pauses = pauses_by_subscription(mesh)
            healthy = healthy_pauses(mesh, pauses, [mesh.scopes[0]])
            paused.append(sum(healthy.values()))
            runs.append({"provider": mesh.provider, "promotion_s": promoted - fault, "replicating_after_promotion_s": replicating,
                         "acked": {s: len(a) for s, a in acked.items()}, "missing": {k: len(v) for k, v in missing.items()},
                         "duplicated": twice, "divergence_reports": divergence, "pauses": pauses,
                         "healthy_pauses": healthy})
            context.progress(f"MESH {setup.key} {mesh.provider} rep {rep + 1}/{reps}: bootstrap {bootstrap[-1]:.1f}s, "
                             f"replicating {replicating:.1f}s after the promotion, lost {lost[-1]}, "
                             f"twice {duplicated[-1]}, reports {reports[-1]}, healthy pauses {paused[-1]}")
        except Exception:
            _keep_logs(zones, rep)
            raise
        finally:
            zones.cleanup()
    context.record("MESH", setup, "mesh bootstrap, 3 zones x 2 members, to 6 subscriptions replicating", "s",
                   bootstrap, runs)
    context.record("MESH", setup, "zone primary node loss: subscriptions replicating after the promotion", "s",
                   recovery, runs)
    context.record("MESH", setup, "acknowledged rows lost or skipped (sync mode in zones)", "rows", lost, runs)
    context.record("MESH", setup, "acknowledged rows applied twice (keyless table)", "rows", duplicated, runs)
    context.record("MESH", setup, "divergence and gap reports (every zone)", "reports", reports, runs)
    context.record("MESH", setup, "pauses of subscriptions between zones that kept their primary", "pauses", paused, runs)


def _keep_logs(zones, rep):
    """A failed repetition's daemon logs, kept before the clean-up removes them."""
    target = tempfile.mkdtemp(prefix=f"staz-bench-mesh-rep{rep + 1}-", dir="/tmp")
    for cluster in zones.clusters:
        for member in cluster.members.values():
            if os.path.exists(member.log_path):
                shutil.copy(member.log_path, os.path.join(target, f"{cluster.scope}-{member.name}.log"))
    print(f"daemon logs of the failed repetition kept in {target}", flush=True)
