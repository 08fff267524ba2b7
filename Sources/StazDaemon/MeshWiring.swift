import Foundation
import Logging
import StazAPI
import StazConfig
import StazCore
import StazDCS
import StazMesh
import StazPostgres
import Synchronization

/// The mesh part of the daemon: the reconciler task, its view of the other zones in the shared
/// DCS, its report in the REST snapshot, and `POST /mesh/ddl`. Present only with a `mesh`
/// section. It never holds the HA loop: it has its own task, its own SQL and DCS connections,
/// and reads leadership from the REST snapshot.
final class MeshRuntime: Sendable {
    let reconciler: MeshReconciler
    /// Set once in init (it needs `self` for its wiring); never replaced.
    private let integrity: Mutex<MeshIntegrityGuard?> = Mutex(nil)
    let connector: MeshConnector
    let peers: PeerScopes
    private let current: ConfigurationBox
    let logger: Logger
    /// Written by the integrity guard, read by the reconciler (`MeshTopology.desired`).
    let settledLeaders = SettledLeaders()

    init(config: StazConfiguration, ha: HAController, apiState: APIState, logger: Logger) {
        let box = ConfigurationBox(config)
        current = box
        self.logger = logger
        let peers = PeerScopes(base: config, logger: logger)
        self.peers = peers
        connector = Self.localConnector(config: config, logger: logger)
        var environment = MeshReconciler.Environment(
            configuration: {
                let mesh = box.value.mesh
                // Only the value is read (the actor is never held by long work).
                let synchronous = await ha.settings.synchronousMode != "off"
                return (mesh, synchronous)
            },
            isLeader: { MeshRuntime.isLeader(apiState.current) },
            zoneMembers: { scope in try await peers.members(of: scope) },
            connector: connector,
            publish: { report in
                let status = MeshStatus(json: report.json, samples: MeshRuntime.samples(report))
                apiState.update { $0.mesh = status }
            })
        let postgres = ha.postgres
        environment.serverLogFallback = { postgres.startupLogPath }
        let settled = settledLeaders
        environment.checkedLeaders = { settled.value }
        reconciler = MeshReconciler(environment: environment, logger: logger)
        let guardian = makeIntegrityGuard(config: box, ha: ha, apiState: apiState)
        integrity.withLock { $0 = guardian }
    }

    /// Sessions to the local server as its superuser, one database each.
    static func localConnector(config: StazConfiguration, logger: Logger) -> MeshConnector {
        let section = config.postgresql
        return MeshConnector(target: { database in SQLSession.Target.local(section, database: database) }, logger: logger)
    }

    /// Leader = holds an unexpired lock and runs as primary; read from memory, never waits.
    static func isLeader(_ snapshot: NodeSnapshot) -> Bool {
        snapshot.role == .primary && snapshot.leaderOK(now: .now)
    }

    func run() async {
        let guardian = integrity.withLock { $0 }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.reconciler.run() }
            if let guardian { group.addTask { await guardian.run() } }
        }
        await peers.close()
    }

    /// A reloaded configuration (SIGHUP, `POST /reload`).
    func reload(_ fresh: StazConfiguration) {
        current.value = fresh
        Task { await reconciler.wake() }
    }

    /// `POST /mesh/ddl`: runs on this zone's leader only, through the provider's DDL replication.
    func runDDL(_ request: MeshDDLRequest, snapshot: NodeSnapshot) async -> APIResponse {
        guard let mesh = current.value.mesh else { return .text(503, "mesh is not configured on this member") }
        guard Self.isLeader(snapshot) else {
            return .text(503, "not the leader of zone \(mesh.ownScope): run it on the leader")
        }
        let database = request.database ?? mesh.databases[0]
        guard mesh.databases.contains(database) else {
            return .text(400, "database '\(database)' is not in mesh.databases")
        }
        let sql = MeshSQL(provider: .forKind(mesh.provider))
        do {
            let session = try await connector.open(database)
            defer { session.close() }
            _ = try await session.query(sql.replicateDDL(request.command), timeout: 300)
            logger.info("mesh: replicated DDL in \(database): \(request.command)")
            await reconciler.wake()
            var body = JSONObject()
            body["database"] = .string(database)
            body["provider"] = .string(mesh.provider.rawValue)
            body["replicated"] = true
            return .json(200, JSONValue.object(body))
        } catch {
            logger.warning("mesh: DDL failed in \(database): \(error)")
            return .text(500, "DDL failed: \(error)")
        }
    }

    /// `staz_mesh_*` gauges: per incoming subscription whether it replicates, per outgoing slot
    /// the lag of its consumer, and the reconciler's state.
    static func samples(_ report: MeshReport) -> [MeshMetricSample] {
        var samples: [MeshMetricSample] = []
        let node = report.mesh.nodeName
        if let result = report.result {
            samples.append(MeshMetricSample(name: "staz_mesh_converged", help: "1 if the last mesh reconciliation left nothing to do.",
                                            labels: [], value: result.converged ? 1 : 0))
            samples.append(MeshMetricSample(name: "staz_mesh_reconcile_errors", help: "Errors in the last mesh reconciliation.",
                                            labels: [], value: Double(result.errors.count)))
        }
        guard let observation = report.observation else { return samples }
        for database in observation.databases {
            if let skipped = database.skippedChanges {
                samples.append(MeshMetricSample(name: "staz_mesh_skipped_changes",
                                                help: "Changes Spock skipped because they failed to apply (spock.exception_log rows).",
                                                labels: [MeshMetricLabel("database", database.name)], value: Double(skipped.count)))
            }
            if let conflicts = database.resolvedConflicts {
                samples.append(MeshMetricSample(name: "staz_mesh_conflicts_resolved",
                                                help: "Conflicts the apply workers resolved (Spock: spock.resolutions rows; pglogical: conflict lines of the server log since staz began counting).",
                                                labels: [MeshMetricLabel("database", database.name)], value: Double(conflicts.count)))
            }
            for subscription in database.subscriptions {
                samples.append(MeshMetricSample(
                    name: "staz_mesh_subscription_up", help: "1 if the subscription is replicating, 0 otherwise.",
                    labels: [MeshMetricLabel("database", database.name), MeshMetricLabel("subscription", subscription.name),
                             MeshMetricLabel("provider", subscription.providerNode), MeshMetricLabel("subscriber", node)],
                    value: subscription.status == "replicating" ? 1 : 0))
            }
        }
        for slot in observation.outgoingSlots {
            let subscription = slot.consumer ?? ""
            let labels = [MeshMetricLabel("database", slot.database), MeshMetricLabel("subscription", subscription),
                          MeshMetricLabel("provider", node), MeshMetricLabel("slot", slot.name)]
            if let lag = slot.lagBytes {
                samples.append(MeshMetricSample(name: "staz_mesh_subscription_lag_bytes",
                                                help: "WAL bytes the subscriber has not confirmed yet (provider side).",
                                                labels: labels, value: Double(lag)))
            }
            if let seconds = slot.lagSeconds {
                samples.append(MeshMetricSample(name: "staz_mesh_subscription_lag_seconds",
                                                help: "Replay lag of the subscriber in seconds (provider side).",
                                                labels: labels, value: seconds))
            }
        }
        return samples
    }
}

