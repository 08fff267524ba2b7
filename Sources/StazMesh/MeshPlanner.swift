import StazConfig

/// The plan for one reconciliation pass: the actions, in order, and what cannot be fixed by an
/// action (needs a restart, a human decision, another zone).
public struct MeshPlan: Sendable, Equatable {
    public var actions: [MeshAction] = []
    public var notes: [String] = []
    public init(actions: [MeshAction] = [], notes: [String] = []) { self.actions = actions; self.notes = notes }
}

/// The reconciliation decision: what to do so that the observed mesh becomes the desired one.
/// Pure; converged (nothing to do) = no actions. Structural prerequisites are planned one
/// stage at a time (database → extension → node → the rest): the reconciler observes again
/// after applying, so later stages are planned against what really exists.
///
/// Never plans a drop of anything staz did not create: no node, subscription or slot is ever
/// dropped; only an interface that a DSN change replaced.
public func planMesh(_ desired: MeshDesired, _ observed: MeshObservation) -> [MeshAction] {
    meshPlan(desired, observed).actions
}

public func meshPlan(_ desired: MeshDesired, _ observed: MeshObservation) -> MeshPlan {
    var plan = MeshPlan(notes: desired.problems)
    planRole(desired, observed, &plan)
    planSettings(desired, observed, &plan)
    for database in desired.databases {
        guard let observedDatabase = observed.database(database.database) else {
            plan.notes.append("\(database.database): not observed")
            continue
        }
        planDatabase(desired, database, observedDatabase, observed, &plan)
    }
    return plan
}

private func planRole(_ desired: MeshDesired, _ observed: MeshObservation, _ plan: inout MeshPlan) {
    guard let role = observed.role, role.superuser, role.login else {
        plan.actions.append(.ensureRole(name: desired.username, password: desired.password))
        return
    }
}

/// Required settings as the running server sees them. The configuration file staz writes has
/// the right values; what can still be wrong is an override (ALTER SYSTEM, ALTER DATABASE), a
/// file not reloaded yet, or a postmaster setting waiting for a restart (then only reported:
/// restarts are the operator's or `stazctl restart --pending`'s call).
private func planSettings(_ desired: MeshDesired, _ observed: MeshObservation, _ plan: inout MeshPlan) {
    var reload = false
    for wanted in desired.settings {
        guard let current = observed.settings[wanted.name] else {
            if wanted.name != "output_plugin_libraries" {
                plan.notes.append("setting \(wanted.name) is unknown to the server (is \(desired.provider.preloadLibrary) in shared_preload_libraries?)")
            }
            continue
        }
        if settingSatisfies(current.value, wanted) { continue }
        if current.context == "postmaster" {
            plan.notes.append("\(wanted.name) is '\(current.value)', needs '\(wanted.value)': takes effect after a restart (pending restart)")
        } else if current.source == "database" {
            // Reported per database (planDatabase), where the override lives.
            continue
        } else if current.sourceFile.hasSuffix("postgresql.auto.conf") {
            plan.actions.append(.resetSystemSetting(name: wanted.name))
        } else if current.source == "configuration file" || current.source == "default" {
            reload = true
        } else {
            plan.notes.append("\(wanted.name) is '\(current.value)' (set by \(current.source)), needs '\(wanted.value)'")
        }
    }
    if reload { plan.actions.append(.reloadConfiguration) }
}

func settingSatisfies(_ value: String, _ wanted: MeshSettingDesired) -> Bool {
    if wanted.isList { return MeshParameterRules.splitList(value).contains(wanted.value) }
    let normalized = value.lowercased()
    if ["on", "off"].contains(wanted.value) {
        let truthy: Set<String> = ["on", "true", "yes", "1"]
        return truthy.contains(normalized) == (wanted.value == "on")
    }
    return normalized == wanted.value.lowercased()
}

