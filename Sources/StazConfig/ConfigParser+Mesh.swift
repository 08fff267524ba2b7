import StazCore

/// `mesh:` (the three-zone logical-replication mesh). Every problem is reported with its key
/// path (`mesh.zones[1].dsn: ...`); nothing of a broken section is used.
extension ConfigParser {
    static let meshNamePattern = "[a-z0-9_], at most 63 characters"

    static func parseMesh(_ top: SectionReader, scope: String?, superuser: Credentials?) -> MeshSection? {
        guard let reader = top.section("mesh") else { return nil }
        let diagnostics = reader.diagnostics
        let issuesBefore = diagnostics.issues.count
        let ownScope = scope ?? ""

        var provider: MeshProviderKind?
        if let text = reader.string("provider", required: true) {
            provider = MeshProviderKind(rawValue: text.lowercased())
            if provider == nil {
                diagnostics.error(reader.keyPath("provider"), "expected spock or pglogical, got '\(text)'")
            }
        }

        let databases = reader.stringList("databases") ?? []
        if !reader.has("databases") {
            diagnostics.error(reader.keyPath("databases"), "missing required key (list the databases to replicate)")
        } else if databases.isEmpty {
            diagnostics.error(reader.keyPath("databases"), "must list at least one database")
        }
        reportDuplicates(databases, path: reader.keyPath("databases"), diagnostics: diagnostics)
        for (index, name) in databases.enumerated() where name.isEmpty || name.utf8.count > 63 {
            diagnostics.error(reader.keyPath("databases") + "[\(index)]", "database names must have 1 to 63 characters")
        }
        if provider == .spock, databases.count > 1 {
            // Spock's commits carry the provider node's origin, which is server-wide: a promoted
            // member cannot tell how far each database got, so its workers restart from their
            // own origins (StazMesh OriginHandoff).
            diagnostics.warn(reader.keyPath("databases"), "mesh.databases: with Spock and more than one database, "
                             + "a zone failover may apply a peer's transactions twice (Spock's node origins are "
                             + "shared by all databases); mesh one database for failovers without duplicates")
        }

        let ownNodeName = reader.string("node_name")
        if let ownNodeName { validateNodeName(ownNodeName, path: reader.keyPath("node_name"), diagnostics: diagnostics) }
        let ownDSN = reader.string("dsn")
        if let ownDSN { validateZoneDSN(ownDSN, path: reader.keyPath("dsn"), diagnostics: diagnostics) }

        var (zones, explicitNodeNames) = parseZones(reader)
        if let index = zones.firstIndex(where: { $0.scope == ownScope }) {
            let listed = zones[index]
            if let ownNodeName, explicitNodeNames.contains(listed.scope), listed.nodeName != ownNodeName {
                diagnostics.error(reader.keyPath("zones") + "[\(index)].node_name",
                                  "'\(listed.nodeName)' contradicts mesh.node_name '\(ownNodeName)' for this zone")
            }
            if let ownDSN, let listedDSN = listed.dsn, listedDSN != ownDSN {
                diagnostics.error(reader.keyPath("zones") + "[\(index)].dsn", "contradicts mesh.dsn for this zone")
            }
            if let ownNodeName { zones[index].nodeName = ownNodeName }
            if zones[index].dsn == nil { zones[index].dsn = ownDSN }
        } else {
            zones.insert(MeshZone(scope: ownScope, nodeName: ownNodeName ?? MeshSection.nodeName(forScope: ownScope), dsn: ownDSN), at: 0)
        }
        var seenNodes: [String: String] = [:]
        for zone in zones {
            if let other = seenNodes[zone.nodeName] {
                diagnostics.error(reader.keyPath("zones"), "zones '\(other)' and '\(zone.scope)' have the same node name '\(zone.nodeName)'")
            }
            seenNodes[zone.nodeName] = zone.scope
        }

        var replicationSets = MeshSection.defaultReplicationSets
        if let sets = reader.stringList("replication_sets") {
            if sets.isEmpty { diagnostics.error(reader.keyPath("replication_sets"), "must list at least one replication set") }
            reportDuplicates(sets, path: reader.keyPath("replication_sets"), diagnostics: diagnostics)
            replicationSets = sets
        }
        var schemas = ["public"]
        if let list = reader.stringList("schemas") {
            reportDuplicates(list, path: reader.keyPath("schemas"), diagnostics: diagnostics)
            schemas = list
        }

        var username = superuser?.username ?? "postgres"
        var password = superuser?.password
        if let auth = reader.section("authentication") {
            if let name = auth.string("username", required: true) {
                if name != username { password = nil }
                username = name
            }
            if let secret = auth.string("password") { password = secret }
            auth.finish()
        }
        let interval = reader.number("reconcile_interval", exclusiveMin: 0)
        let schemaFile = reader.string("schema")
        if let schemaFile, !schemaFile.hasPrefix("/") {
            // The daemon's working directory is not the configuration's (systemd starts it in /).
            diagnostics.error(reader.keyPath("schema"), "must be an absolute path to a SQL file, got '\(schemaFile)'")
        }
        reader.finish()

        guard diagnostics.issues.count == issuesBefore, let provider else { return nil }
        var section = MeshSection(provider: provider, databases: databases, zones: zones, ownScope: ownScope, username: username)
        section.password = password
        section.replicationSets = replicationSets
        section.schemas = schemas
        if let interval { section.reconcileInterval = interval }
        section.schemaFile = schemaFile
        return section
    }

