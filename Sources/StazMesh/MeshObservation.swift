import StazCore

/// What the mesh looks like on this zone's primary, read from the catalogs (`MeshObserver`).
/// Also the input of the post-failover integrity check: each subscription carries its slot,
/// its replication origin and the origin's `remote_lsn`.
public struct MeshObservation: Sendable, Equatable {
    public var settings: [String: MeshSettingObserved] = [:]
    /// The mesh role: nil when it does not exist.
    public var role: MeshRoleObserved?
    public var databases: [MeshDatabaseObserved] = []
    /// Logical slots of the provider's output plugin here (subscribers in other zones), with
    /// how far behind each consumer is.
    public var outgoingSlots: [MeshSlotObserved] = []
    public var currentWALLSN: String?
    /// pglogical: the server's current log file (`pg_current_logfile()`, absolute), where its
    /// conflicts are logged; nil without the logging collector.
    public var serverLogFile: String?
    public init() {}

    public func database(_ name: String) -> MeshDatabaseObserved? { databases.first { $0.name == name } }
}

public struct MeshSettingObserved: Sendable, Equatable {
    public var value: String
    /// pg_settings.context: `postmaster` needs a restart, others a reload.
    public var context: String
    /// pg_settings.source (`configuration file`, `database`, `default`, ...).
    public var source: String
    public var sourceFile: String
    public var pendingRestart: Bool
    public init(value: String, context: String, source: String = "configuration file", sourceFile: String = "", pendingRestart: Bool = false) {
        self.value = value; self.context = context; self.source = source; self.sourceFile = sourceFile; self.pendingRestart = pendingRestart
    }
}

public struct MeshRoleObserved: Sendable, Equatable {
    public var superuser: Bool
    public var replication: Bool
    public var login: Bool
    public init(superuser: Bool, replication: Bool, login: Bool) {
        self.superuser = superuser; self.replication = replication; self.login = login
    }
}

public struct MeshDatabaseObserved: Sendable, Equatable {
    public var name: String
    public var exists: Bool = true
    public var extensionInstalled: Bool = false
    public var extensionAvailable: Bool = true
    public var localNode: MeshLocalNode?
    /// Every node this database knows (its own and local copies of providers), with interfaces.
    public var nodes: [MeshNodeObserved] = []
    public var subscriptions: [MeshSubscriptionObserved] = []
    /// Replication sets of the local node.
    public var replicationSets: [String] = []
    /// Tables of the configured schemas.
    public var tables: [MeshTableObserved] = []
    /// The required settings as a session in this database sees them (per-database overrides).
    public var settings: [String: MeshSettingObserved] = [:]
    /// Spock: changes its apply workers skipped (`spock.exception_log`); nil with pglogical.
    public var skippedChanges: MeshApplyLog?
    /// Conflicts the apply workers resolved: Spock's `spock.resolutions`; with pglogical, which
    /// only logs them, the conflict lines of the server log (`ServerLogConflicts`; one mesh
    /// database only, as the lines do not name their database).
    public var resolvedConflicts: MeshApplyLog?
    /// Digest of the `mesh.schema` version applied here, and when (`staz.mesh_schema`); nil
    /// when none was (or no schema file is configured: then it is not read).
    public var schemaDigest: String?
    public var schemaAppliedAt: String?
    /// pglogical: `resolvedConflicts` counts the server log's conflict lines since this time.
    public var conflictsCountedSince: String?
    public init(name: String) { self.name = name }

    public func node(_ name: String) -> MeshNodeObserved? { nodes.first { $0.name == name } }
    public func subscription(_ name: String) -> MeshSubscriptionObserved? { subscriptions.first { $0.name == name } }
}

/// A count of rows in one of Spock's apply logs, with the newest row's time and text:
/// `spock.exception_log`, where each row is a change that failed to apply and was skipped
/// (`spock.exception_behaviour = discard`, `exception_logging = discard`: MeshParameterRules),
/// so a peer zone has it and this one does not; or `spock.resolutions`, where each row is a
/// conflict an apply worker resolved (`spock.save_resolutions = on`; last update wins).
public struct MeshApplyLog: Sendable, Equatable {
    public var count: Int
    public var latestAt: String?
    /// The newest row: the error of a skipped change, or `insert_exists on public.t:
    /// apply_remote` for a conflict.
    public var latest: String?
    public init(count: Int, latestAt: String? = nil, latest: String? = nil) {
        self.count = count; self.latestAt = latestAt; self.latest = latest
    }
}