private func planDatabase(_ desired: MeshDesired, _ database: MeshDatabaseDesired, _ observed: MeshDatabaseObserved,
                          _ server: MeshObservation, _ plan: inout MeshPlan) {
    let name = database.database
    guard observed.exists else {
        plan.actions.append(.createDatabase(name: name))
        return
    }
    for wanted in desired.settings {
        if let current = observed.settings[wanted.name], current.source == "database", !settingSatisfies(current.value, wanted) {
            plan.actions.append(.resetDatabaseSetting(database: name, name: wanted.name))
        }
    }
    // The replicated tables first: a subscription copies neither structure nor data.
    switch database.schemaFile {
    case .file(let path, let digest, let statements)?:
        if observed.schemaDigest != digest {
            plan.actions.append(.applySchema(database: name, path: path, digest: digest, statements: statements))
            return
        }
    case .unusable(let path, let error)?:
        guard observed.schemaDigest != nil else {
            plan.notes.append("\(name): mesh.schema \(path): \(error); the database joins the mesh once it has been applied")
            return
        }
        plan.notes.append("\(name): mesh.schema \(path): \(error); the version applied on \(observed.schemaAppliedAt ?? "?") stays")
    case nil:
        break
    }
    guard observed.extensionInstalled else {
        guard observed.extensionAvailable else {
            plan.notes.append("\(name): extension \(desired.provider.extensionName) is not installed on this server")
            return
        }
        let preload = server.settings["shared_preload_libraries"]?.value ?? ""
        guard MeshParameterRules.splitList(preload).contains(desired.provider.preloadLibrary) else {
            plan.notes.append("\(name): \(desired.provider.preloadLibrary) is not loaded yet (shared_preload_libraries takes effect after a restart)")
            return
        }
        plan.actions.append(.createExtension(database: name))
        return
    }
    guard let local = observed.localNode else {
        guard let dsn = database.nodeDSN else {
            plan.notes.append("\(name): node \(database.nodeName) not created: this zone's DSN is unknown")
            return
        }
        plan.actions.append(.createNode(database: name, node: database.nodeName, dsn: dsn))
        return
    }
    guard local.name == database.nodeName else {
        if let source = database.subscriptions.first(where: { $0.providerNode == local.name }) {
            plan.notes.append("\(name): the local node is \(local.name), zone \(source.providerScope)'s: this zone was seeded from a copy "
                              + "of it; run `stazctl mesh forget-copy` (README: seeding a zone)")
            for copied in observed.subscriptions where copied.status != "disabled" {
                plan.actions.append(.pauseCopiedSubscription(database: name, name: copied.name))
            }
        } else {
            plan.notes.append("\(name): the local node is '\(local.name)', the configuration says '\(database.nodeName)'; "
                              + "staz never drops a node: drop it by hand or fix mesh.node_name")
        }
        return
    }
    if let dsn = database.nodeDSN, local.dsn != dsn {
        let node = observed.node(local.name)
        let target = node?.interfaces.first { $0.dsn == dsn }?.name ?? interfaceName(node: local.name, dsn: dsn)
        if node?.interface(target) == nil {
            plan.actions.append(.addInterface(database: name, node: local.name, interface: target, dsn: dsn))
        }
        plan.actions.append(.setLocalInterface(database: name, node: local.name, interface: target))
        plan.actions.append(.dropInterface(database: name, node: local.name, interface: local.interfaceName))
    }
    if let skipped = observed.skippedChanges, skipped.count > 0 {
        plan.notes.append("\(name): Spock skipped \(skipped.count) change(s) it could not apply (spock.exception_log, newest at "
                          + "\(skipped.latestAt ?? "?"): \(skipped.latest ?? "?")): another zone has them and this one does not; "
                          + "repair those rows, then delete the log's rows")
    }
    for set in database.replicationSets where !observed.replicationSets.contains(set) {
        plan.actions.append(.createReplicationSet(database: name, name: set))
    }
    planTables(database, observed, &plan)
    for subscription in database.subscriptions {
        planSubscription(subscription, database, observed, &plan)
    }
}

/// Tables of the configured schemas that are in no replication set yet: with a primary key (or
/// replica identity index) into `default`, without into `default_insert_only` (UPDATE/DELETE
/// cannot be replicated without one). Tables a user put into any set are left alone.
private func planTables(_ database: MeshDatabaseDesired, _ observed: MeshDatabaseObserved, _ plan: inout MeshPlan) {
    let sets = database.replicationSets
    for table in observed.tables where table.sets.isEmpty && database.schemas.contains(table.schema) {
        let target = table.hasIdentityIndex ? "default" : "default_insert_only"
        guard sets.contains(target) else {
            plan.notes.append("\(database.database): table \(table.schema).\(table.name) is not replicated: "
                              + "replication set \(target) is not configured")
            continue
        }
        plan.actions.append(.addTable(database: database.database, set: target, schema: table.schema, table: table.name))
    }
}

