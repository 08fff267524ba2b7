import Foundation
import Logging
import StazConfig
import StazCore
import StazPostgres

/// Runs the post-failover integrity check (`planIntegrity`) on this zone's leader about once a
/// second: observe the subscriptions' origins and the provider zones in the DCS → plan → store
/// the ledger → apply. Separate from the reconciler because it must be quick after a promotion
/// (before an apply worker reconnects on its own) while reconciliation may take a while.
/// Like the reconciler it has its own task, SQL sessions and DCS reads: nothing in the HA loop
/// or the lease keeper waits for it.
public actor MeshIntegrityGuard {
    public struct Environment: Sendable {
        public var mesh: @Sendable () -> MeshSection?
        /// Holds the leader lock and runs as primary (in-memory check).
        public var isLeader: @Sendable () -> Bool
        /// Our primary's timeline (in memory).
        public var ownTimeline: @Sendable () -> Int64?
        /// Another zone's cluster from the shared DCS (linearizable read).
        public var zoneCluster: @Sendable (String) async throws -> ClusterView
        /// Whether a member answers its REST API as a running primary (bounded, never throws).
        public var answersAsPrimary: @Sendable (Member) async -> Bool = { _ in false }
        /// Our zone's ledger (`<scope>/mesh`), raw; nil when absent.
        public var loadLedger: @Sendable () async throws -> String?
        public var saveLedger: @Sendable (MeshLedger) async throws -> Void
        public var connector: MeshConnector
        /// The ledger and the last notes, for GET /mesh.
        public var publish: @Sendable (MeshLedger, [String]) -> Void
        /// The peer zones' leaders whose promotion is handled (the stored ledger's
        /// `checkedLeaders`), after every round that stored it; nil when this member stops
        /// leading. The reconciler points subscriptions at these members only.
        public var settledLeaders: @Sendable ([String: String]?) -> Void = { _ in }

        public init(mesh: @escaping @Sendable () -> MeshSection?, isLeader: @escaping @Sendable () -> Bool,
                    ownTimeline: @escaping @Sendable () -> Int64?,
                    zoneCluster: @escaping @Sendable (String) async throws -> ClusterView,
                    loadLedger: @escaping @Sendable () async throws -> String?,
                    saveLedger: @escaping @Sendable (MeshLedger) async throws -> Void,
                    connector: MeshConnector, publish: @escaping @Sendable (MeshLedger, [String]) -> Void) {
            self.mesh = mesh; self.isLeader = isLeader; self.ownTimeline = ownTimeline; self.zoneCluster = zoneCluster
            self.loadLedger = loadLedger; self.saveLedger = saveLedger; self.connector = connector; self.publish = publish
        }
    }

    let environment: Environment
    let logger: Logger
    public var interval: Double = 1
    /// How long an origin may stay in use after its subscription was disabled.
    public var originReleaseTimeout: Double = 10
    /// How long a disabled subscription's own worker gets to let its origin go.
    public var originReleaseHoldersGrace: Double = 2
    private var lastNotes: [String] = []
    /// When the standbys' positions alone last changed the stored ledger (they are written at
    /// most every `standbyConfirmedInterval` seconds: each write is an etcd revision).
    var standbyConfirmedSavedAt: Double = 0
    public var standbyConfirmedInterval: Double = 5
    /// Each peer zone's leader as last seen (node name → member name), to notice a new one.
    var peerLeaders: [String: String] = [:]
    /// Rounds in a row each peer zone (node name) was read without a leader key or with a
    /// leader that did not answer as a running primary.
    var leaderLostRounds: [String: Int] = [:]
    /// The provider's clock at the last round's slot observation (`HeldSlots.staleWalsenders`).
    var lastSlotsObservedAt: Double?

    public init(environment: Environment, logger: Logger) {
        self.environment = environment; self.logger = logger
    }

    public func run() async {
        while !Task.isCancelled {
            if let mesh = environment.mesh(), environment.isLeader() {
                do { try await checkOnce(mesh: mesh) } catch {
                    logOnce(["integrity check failed: \(MeshDSN.redactedText("\(error)"))"], warning: true)
                }
            }
            // Leaders seen in an earlier term are no reference for the next one.
            if !environment.isLeader() {
                peerLeaders = [:]; lastSlotsObservedAt = nil; leaderLostRounds = [:]
                environment.settledLeaders(nil)
            }
            try? await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
        }
    }

    /// One round; throws when it could not observe or act (the next round repeats it).
    public func checkOnce(mesh: MeshSection) async throws {
        let provider = MeshProvider.forKind(mesh.provider)
        var providers: [String: ProviderZoneView] = [:]
        var peerStandbyConfirmed: [String: LSN] = [:]
        var peerLedgers: [String: MeshLedger] = [:]
        var leaders: [String: String] = [:]
        for zone in mesh.peers {
            // An unreadable zone counts as "no leader": its subscriptions are paused, which
            // costs nothing while we cannot tell what its primary is.
            let cluster = try? await environment.zoneCluster(zone.scope)
            if let cluster { peerLedgers[zone.nodeName] = MeshLedger.parse(cluster.mesh) }
            if let leader = cluster?.leader?.name { leaders[zone.nodeName] = leader }
            if let cluster, cluster.leader != nil {
                peerStandbyConfirmed.merge(peerLedgers[zone.nodeName]?.standbyConfirmed ?? [:]) { first, _ in first }
            }
            var view = cluster.map { Self.view(of: $0, node: zone.nodeName) }
                ?? ProviderZoneView(node: zone.nodeName, leader: nil, timeline: nil)
            if let leader = cluster?.leaderMember { view.leaderAnswers = await environment.answersAsPrimary(leader) }
            providers[zone.nodeName] = view
            if cluster != nil && (view.leader == nil || view.leaderAnswers == false) {
                leaderLostRounds[zone.nodeName, default: 0] += 1
            } else {
                leaderLostRounds[zone.nodeName] = nil
            }
        }
        // Two rounds in a row, so a REST probe that timed out once ends no healthy walsender.
        let leaderless = Set(leaderLostRounds.filter { $0.value >= 2 }.keys)
        var subscriptions: [SubscriptionProgress] = []
        for database in mesh.databases {
            let session = try await environment.connector.open(database)
            defer { session.close() }
            let installed = try await session.query(MeshQueries.extensionState(provider), timeout: environment.connector.statementTimeout)
                .first.flatMap { $0["installed"] ?? nil } != nil
            guard installed else { continue }
            let rows = try await session.query(MeshQueries.subscriptions(provider), timeout: environment.connector.statementTimeout)
            subscriptions += MeshQueries.parseSubscriptions(rows).map {
                SubscriptionProgress(database: database, name: $0.name, providerNode: $0.providerNode, slotName: $0.slotName,
                                     originName: $0.originName, originLSN: $0.remoteLSN.flatMap(LSN.init(text:)),
                                     enabled: $0.enabled, status: $0.status,
                                     originLocalLSN: $0.localLSN.flatMap(LSN.init(text:)))
            }
        }
        // Taken in at once: a round that fails later must not end the new leader's walsenders.
        let previousLeaders = peerLeaders
        peerLeaders.merge(leaders) { _, new in new }
        let ledger = MeshLedger.parse(try await environment.loadLedger())
        let clock = Date().timeIntervalSince1970
        let (settled, settledLines) = GapVerification.settle(ledger, providerLedgers: peerLedgers, clock: clock)
        var plan = planIntegrity(IntegrityInput(ledger: settled, ownNode: mesh.nodeName, ownTimeline: environment.ownTimeline(),
                                                subscriptions: subscriptions, providers: providers,
                                                now: MeshReport.isoTimestamp(Date().timeIntervalSince1970),
                                                clock: clock))
        let answers = GapVerification.answers(
            current: ledger.verifiedRanges,
            new: await readRanges(GapVerification.pendingChecks(peerLedgers: peerLedgers, ownNode: mesh.nodeName,
                                                               answered: ledger.verifiedRanges)),
            peerLedgers: peerLedgers, ownNode: mesh.nodeName)
        plan.ledger.verifiedRanges = answers
        plan.ledgerBeforeActions.verifiedRanges = answers
        let held = try await observeHeldSlots(plugin: provider.outputPlugin)
        let previousSlotsObservedAt = lastSlotsObservedAt
        lastSlotsObservedAt = held.serverTime
        let ownSubscriptionSlots = Set(subscriptions.map(\.slotName)).sorted()
        plan.ledger.subscriptionSlots = ownSubscriptionSlots
        plan.ledgerBeforeActions.subscriptionSlots = ownSubscriptionSlots
        publishStandbyConfirmed(&plan, stored: ledger, subscriptions: subscriptions, standbys: held.standbys)
        for report in plan.ledger.divergence where !settled.divergence.contains(report) {
            let line = "mesh divergence: \(report.kind.rawValue) \(report.database)/\(report.subscription) \(report.provider)→\(report.subscriber) \(report.fromLSN)..\(report.toLSN): \(report.action)"
            if report.verification == .pending { logger.info("\(line)") } else { logger.warning("\(line)") }
        }
        for line in settledLines {
            if line.contains("no gap") { logger.info("mesh integrity: \(line)") } else { logger.warning("mesh integrity: \(line)") }
        }
        guard environment.isLeader() else { return }
        if plan.ledgerBeforeActions != ledger { try await environment.saveLedger(plan.ledgerBeforeActions) }
        try await apply(plan.actions, provider: provider)
        if plan.ledger != plan.ledgerBeforeActions { try await environment.saveLedger(plan.ledger) }
        logOnce(plan.notes, warning: false)
        environment.publish(plan.ledger, plan.notes)
        // Only now: every origin the plan moved back has moved, and the ledger saying so is stored.
        environment.settledLeaders(plan.ledger.checkedLeaders)
        if environment.isLeader() {
            let stale = HeldSlots.staleWalsenders(previousLeaders: previousLeaders, leaders: leaders, leaderless: leaderless,
                                                  subscriberSlots: peerLedgers.mapValues(\.slotsOnProviders),
                                                  slots: held.slots, previousRoundAt: previousSlotsObservedAt)
            try await keepHeldSlots(held.slots, standbyConfirmed: peerStandbyConfirmed, displaced: stale)
        }
    }

    /// Reads each range peers asked about in this primary's WAL (`GapVerification`). A range
    /// that cannot be read is answered as such: the subscriber then keeps its report.
    func readRanges(_ checks: [RangeCheck]) async -> [String: RangeVerification] {
        guard !checks.isEmpty else { return [:] }
        var answers: [String: RangeVerification] = [:]
        let timeout = environment.connector.statementTimeout
        do {
            let session = try await environment.connector.open(nil)
            defer { session.close() }
            _ = try await session.query(GapVerification.createExtension, timeout: timeout)
            for check in checks {
                do {
                    let rows = try await session.query(GapVerification.query(database: check.database, from: check.fromLSN,
                                                                              to: check.toLSN), timeout: timeout)
                    answers[check.key] = .commits(rows.compactMap { $0["xid"] ?? nil })
                } catch {
                    answers[check.key] = .unreadable(MeshDSN.redactedText("\(error)"))
                }
                logger.info("mesh integrity: read \(check.fromLSN)..\(check.toLSN) of our WAL for a peer: \(answers[check.key].map { "\($0)" } ?? "")")
            }
        } catch {
            // No session or no pg_walinspect: try again next round rather than answer for good.
            logger.warning("mesh integrity: cannot read WAL ranges peers asked about: \(MeshDSN.redactedText("\(error)"))")
        }
        return answers
    }

    static func view(of cluster: ClusterView, node: String) -> ProviderZoneView {
        let leader = cluster.leader?.name
        let timeline = cluster.leaderMember?.data["timeline"]?.intValue
        var slots: [String: LSN] = [:]
        for (name, position) in cluster.status.slots where position >= 0 { slots[name] = LSN(UInt64(position)) }
        let ttl = cluster.config?.data["ttl"].flatMap { $0.doubleValue ?? $0.intValue.map(Double.init) } ?? 30
        return ProviderZoneView(node: node, leader: leader, timeline: timeline, history: cluster.history ?? [],
                                publishedSlots: slots, ttl: ttl)
    }

    func apply(_ actions: [IntegrityAction], provider: MeshProvider) async throws {
        let sql = MeshSQL(provider: provider)
        for action in actions {
            // Thrown, not returned: the ledger saying these actions ran must not be stored.
            guard environment.isLeader() else { throw IntegrityInterrupted(remaining: action.summary) }
            let session = try await environment.connector.open(action.database)
            defer { session.close() }
            switch action {
            case .disableSubscription, .enableSubscription:
                let timeout = environment.connector.statementTimeout
                _ = try await MeshCatalogLock.holding(session, timeout: timeout) {
                    try await session.query(sql.statement(for: action), timeout: timeout)
                }
            case .releaseOrigin(_, _, let origin):
                try await releaseOrigin(origin, session: session)
            case .moveOrigin:
                // The apply worker releases the origin shortly after the immediate disable.
                let deadline = ContinuousClock.now + .milliseconds(Int64(originReleaseTimeout * 1000))
                while true {
                    do {
                        _ = try await session.query(sql.statement(for: action), timeout: environment.connector.statementTimeout)
                        break
                    } catch where ContinuousClock.now < deadline && "\(error)".contains("is already active") {
                        try await Task.sleep(for: .milliseconds(200))
                    }
                }
            }
            logger.info("mesh integrity: \(action.summary)")
        }
    }

    /// Takes the origin into this session and lets it go again. A worker that was just disabled
    /// releases it within `originReleaseHoldersGrace`; a holder still there after that is ended
    /// (`pg_terminate_backend`) and the origin tried again, up to `originReleaseTimeout`.
    func releaseOrigin(_ origin: String, session: SQLSession) async throws {
        let sql = MeshSQL.originSessionSetup(origin)
        let started = ContinuousClock.now
        let deadline = started + .milliseconds(Int64(originReleaseTimeout * 1000))
        while true {
            do {
                _ = try await session.query(sql, timeout: environment.connector.statementTimeout)
                _ = try await session.query(MeshSQL.originSessionReset, timeout: environment.connector.statementTimeout)
                return
            } catch where ContinuousClock.now < deadline {
                guard let holder = MeshSQL.originHolder(in: "\(error)") else { throw error }
                if ContinuousClock.now - started >= .milliseconds(Int64(originReleaseHoldersGrace * 1000)) {
                    logger.warning("mesh integrity: origin \(origin) is still held by process \(holder) after its subscription was disabled: ending it")
                    _ = try await session.query("SELECT pg_catalog.pg_terminate_backend(\(holder))::text AS ended",
                                                timeout: environment.connector.statementTimeout)
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    func logOnce(_ notes: [String], warning: Bool) {
        guard notes != lastNotes else { return }
        lastNotes = notes
        for note in notes {
            if warning { logger.warning("mesh integrity: \(note)") } else { logger.info("mesh integrity: \(note)") }
        }
    }
}

/// This member stopped leading between two integrity actions.
struct IntegrityInterrupted: Error, CustomStringConvertible {
    var remaining: String
    var description: String { "no longer the leader: stopped before \(remaining)" }
}

extension IntegrityAction {
    public var database: String {
        switch self {
        case .disableSubscription(let d, _), .enableSubscription(let d, _), .moveOrigin(let d, _, _, _),
             .releaseOrigin(let d, _, _): return d
        }
    }
}

extension MeshSQL {
    /// SQL of an integrity action. Disable/enable are `immediate` (outside a transaction block:
    /// the session runs in autocommit) so the apply worker stops, or restarts, at once.
    public func statement(for action: IntegrityAction) -> String {
        switch action {
        case .disableSubscription(_, let name):
            return call(provider.disableSubscription, [("subscription_name", literal(name)), ("immediate", "true")])
        case .enableSubscription(_, let name):
            return call(provider.enableSubscription, [("subscription_name", literal(name)), ("immediate", "true")])
        case .moveOrigin(_, _, let origin, let lsn):
            return "SELECT pg_catalog.pg_replication_origin_advance(\(literal(origin)), \(literal(lsn.description))::pg_lsn)::text AS result"
        case .releaseOrigin(_, _, let origin):
            return Self.originSessionSetup(origin)
        }
    }

    static func originSessionSetup(_ origin: String) -> String {
        "SELECT pg_catalog.pg_replication_origin_session_setup(\(literal(origin)))::text AS result"
    }

    static let originSessionReset = "SELECT pg_catalog.pg_replication_origin_session_reset()::text AS result"

    /// The PID in PostgreSQL's "replication origin with ID %d is already active for PID %d".
    public static func originHolder(in message: String) -> Int32? {
        guard let range = message.range(of: "is already active for PID ") else { return nil }
        return Int32(message[range.upperBound...].prefix { $0.isNumber })
    }
}

extension MeshProvider {
    /// `sub_disable` / `alter_subscription_disable` (same arguments: subscription_name, immediate).
    public var disableSubscription: String { kind == .spock ? "sub_disable" : "alter_subscription_disable" }
    public var enableSubscription: String { kind == .spock ? "sub_enable" : "alter_subscription_enable" }
}