extension MeshRuntime {
    /// `staz_mesh_divergence_reports`: the integrity check's reports held in this zone's ledger,
    /// by kind and verification (`pending` while a possible gap awaits its provider's answer),
    /// so an alert fires when one is recorded. Every kind is present, at 0 when there is none.
    static func divergenceSamples(_ ledger: MeshLedger) -> [MeshMetricSample] {
        let kinds: [DivergenceReport.Kind] = [.subscriberAhead, .possibleSubscriberGap]
        return kinds.flatMap { kind in
            ["pending", "final"].map { state in
                let count = ledger.divergence.filter { $0.kind == kind && ($0.verification == .pending) == (state == "pending") }.count
                return MeshMetricSample(name: "staz_mesh_divergence_reports",
                                        help: "Divergence and gap reports in this zone's mesh ledger (GET /mesh lists them).",
                                        labels: [MeshMetricLabel("kind", kind.rawValue), MeshMetricLabel("verification", state)],
                                        value: Double(count))
            }
        }
    }
}

/// The configuration as last (re)loaded, shared with the reconciler's closures.
final class ConfigurationBox: Sendable {
    private let box: Mutex<StazConfiguration>
    init(_ value: StazConfiguration) { box = Mutex(value) }
    var value: StazConfiguration {
        get { box.withLock { $0 } }
        set { box.withLock { $0 = newValue } }
    }
}

/// Read-only DCS clients for the zones' scopes (the shared etcd under other prefixes, or a
/// zone's own etcd when its mesh entry names one), created on first use. Always linearizable reads: the HA loop's own client and cache are never touched.
actor PeerScopes {
    let base: StazConfiguration
    let logger: Logger
    var clients: [String: DCSClient] = [:]

    init(base: StazConfiguration, logger: Logger) {
        self.base = base
        var quiet = logger
        quiet.logLevel = .critical
        self.logger = quiet
    }

    func members(of scope: String) async throws -> [Member] {
        try await client(for: scope).loadCluster(fresh: true).members
    }

    func client(for scope: String) -> DCSClient {
        if let existing = clients[scope] { return existing }
        let client = makeDCSClient(configuration: base.viewingMeshZone(scope), memberName: nil, logger: logger)
        clients[scope] = client
        return client
    }

    func close() async {
        for client in clients.values { await client.close() }
        clients = [:]
    }
}

extension DaemonActions {
    func meshDDL(_ request: MeshDDLRequest) async -> APIResponse {
        guard let mesh else { return .text(503, "mesh is not configured on this member") }
        return await mesh.runDDL(request, snapshot: ha.apiState.current)
    }
}

/// The peer zones' leaders the integrity check has handled (node name → member name); nil
/// until its first stored round in this member's term.
final class SettledLeaders: Sendable {
    private let leaders: Mutex<[String: String]?> = Mutex(nil)

    var value: [String: String]? { leaders.withLock { $0 } }

    /// Stores `new`; true when it differs from what was there.
    func update(_ new: [String: String]?) -> Bool {
        leaders.withLock { current in
            defer { current = new }
            return current != new
        }
    }
}