private func planSubscription(_ wanted: MeshSubscriptionDesired, _ database: MeshDatabaseDesired,
                              _ observed: MeshDatabaseObserved, _ plan: inout MeshPlan) {
    let name = database.database
    guard let existing = observed.subscription(wanted.name) else {
        // create_subscription reuses a local copy of the provider node only through the
        // interface named after the node, and refuses when its DSN differs.
        if let node = observed.node(wanted.providerNode) {
            if let named = node.interface(wanted.providerNode) {
                if named.dsn != wanted.providerDSN {
                    if let user = observed.subscriptions.first(where: { $0.providerNode == node.name && $0.interfaceName == named.name }) {
                        plan.notes.append("\(name): subscription \(wanted.name) not created: interface \(named.name) "
                                          + "has another DSN and is used by subscription \(user.name)")
                        return
                    }
                    plan.actions.append(.dropInterface(database: name, node: node.name, interface: named.name))
                    plan.actions.append(.addInterface(database: name, node: node.name, interface: node.name, dsn: wanted.providerDSN))
                }
            } else {
                plan.actions.append(.addInterface(database: name, node: node.name, interface: node.name, dsn: wanted.providerDSN))
            }
        }
        plan.actions.append(.createSubscription(database: name, name: wanted.name, providerDSN: wanted.providerDSN,
                                                replicationSets: database.replicationSets))
        return
    }
    guard existing.providerNode == wanted.providerNode else {
        plan.notes.append("\(name): subscription \(wanted.name) receives from node '\(existing.providerNode)', "
                          + "not '\(wanted.providerNode)'; left as it is")
        return
    }
    if existing.providerDSN != wanted.providerDSN {
        // New endpoint: add an interface, switch the subscription to it, drop the old one.
        // Interfaces are named after a hash of their DSN, so a repeated pass
        // finds the interface it added.
        let node = observed.node(wanted.providerNode)
        let target = node?.interfaces.first { $0.dsn == wanted.providerDSN }?.name
            ?? interfaceName(node: wanted.providerNode, dsn: wanted.providerDSN)
        if node?.interface(target) == nil {
            plan.actions.append(.addInterface(database: name, node: wanted.providerNode, interface: target, dsn: wanted.providerDSN))
        }
        plan.actions.append(.alterSubscriptionInterface(database: name, subscription: wanted.name, interface: target))
        let stillUsed = observed.subscriptions.contains {
            $0.name != existing.name && $0.providerNode == existing.providerNode && $0.interfaceName == existing.interfaceName
        }
        if !stillUsed {
            plan.actions.append(.dropInterface(database: name, node: wanted.providerNode, interface: existing.interfaceName))
        }
    }
    for set in database.replicationSets where !existing.replicationSets.contains(set) {
        plan.actions.append(.addSubscriptionReplicationSet(database: name, subscription: wanted.name, set: set))
    }
    if !existing.forwardOrigins.isEmpty {
        plan.notes.append("\(name): subscription \(wanted.name) forwards origins \(existing.forwardOrigins); "
                          + "a full mesh needs forward_origins '{}' (re-create it)")
    }
    if !existing.enabled {
        plan.notes.append("\(name): subscription \(wanted.name) is disabled (left disabled)")
    }
}

/// `<node>_<8 hex digits of the DSN's FNV-1a hash>`, at most 63 bytes (a `name`).
func interfaceName(node: String, dsn: String) -> String {
    var hash: UInt32 = 0x811c_9dc5
    for byte in dsn.utf8 {
        hash ^= UInt32(byte)
        hash = hash &* 0x0100_0193
    }
    let hex = String(hash, radix: 16)
    let suffix = String(repeating: "0", count: 8 - hex.count) + hex
    return String(node.prefix(54)) + "_" + suffix
}