    /// Every member carries the same `mesh` section, so this zone's entry may name its etcd too.
    /// The member itself always uses its top-level section (its lock lives there); an entry that
    /// names other endpoints means the other zones would read this zone's keys elsewhere.
    static func checkOwnZoneDCS(_ mesh: MeshSection, etcd: EtcdSection?, etcd3: EtcdSection?, diagnostics: Diagnostics) {
        guard let index = mesh.zones.firstIndex(where: { $0.scope == mesh.ownScope }),
              let listed = mesh.zones[index].ownDCS else { return }
        let top: (api: EtcdAPIVersion, section: EtcdSection)? = etcd3.map { (.v3, $0) } ?? etcd.map { (.v2, $0) }
        guard let top else { return }
        let key = listed.api == .v3 ? "etcd3" : "etcd"
        if listed.api != top.api || Set(listed.section.endpoints) != Set(top.section.endpoints) {
            diagnostics.warn("mesh.zones[\(index)].\(key)",
                             "this zone's entry names \(listed.section.endpoints.joined(separator: ",")) but this member's "
                             + "own DCS is \(top.section.endpoints.joined(separator: ",")) (\(top.api == .v3 ? "etcd3" : "etcd")): "
                             + "the other zones read this zone's keys from the entry's endpoints")
        }
    }

    /// `zones:` entries: `{scope, node_name, dsn}` mappings, or a bare scope string. Also returns
    /// the scopes whose node name was written (not derived).
    static func parseZones(_ reader: SectionReader) -> ([MeshZone], Set<String>) {
        let diagnostics = reader.diagnostics
        let path = reader.keyPath("zones")
        guard let raw = reader.raw("zones") else {
            diagnostics.error(path, "missing required key (list every zone's scope, this one included)")
            return ([], [])
        }
        guard case .array(let items) = raw else {
            reader.typeError("zones", expected: "a list of zones", got: raw)
            return ([], [])
        }
        var explicitNodeNames = Set<String>()
        var zones: [MeshZone] = []
        var scopes = Set<String>()
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            var zone: MeshZone?
            switch item {
            case .string(let scope) where !scope.isEmpty:
                zone = MeshZone(scope: scope, nodeName: MeshSection.nodeName(forScope: scope))
            case .object(let object):
                let entry = SectionReader(path: itemPath, object: object, diagnostics: diagnostics)
                let scope = entry.string("scope", required: true)
                let nodeName = entry.string("node_name")
                if let nodeName { validateNodeName(nodeName, path: entry.keyPath("node_name"), diagnostics: diagnostics) }
                let dsn = entry.string("dsn")
                if let dsn { validateZoneDSN(dsn, path: entry.keyPath("dsn"), diagnostics: diagnostics) }
                // A zone on its own etcd: the same keys as the top-level sections.
                let etcd = entry.has("etcd") ? parseEtcd(entry, key: "etcd") : nil
                let etcd3 = entry.has("etcd3") ? parseEtcd(entry, key: "etcd3") : nil
                entry.finish()
                if let scope {
                    zone = MeshZone(scope: scope, nodeName: nodeName ?? MeshSection.nodeName(forScope: scope), dsn: dsn)
                    zone?.etcd = etcd
                    zone?.etcd3 = etcd3
                    if nodeName != nil { explicitNodeNames.insert(scope) }
                }
            default:
                diagnostics.error(itemPath, "expected a zone (a mapping with scope, node_name, dsn, etcd3 or etcd, or a scope name), got \(describeKind(item))")
            }
            guard let zone else { continue }
            if !scopes.insert(zone.scope).inserted {
                diagnostics.error("\(itemPath).scope", "zone '\(zone.scope)' is listed twice")
                continue
            }
            zones.append(zone)
        }
        if items.isEmpty { diagnostics.error(path, "must list at least one zone") }
        return (zones, explicitNodeNames)
    }

    static func validateNodeName(_ name: String, path: String, diagnostics: Diagnostics) {
        let valid = !name.isEmpty && name.utf8.count <= 63 && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_"
        }
        if !valid { diagnostics.error(path, "'\(name)' is not a valid node name (\(meshNamePattern))") }
    }

    /// A zone DSN: key=value form, with a host, and without dbname (added per database).
    static func validateZoneDSN(_ dsn: String, path: String, diagnostics: Diagnostics) {
        let pairs: [(key: String, value: String)]
        do { pairs = try MeshConninfo.parse(dsn) } catch {
            diagnostics.error(path, "\(error)"); return
        }
        let keys = pairs.map(\.key)
        if keys.contains("dbname") {
            diagnostics.error(path, "must not set dbname (the mesh adds one per database)")
        }
        if !keys.contains("host") && !keys.contains("hostaddr") && !keys.contains("service") {
            diagnostics.error(path, "must name a host (host=...)")
        }
    }

    static func reportDuplicates(_ values: [String], path: String, diagnostics: Diagnostics) {
        var seen = Set<String>()
        for (index, value) in values.enumerated() where !seen.insert(value).inserted {
            diagnostics.error("\(path)[\(index)]", "'\(value)' is listed twice")
        }
    }
}
