import Logging
import StazPostgres

/// Opens SQL sessions to the local server for the mesh (one per database), as the local
/// superuser. Every connect and statement is bounded, so a hung server cannot hold the
/// reconciler for long (and never anything else: the reconciler runs on its own).
public struct MeshConnector: Sendable {
    public let target: @Sendable (String) -> SQLSession.Target
    public let connectTimeout: Double
    public let statementTimeout: Double
    public let maintenanceDatabase: String
    let logger: Logger

    public init(target: @escaping @Sendable (String) -> SQLSession.Target, connectTimeout: Double = 5,
                statementTimeout: Double = 30, maintenanceDatabase: String = "postgres", logger: Logger) {
        self.target = target; self.connectTimeout = connectTimeout; self.statementTimeout = statementTimeout
        self.maintenanceDatabase = maintenanceDatabase; self.logger = logger
    }

    public func open(_ database: String?) async throws -> SQLSession {
        try await SQLSession.open(target(database ?? maintenanceDatabase), timeout: connectTimeout, logger: logger)
    }
}

/// Reads a `MeshObservation` from the local server (the observe edge of the reconciliation).
public enum MeshObserver {
    public static func observe(_ desired: MeshDesired, connector: MeshConnector) async throws -> MeshObservation {
        let provider = desired.provider
        let timeout = connector.statementTimeout
        let settingNames = desired.settings.map(\.name)
        var observation = MeshObservation()
        let server = try await connector.open(nil)
        defer { server.close() }
        observation.settings = MeshQueries.parseSettings(try await server.query(MeshQueries.settings(settingNames), timeout: timeout))
        observation.role = MeshQueries.parseRole(try await server.query(MeshQueries.role(desired.username), timeout: timeout))
        let existing = Set(try await server.query(MeshQueries.databases, timeout: timeout).compactMap { $0["name"] ?? nil })
        observation.outgoingSlots = MeshQueries.parseSlots(try await server.query(MeshQueries.outgoingSlots(plugin: provider.outputPlugin), timeout: timeout))
        observation.currentWALLSN = try await server.query(MeshQueries.currentLSN, timeout: timeout).first?["lsn"] ?? nil
        if provider.kind == .pglogical {
            observation.serverLogFile = try await server.query(MeshQueries.serverLogFile, timeout: timeout).first?["path"] ?? nil
        }

        for database in desired.databases {
            var observed = MeshDatabaseObserved(name: database.database)
            guard existing.contains(database.database) else {
                observed.exists = false
                observation.databases.append(observed)
                continue
            }
            let session = try await connector.open(database.database)
            defer { session.close() }
            observed.settings = MeshQueries.parseSettings(try await session.query(MeshQueries.settings(settingNames), timeout: timeout))
            if database.schemaFile != nil,
               try await session.query(MeshSchemaFile.recordPresentQuery, timeout: timeout).first?["present"] == .some("true"),
               let row = try await session.query(MeshSchemaFile.recordQuery, timeout: timeout).first {
                observed.schemaDigest = row["digest"] ?? nil
                observed.schemaAppliedAt = row["applied_at"] ?? nil
            }
            let ext = try await session.query(MeshQueries.extensionState(provider), timeout: timeout).first ?? [:]
            observed.extensionInstalled = (ext["installed"] ?? nil) != nil
            observed.extensionAvailable = (ext["available"] ?? nil) == "true"
            if observed.extensionInstalled {
                if let row = try await session.query(MeshQueries.localNode(provider), timeout: timeout).first,
                   let node = row["node"] ?? nil {
                    observed.localNode = MeshLocalNode(name: node, interfaceName: (row["interface"] ?? nil) ?? "", dsn: (row["dsn"] ?? nil) ?? "")
                }
                observed.nodes = MeshQueries.parseNodes(try await session.query(MeshQueries.nodes(provider), timeout: timeout))
                observed.subscriptions = MeshQueries.parseSubscriptions(try await session.query(MeshQueries.subscriptions(provider), timeout: timeout))
                if observed.localNode != nil {
                    observed.replicationSets = try await session.query(MeshQueries.replicationSets(provider), timeout: timeout)
                        .compactMap { $0["name"] ?? nil }
                }
                observed.tables = MeshQueries.parseTables(try await session.query(
                    MeshQueries.tables(provider, schemas: database.schemas), timeout: timeout))
                if provider.kind == .spock {
                    observed.skippedChanges = MeshQueries.parseApplyLog(
                        try await session.query(MeshQueries.skippedChanges, timeout: timeout))
                    observed.resolvedConflicts = MeshQueries.parseApplyLog(
                        try await session.query(MeshQueries.resolvedConflicts, timeout: timeout))
                }
            }
            observation.databases.append(observed)
        }
        return observation
    }
}

/// What applying a plan did.
public struct MeshApplyOutcome: Sendable, Equatable {
    public var applied: [MeshAction] = []
    public var failures: [MeshActionFailure] = []
    /// Not attempted: an earlier action of their group failed, or leadership was lost.
    public var skipped: [MeshAction] = []
    public init() {}
}

public struct MeshActionFailure: Sendable, Equatable {
    public var action: MeshAction
    public var error: String
    public init(action: MeshAction, error: String) { self.action = action; self.error = error }
}

/// Executes planned actions (the apply edge). Reusable for other mesh repairs: give it any
/// actions and a connector.
public enum MeshApplier {
    /// Runs `actions` in order, each as its own statements on a session to its database.
    /// `stillAllowed` is asked before every action (this member must still be the leader).
    public static func apply(_ actions: [MeshAction], sql: MeshSQL, connector: MeshConnector,
                             stillAllowed: @Sendable () -> Bool = { true }) async -> MeshApplyOutcome {
        var outcome = MeshApplyOutcome()
        var sessions: [String: SQLSession] = [:]
        var failedGroups = Set<String>()
        defer { for session in sessions.values { session.close() } }
        for action in actions {
            guard stillAllowed(), !failedGroups.contains(action.group) else {
                outcome.skipped.append(action)
                continue
            }
            let key = action.database ?? connector.maintenanceDatabase
            do {
                let session: SQLSession
                if let open = sessions[key], !open.isClosed {
                    session = open
                } else {
                    session = try await connector.open(action.database)
                    sessions[key] = session
                }
                try await MeshCatalogLock.holding(session, timeout: connector.statementTimeout) {
                    for statement in sql.statements(for: action) {
                        _ = try await session.query(statement, timeout: connector.statementTimeout)
                    }
                }
                outcome.applied.append(action)
                connector.logger.info("mesh: \(action.summary)")
            } catch {
                failedGroups.insert(action.group)
                if case .applySchema = action {
                    // Failed inside its transaction: ending the session rolls it back and
                    // releases the catalog lock the aborted transaction could not.
                    sessions[key]?.close()
                    sessions[key] = nil
                }
                let text = MeshDSN.redactedText("\(error)")
                outcome.failures.append(MeshActionFailure(action: action, error: text))
                connector.logger.warning("mesh: \(action.summary) failed: \(text)")
                // Each action is single statements (DO blocks, one CTE), so a failure leaves no
                // transaction open; a broken connection is reopened by the next action.
                if sessions[key]?.isClosed == true { sessions[key] = nil }
            }
        }
        return outcome
    }
}
