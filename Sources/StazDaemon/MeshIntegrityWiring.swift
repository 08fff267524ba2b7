import Foundation
import Logging
import StazAPI
import StazCore
import StazDCS
import StazMesh

/// Wires the post-failover integrity check (StazMesh `MeshIntegrityGuard`) to the daemon: other
/// zones' clusters from the shared DCS, our ledger in our own `mesh` key, our timeline and
/// leadership from the REST snapshot, and its findings in `GET /mesh`.
extension MeshRuntime {
    func makeIntegrityGuard(config box: ConfigurationBox, ha: HAController, apiState: APIState) -> MeshIntegrityGuard {
        let dcs = ha.dcs
        let peers = self.peers
        let prober = ha.prober
        var environment = MeshIntegrityGuard.Environment(
            mesh: { box.value.mesh },
            isLeader: { MeshRuntime.isLeader(apiState.current) },
            ownTimeline: { apiState.current.timeline },
            zoneCluster: { scope in try await peers.cluster(of: scope) },
            loadLedger: { try await dcs.loadCluster(fresh: true).mesh },
            saveLedger: { ledger in try await dcs.setMesh(ledger.json) },
            connector: connector,
            publish: { ledger, notes in
                apiState.update { snapshot in
                    snapshot.meshExtras["divergence_reports"] = .array(ledger.divergence.map(\.json))
                    snapshot.meshExtras["last_failover"] = ledger.json.objectValue?["last_failover"] ?? .object(JSONObject())
                    snapshot.meshExtras["paused_subscriptions"] = .array(ledger.pausedSubscriptions.map { .string($0) })
                    snapshot.meshExtras["integrity_notes"] = .array(notes.map { .string($0) })
                    snapshot.meshIntegritySamples = MeshRuntime.divergenceSamples(ledger)
                }
            })
        environment.answersAsPrimary = { member in
            // A running primary reports its WAL position (`xlog.location`); a staz whose
            // PostgreSQL is stopped or stopping still says role primary, without one.
            let status = await prober.probeOne(member)
            return status.reachable && status.role == .primary && (status.walPosition?.value ?? 0) > 0
        }
        let settled = settledLeaders
        let reconciler = self.reconciler
        environment.settledLeaders = { leaders in
            // A handled promotion: point the subscriptions at the new primary now, not at the
            // reconciler's next pass.
            if settled.update(leaders), leaders != nil { Task { await reconciler.wake() } }
        }
        return MeshIntegrityGuard(environment: environment, logger: logger)
    }
}

extension PeerScopes {
    /// Another zone's whole cluster (leader, members, history, status), linearizable.
    func cluster(of scope: String) async throws -> ClusterView {
        try await client(for: scope).loadCluster(fresh: true)
    }
}
