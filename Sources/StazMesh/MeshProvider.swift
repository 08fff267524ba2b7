import StazConfig

/// What differs between Spock and pglogical for the mesh: names only. Both take the same
/// argument names, so every call is rendered once with named arguments (`=>`), which also
/// keeps calls working across versions whose argument lists differ.
public struct MeshProvider: Sendable, Equatable {
    public let kind: MeshProviderKind
    /// Schema of the extension's functions and catalog tables (`node`, `node_interface`,
    /// `local_node`, `subscription`, `replication_set`, `replication_set_table`: same columns).
    public let schema: String
    public let extensionName: String

    public let createNode: String
    public let addInterface: String
    public let dropInterface: String
    public let createSubscription: String
    public let alterSubscriptionInterface: String
    public let addSubscriptionReplicationSet: String
    public let subscriptionStatus: String
    public let createReplicationSet: String
    public let addTable: String
    public let replicateDDL: String

    public var name: String { kind.rawValue }
    public var slotPrefix: String { kind.slotPrefix }
    public var outputPlugin: String { kind.outputPlugin }
    public var preloadLibrary: String { kind.preloadLibrary }
    public var conflictResolutionParameter: String { kind.conflictResolutionParameter }
    public var synchronousCommitParameter: String { kind.synchronousCommitParameter }

    /// `schema.function`.
    public func qualified(_ function: String) -> String { schema + "." + function }
    /// `schema.table` of a catalog table.
    public func table(_ name: String) -> String { schema + "." + name }

    public static let spock = MeshProvider(
        kind: .spock, schema: "spock", extensionName: "spock",
        createNode: "node_create", addInterface: "node_add_interface", dropInterface: "node_drop_interface",
        createSubscription: "sub_create", alterSubscriptionInterface: "sub_alter_interface",
        addSubscriptionReplicationSet: "sub_add_repset", subscriptionStatus: "sub_show_status",
        createReplicationSet: "repset_create", addTable: "repset_add_table", replicateDDL: "replicate_ddl")

    public static let pglogical = MeshProvider(
        kind: .pglogical, schema: "pglogical", extensionName: "pglogical",
        createNode: "create_node", addInterface: "alter_node_add_interface", dropInterface: "alter_node_drop_interface",
        createSubscription: "create_subscription", alterSubscriptionInterface: "alter_subscription_interface",
        addSubscriptionReplicationSet: "alter_subscription_add_replication_set", subscriptionStatus: "show_subscription_status",
        createReplicationSet: "create_replication_set", addTable: "replication_set_add_table",
        replicateDDL: "replicate_ddl_command")

    public static func forKind(_ kind: MeshProviderKind) -> MeshProvider {
        switch kind {
        case .spock: return .spock
        case .pglogical: return .pglogical
        }
    }
}
