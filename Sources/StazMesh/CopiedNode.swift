import StazConfig

/// A zone seeded as a standby cluster of another zone holds, once promoted, a physical copy of
/// that zone's catalog: its node as the local node, its subscriptions (whose slots on the other
/// zones belong to the source zone), their replication origins. Started with the provider's
/// library, the copy's apply workers would stream from those slots and confirm changes the
/// source zone has not received; the provider's own `drop_subscription` / `sub_drop` would drop
/// the source zone's slots on its peers.
///
/// Forgetting the copy therefore happens only while the library is not loaded (no worker, no
/// hook can run) and only through local statements: the extension dropped with everything in it,
/// then the copied subscriptions' replication origins. No other server is contacted.
public struct CopiedNodeCleanup: Sendable {
    public let provider: MeshProvider
    /// This zone's configured node name.
    public let ownNode: String
    /// node name → scope of every configured zone.
    public let zoneOfNode: [String: String]

    public init(mesh: MeshSection) {
        provider = .forKind(mesh.provider)
        ownNode = mesh.nodeName
        zoneOfNode = Dictionary(mesh.zones.map { ($0.nodeName, $0.scope) }, uniquingKeysWith: { first, _ in first })
    }

    /// What one database holds, read without the provider's library (catalog tables only).
    public struct Inspection: Equatable, Sendable {
        public var inRecovery: Bool
        public var preloadLibraries: String
        public var extensionInstalled: Bool
        /// Read only when the extension is installed.
        public var localNode: String?
        /// Slot (and origin) names of the subscriptions in the copy.
        public var subscriptionSlots: [String] = []
        /// Replication origins that exist among `subscriptionSlots`.
        public var origins: [String] = []

        public init(inRecovery: Bool, preloadLibraries: String, extensionInstalled: Bool, localNode: String? = nil,
                    subscriptionSlots: [String] = [], origins: [String] = []) {
            self.inRecovery = inRecovery; self.preloadLibraries = preloadLibraries
            self.extensionInstalled = extensionInstalled; self.localNode = localNode
            self.subscriptionSlots = subscriptionSlots; self.origins = origins
        }
    }

    public enum Verdict: Equatable, Sendable {
        /// Nothing copied in this database (the message says why).
        case nothingToForget(String)
        /// Not safe, or not a copy: the message names what is wrong and what to do.
        case refused(String)
        /// Run `statements` in order on one connection (they include BEGIN and COMMIT).
        case forget(node: String, statements: [String])
    }

    public var serverQuery: String {
        """
        SELECT pg_catalog.pg_is_in_recovery()::text AS in_recovery,
               pg_catalog.current_setting('shared_preload_libraries') AS preload,
               EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = \(literal(provider.extensionName)))::text AS installed
        """
    }

    public var localNodeQuery: String {
        """
        SELECT n.node_name::text AS node_name
          FROM \(provider.table("local_node")) l JOIN \(provider.table("node")) n ON n.node_id = l.node_id
        """
    }

    public var subscriptionsQuery: String {
        """
        SELECT s.sub_slot_name::text AS slot_name, (o.roname IS NOT NULL)::text AS has_origin
          FROM \(provider.table("subscription")) s
          LEFT JOIN pg_catalog.pg_replication_origin o ON o.roname = s.sub_slot_name::text
         ORDER BY 1
        """
    }

    public func verdict(database: String, scope: String, _ seen: Inspection) -> Verdict {
        guard !seen.inRecovery else {
            return .refused("\(database): the leader of \(scope) is still a standby: run `stazctl promote-cluster \(scope)` first")
        }
        guard seen.extensionInstalled else {
            return .nothingToForget("\(database): no \(provider.extensionName) extension, nothing copied")
        }
        guard let node = seen.localNode else {
            return .nothingToForget("\(database): the \(provider.extensionName) extension holds no local node, nothing copied")
        }
        guard node != ownNode else {
            return .refused("\(database): the local node is \(node), this zone's own node: it is not a copy, and staz never drops a zone's node")
        }
        guard !MeshParameterRules.splitList(seen.preloadLibraries).contains(provider.preloadLibrary) else {
            return .refused("\(database): \(provider.preloadLibrary) is loaded (shared_preload_libraries), so the copy's apply workers "
                            + "may be running on the slots of node \(node): remove it from shared_preload_libraries, restart "
                            + "\(scope)'s PostgreSQL, and run this again")
        }
        var statements = ["BEGIN",
                          // No event trigger of the extension may fire while it is dropped.
                          "SET LOCAL session_replication_role = replica",
                          "DROP EXTENSION \(identifier(provider.extensionName)) CASCADE"]
        statements += seen.origins.map { "SELECT pg_catalog.pg_replication_origin_drop(\(literal($0)))" }
        statements.append("COMMIT")
        return .forget(node: node, statements: statements)
    }

    /// The zone a copied node came from, for messages.
    public func sourceDescription(of node: String) -> String {
        zoneOfNode[node].map { "zone \($0)'s node \(node)" } ?? "node \(node)"
    }
}
