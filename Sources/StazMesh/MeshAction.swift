/// One step that moves this zone's primary towards the desired mesh. Rendered to SQL by
/// `MeshSQL` (per provider) and executed by `MeshApplier`.
public enum MeshAction: Sendable, Equatable {
    /// The mesh role (SUPERUSER REPLICATION LOGIN), created or given the missing attributes.
    case ensureRole(name: String, password: String?)
    case createDatabase(name: String)
    /// `pg_reload_conf()`: the configuration file has the right value, the server not yet.
    case reloadConfiguration
    /// `ALTER SYSTEM RESET` of an override in postgresql.auto.conf, then reload.
    case resetSystemSetting(name: String)
    /// `ALTER DATABASE ... RESET` of a per-database override.
    case resetDatabaseSetting(database: String, name: String)
    case createExtension(database: String)
    case createNode(database: String, node: String, dsn: String)
    case addInterface(database: String, node: String, interface: String, dsn: String)
    case dropInterface(database: String, node: String, interface: String)
    /// Points the local node (and the subscriptions' target interface) at another interface:
    /// neither extension has a function for it, so the catalog rows are updated in one statement.
    case setLocalInterface(database: String, node: String, interface: String)
    case createReplicationSet(database: String, name: String)
    case addTable(database: String, set: String, schema: String, table: String)
    case createSubscription(database: String, name: String, providerDSN: String, replicationSets: [String])
    case alterSubscriptionInterface(database: String, subscription: String, interface: String)
    case addSubscriptionReplicationSet(database: String, subscription: String, set: String)
    /// Runs `mesh.schema` (its statements, in one transaction that records `digest`).
    case applySchema(database: String, path: String, digest: String, statements: [String])
    /// Stops a subscription of another zone's node copied into this one (a seeded zone whose
    /// provider library got loaded before `stazctl mesh forget-copy`): its worker would stream
    /// from that zone's slot. Local only; nothing is dropped.
    case pauseCopiedSubscription(database: String, name: String)

    /// The database the action runs in; nil: any (the maintenance database).
    public var database: String? {
        switch self {
        case .ensureRole, .createDatabase, .reloadConfiguration, .resetSystemSetting: return nil
        case .resetDatabaseSetting(let d, _), .createExtension(let d), .createNode(let d, _, _),
             .addInterface(let d, _, _, _), .dropInterface(let d, _, _), .setLocalInterface(let d, _, _),
             .createReplicationSet(let d, _), .addTable(let d, _, _, _), .createSubscription(let d, _, _, _),
             .alterSubscriptionInterface(let d, _, _), .addSubscriptionReplicationSet(let d, _, _),
             .applySchema(let d, _, _, _), .pauseCopiedSubscription(let d, _):
            return d
        }
    }

    /// Actions with the same group depend on each other in order: after a failure the rest of
    /// the group is skipped (e.g. add interface → switch subscription → drop old interface).
    public var group: String {
        switch self {
        case .ensureRole, .createDatabase, .reloadConfiguration, .resetSystemSetting: return "server"
        case .resetDatabaseSetting(let d, _): return "\(d)/settings"
        case .createExtension(let d), .createNode(let d, _, _), .setLocalInterface(let d, _, _):
            return "\(d)/node"
        case .addInterface(let d, let node, _, _), .dropInterface(let d, let node, _): return "\(d)/node \(node)"
        case .createReplicationSet(let d, _), .addTable(let d, _, _, _): return "\(d)/sets"
        case .applySchema(let d, _, _, _): return "\(d)/schema"
        case .pauseCopiedSubscription(let d, let name): return "\(d)/copied subscription \(name)"
        case .createSubscription(let d, let name, _, _), .alterSubscriptionInterface(let d, let name, _),
             .addSubscriptionReplicationSet(let d, let name, _):
            return "\(d)/subscription \(name)"
        }
    }

    /// One line for logs and the REST report; passwords are never shown.
    public var summary: String {
        switch self {
        case .ensureRole(let name, _): return "ensure role \(name) (SUPERUSER REPLICATION LOGIN)"
        case .createDatabase(let name): return "create database \(name)"
        case .reloadConfiguration: return "reload the server configuration"
        case .resetSystemSetting(let name): return "reset \(name) in postgresql.auto.conf and reload"
        case .resetDatabaseSetting(let d, let name): return "\(d): reset the per-database value of \(name)"
        case .createExtension(let d): return "\(d): create the extension"
        case .createNode(let d, let node, let dsn): return "\(d): create node \(node) (\(MeshDSN.redacted(dsn)))"
        case .addInterface(let d, let node, let interface, let dsn):
            return "\(d): add interface \(interface) to node \(node) (\(MeshDSN.redacted(dsn)))"
        case .dropInterface(let d, let node, let interface): return "\(d): drop interface \(interface) of node \(node)"
        case .setLocalInterface(let d, let node, let interface): return "\(d): use interface \(interface) as node \(node)'s own DSN"
        case .createReplicationSet(let d, let name): return "\(d): create replication set \(name)"
        case .addTable(let d, let set, let schema, let table): return "\(d): add table \(schema).\(table) to replication set \(set)"
        case .createSubscription(let d, let name, let dsn, _): return "\(d): create subscription \(name) (\(MeshDSN.redacted(dsn)))"
        case .alterSubscriptionInterface(let d, let name, let interface):
            return "\(d): switch subscription \(name) to interface \(interface)"
        case .addSubscriptionReplicationSet(let d, let name, let set): return "\(d): add replication set \(set) to subscription \(name)"
        case .applySchema(let d, let path, let digest, let statements):
            return "\(d): apply mesh.schema \(path) (\(statements.count) statements, digest \(digest))"
        case .pauseCopiedSubscription(let d, let name): return "\(d): disable subscription \(name) copied from another zone"
        }
    }
}