public struct MeshLocalNode: Sendable, Equatable {
    public var name: String
    public var interfaceName: String
    public var dsn: String
    public init(name: String, interfaceName: String, dsn: String) { self.name = name; self.interfaceName = interfaceName; self.dsn = dsn }
}

public struct MeshInterfaceObserved: Sendable, Equatable {
    public var name: String
    public var dsn: String
    public init(name: String, dsn: String) { self.name = name; self.dsn = dsn }
}

public struct MeshNodeObserved: Sendable, Equatable {
    public var name: String
    public var interfaces: [MeshInterfaceObserved]
    public init(name: String, interfaces: [MeshInterfaceObserved]) { self.name = name; self.interfaces = interfaces }
    public func interface(_ name: String) -> MeshInterfaceObserved? { interfaces.first { $0.name == name } }
}

public struct MeshSubscriptionObserved: Sendable, Equatable {
    public var name: String
    /// `replicating`, `initializing`, `down`, `disabled`, `unknown` (show_subscription_status).
    public var status: String
    public var providerNode: String
    /// The provider interface the subscription uses, and its DSN.
    public var interfaceName: String
    public var providerDSN: String
    public var slotName: String
    public var enabled: Bool
    public var replicationSets: [String]
    public var forwardOrigins: [String]
    /// Replication origin (named like the slot) and how far it has applied, in the provider's
    /// WAL (`pg_replication_origin_status.remote_lsn`); nil before the first sync.
    public var originName: String?
    public var remoteLSN: String?
    /// Where in our own WAL the origin's last applied commit is (`local_lsn`).
    public var localLSN: String?
    public init(name: String, status: String, providerNode: String, interfaceName: String, providerDSN: String,
                slotName: String, enabled: Bool = true, replicationSets: [String] = MeshSubscriptionObserved.defaultSets,
                forwardOrigins: [String] = [], originName: String? = nil, remoteLSN: String? = nil,
                localLSN: String? = nil) {
        self.name = name; self.status = status; self.providerNode = providerNode; self.interfaceName = interfaceName
        self.providerDSN = providerDSN; self.slotName = slotName; self.enabled = enabled
        self.replicationSets = replicationSets; self.forwardOrigins = forwardOrigins
        self.originName = originName; self.remoteLSN = remoteLSN; self.localLSN = localLSN
    }
    public static let defaultSets = ["default", "default_insert_only", "ddl_sql"]
}

public struct MeshTableObserved: Sendable, Equatable {
    public var schema: String
    public var name: String
    /// Has a primary key or replica identity index (needed to replicate UPDATE/DELETE).
    public var hasIdentityIndex: Bool
    /// Replication sets it belongs to (any, not only the configured ones).
    public var sets: [String]
    public init(schema: String, name: String, hasIdentityIndex: Bool, sets: [String] = []) {
        self.schema = schema; self.name = name; self.hasIdentityIndex = hasIdentityIndex; self.sets = sets
    }
}

public struct MeshSlotObserved: Sendable, Equatable {
    public var name: String
    public var database: String
    public var active: Bool
    /// `pg_current_wal_lsn() - confirmed_flush_lsn`.
    public var lagBytes: Int64?
    /// pg_stat_replication.replay_lag of the consuming walsender (nil when idle or unknown).
    public var lagSeconds: Double?
    /// application_name of the consumer (pglogical/Spock use the subscription name).
    public var consumer: String?
    public var confirmedFlushLSN: String?
    public init(name: String, database: String, active: Bool, lagBytes: Int64? = nil, lagSeconds: Double? = nil,
                consumer: String? = nil, confirmedFlushLSN: String? = nil) {
        self.name = name; self.database = database; self.active = active; self.lagBytes = lagBytes
        self.lagSeconds = lagSeconds; self.consumer = consumer; self.confirmedFlushLSN = confirmedFlushLSN
    }
}
