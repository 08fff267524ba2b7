import Foundation
import Logging
import StazConfig
import StazCore

/// Keeps the mesh converged from this member while it is its zone's leader: observe → plan →
/// apply, repeated within a pass until nothing is left (or nothing progresses), one pass every
/// `reconcile_interval` once converged and every `retryInterval` until then.
///
/// It runs as its own task: nothing in the HA loop or the lease keeper ever waits for it (a
/// remote zone that hangs only delays the mesh), and it reads leadership from memory.
public actor MeshReconciler {
    /// What the reconciler needs from the daemon, all non-blocking or bounded.
    public struct Environment: Sendable {
        /// The current mesh section (nil: mesh removed by a reload) and synchronous mode.
        public var configuration: @Sendable () async -> (mesh: MeshSection?, synchronousMode: Bool)
        /// This member holds the leader lock and runs as primary (in-memory check).
        public var isLeader: @Sendable () -> Bool
        /// A zone's member keys from the shared DCS.
        public var zoneMembers: @Sendable (String) async throws -> [Member]
        public var connector: MeshConnector
        /// Every report (after each pass, and on role changes).
        public var publish: @Sendable (MeshReport) -> Void
        /// Where PostgreSQL's stderr goes when it runs without the logging collector.
        public var serverLogFallback: @Sendable () -> String? = { nil }
        /// The peer zones' leaders the integrity check has handled (`MeshTopology.desired`);
        /// nil while it has not run in this term. In memory, never waits.
        public var checkedLeaders: @Sendable () -> [String: String]? = { [:] }

        public init(configuration: @escaping @Sendable () async -> (mesh: MeshSection?, synchronousMode: Bool),
                    isLeader: @escaping @Sendable () -> Bool,
                    zoneMembers: @escaping @Sendable (String) async throws -> [Member],
                    connector: MeshConnector, publish: @escaping @Sendable (MeshReport) -> Void) {
            self.configuration = configuration; self.isLeader = isLeader; self.zoneMembers = zoneMembers
            self.connector = connector; self.publish = publish
        }
    }

    let environment: Environment
    let logger: Logger
    public var retryInterval: Double = 2
    /// Upper bound of one pass (DCS reads, observation, actions).
    public var passTimeout: Double = 120
    public var maxRoundsPerPass = 6
    private(set) public var lastReport: MeshReport?
    private var wakeRequested = false
    private var serverLogConflicts = ServerLogConflicts()
    private var lastLoggedState: String?

    public init(environment: Environment, logger: Logger) {
        self.environment = environment; self.logger = logger
    }

    /// Asks for a pass as soon as possible (e.g. after DDL through `stazctl mesh ddl`).
    public func wake() { wakeRequested = true }

    public func run() async {
        var wasLeader = false
        while !Task.isCancelled {
            let (mesh, synchronous) = await environment.configuration()
            guard let mesh else {
                await pause(seconds: 5, leaderAtStart: false)
                continue
            }
            let leader = environment.isLeader()
            guard leader else {
                if wasLeader || lastReport == nil || lastReport?.role != "replica" {
                    publish(MeshReport(mesh: mesh, role: "replica"))
                }
                wasLeader = false
                await pause(seconds: 1, leaderAtStart: false)
                continue
            }
            wasLeader = true
            let report = await reconcileOnce(mesh: mesh, synchronousMode: synchronous)
            publish(report)
            // Converged and replicating: the configured interval. Converged but some subscription
            // not replicating yet (a zone down, workers starting): look again soon, act only if
            // something changed. Otherwise retry quickly.
            let converged = report.result?.converged == true
            let wait = converged ? (allReplicating(report) ? mesh.reconcileInterval : min(3, mesh.reconcileInterval))
                                 : min(retryInterval, mesh.reconcileInterval)
            await pause(seconds: wait, leaderAtStart: true)
        }
    }

    func allReplicating(_ report: MeshReport) -> Bool {
        guard let desired = report.desired, let observation = report.observation else { return false }
        let expected = desired.databases.reduce(0) { $0 + $1.subscriptions.count }
        return report.replicatingCount >= expected && observation.databases.allSatisfy { $0.extensionInstalled }
    }

    func publish(_ report: MeshReport) {
        lastReport = report
        environment.publish(report)
    }

    /// Sleeps up to `seconds`, waking early for a requested pass or a leadership change.
    func pause(seconds: Double, leaderAtStart: Bool) async {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline, !Task.isCancelled {
            if wakeRequested { wakeRequested = false; return }
            if environment.isLeader() != leaderAtStart { return }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    /// One pass, bounded by `passTimeout`.
    public func reconcileOnce(mesh: MeshSection, synchronousMode: Bool) async -> MeshReport {
        let started = ContinuousClock.now
        let environment = self.environment
        let rounds = maxRoundsPerPass
        let timeout = passTimeout
        let outcome: PassOutcome? = try? await withThrowingTaskGroup(of: PassOutcome?.self) { group in
            group.addTask { await Self.pass(mesh: mesh, synchronousMode: synchronousMode, environment: environment, rounds: rounds) }
            group.addTask { try await Task.sleep(for: .milliseconds(Int64(timeout * 1000))); return nil }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        let elapsed = started.duration(to: .now)
        let seconds = elapsed.secondsValue
        var pass = outcome ?? PassOutcome()
        if outcome == nil { pass.errors.append("reconciliation did not finish within \(Int(timeout)) s") }
        var result = MeshReconcileResult(finishedAt: Date().timeIntervalSince1970, durationSeconds: seconds,
                                         converged: outcome != nil && pass.remaining.isEmpty && pass.errors.isEmpty)
        result.applied = pass.applied.map(\.summary)
        result.errors = pass.errors
        result.pending = pass.remaining.map(\.summary)
        result.notes = pass.notes
        logState(result)
        var observation = pass.observation
        if mesh.provider == .pglogical, observation != nil {
            countServerLogConflicts(&observation!, mesh: mesh)
        }
        return MeshReport(mesh: mesh, role: "leader", desired: pass.desired, observation: observation, result: result)
    }

    /// pglogical's conflicts, from the server log (it records them nowhere else).
    func countServerLogConflicts(_ observation: inout MeshObservation, mesh: MeshSection) {
        serverLogConflicts.scan(observation.serverLogFile ?? environment.serverLogFallback())
        guard mesh.databases.count == 1, let since = serverLogConflicts.countingSince,
              let index = observation.databases.firstIndex(where: { $0.name == mesh.databases[0] }) else { return }
        observation.databases[index].resolvedConflicts = MeshApplyLog(
            count: serverLogConflicts.count,
            latestAt: serverLogConflicts.latestSeenAt.map { MeshReport.isoTimestamp($0.timeIntervalSince1970) },
            latest: serverLogConflicts.latest)
        observation.databases[index].conflictsCountedSince = MeshReport.isoTimestamp(since.timeIntervalSince1970)
    }

    struct PassOutcome: Sendable {
        var desired: MeshDesired?
        var observation: MeshObservation?
        var applied: [MeshAction] = []
        var remaining: [MeshAction] = []
        var errors: [String] = []
        var notes: [String] = []
    }

    /// The member keys of every zone reached through the DCS, read concurrently (a zone on its
    /// own etcd may be unreachable, and its timeout must not delay the others); the zones that
    /// could not be read, with the error.
    static func readZoneMembers(mesh: MeshSection, zoneMembers: @escaping @Sendable (String) async throws -> [Member]) async
        -> (members: [String: [Member]], unreadable: [String: String]) {
        var members: [String: [Member]] = [:]
        var unreadable: [String: String] = [:]
        // Each child hands back a plain value, the error already rendered: a child result of
        // `(String, Result<[Member], any Error>)` crashed the release build in the task group's
        // hand-over (Swift 6.3.1).
        await withTaskGroup(of: ZoneRead.self) { group in
            for zone in mesh.zones where zone.dsn == nil {
                group.addTask {
                    do { return ZoneRead(scope: zone.scope, members: try await zoneMembers(zone.scope), error: nil) } catch {
                        return ZoneRead(scope: zone.scope, members: nil, error: "\(error)")
                    }
                }
            }
            for await read in group {
                if let list = read.members { members[read.scope] = list } else { unreadable[read.scope] = read.error ?? "unknown error" }
            }
        }
        return (members, unreadable)
    }

    struct ZoneRead: Sendable {
        var scope: String
        var members: [Member]?
        var error: String?
    }

    static func pass(mesh: MeshSection, synchronousMode: Bool, environment: Environment, rounds: Int) async -> PassOutcome {
        var outcome = PassOutcome()
        let (members, unreadable) = await readZoneMembers(mesh: mesh, zoneMembers: environment.zoneMembers)
        for zone in mesh.zones {
            if let error = unreadable[zone.scope] { outcome.errors.append("zone \(zone.scope): cannot read its members from the DCS: \(error)") }
        }
        var desired = MeshTopology.desired(mesh: mesh, synchronousMode: synchronousMode, zoneMembers: members,
                                           checkedLeaders: environment.checkedLeaders())
        desired.unreadableZones = unreadable
        if let path = mesh.schemaFile {
            let file = MeshSchemaFile.load(path)
            for index in desired.databases.indices { desired.databases[index].schemaFile = file }
        }
        outcome.desired = desired
        let sql = MeshSQL(provider: desired.provider)
        var failed: [MeshAction] = []
        for round in 0..<max(1, rounds) {
            let observation: MeshObservation
            do {
                observation = try await MeshObserver.observe(desired, connector: environment.connector)
            } catch {
                outcome.errors.append("observing the local mesh catalogs failed: \(MeshDSN.redactedText("\(error)"))")
                return outcome
            }
            outcome.observation = observation
            let plan = meshPlan(desired, observation)
            outcome.notes = plan.notes
            outcome.remaining = plan.actions
            // Actions that failed earlier in this pass, or were applied already (a reload the
            // next observation does not show yet), wait for the next pass.
            let fresh = plan.actions.filter { !failed.contains($0) && !outcome.applied.contains($0) }
            guard !fresh.isEmpty, round < rounds - 1, environment.isLeader() else { break }
            let applied = await MeshApplier.apply(fresh, sql: sql, connector: environment.connector,
                                                  stillAllowed: environment.isLeader)
            outcome.applied += applied.applied
            failed += applied.failures.map(\.action)
            outcome.errors += applied.failures.map { "\($0.action.summary): \($0.error)" }
            if applied.applied.isEmpty { break }
        }
        return outcome
    }

    /// Logs when the overall state changes, not every pass. A converged mesh with notes (changes
    /// Spock skipped, a node staz will not drop) is a warning: each note needs the operator.
    func logState(_ result: MeshReconcileResult) {
        let state: String
        if result.converged {
            state = result.notes.isEmpty ? "converged" : "converged, with notes: " + result.notes.joined(separator: "; ")
        } else {
            state = "not converged: " + (result.errors + result.notes + result.pending).joined(separator: "; ")
        }
        if state != lastLoggedState {
            if state == "converged" { logger.info("mesh \(state)") } else { logger.warning("mesh \(state)") }
            lastLoggedState = state
        }
    }
}
