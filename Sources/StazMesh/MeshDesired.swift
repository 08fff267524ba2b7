import StazConfig
import StazCore

/// A subscription this zone's node must have: it receives from `providerNode`.
public struct MeshSubscriptionDesired: Sendable, Equatable {
    public var name: String
    public var providerNode: String
    public var providerScope: String
    /// Full provider DSN for this database (zone-level: reaches whichever member is primary).
    public var providerDSN: String
    public init(name: String, providerNode: String, providerScope: String, providerDSN: String) {
        self.name = name; self.providerNode = providerNode; self.providerScope = providerScope; self.providerDSN = providerDSN
    }
}

/// Everything one database must look like on this zone's primary.
public struct MeshDatabaseDesired: Sendable, Equatable {
    public var database: String
    public var nodeName: String
    /// This node's own zone-level DSN (its interface; `create_subscription` connects to it).
    public var nodeDSN: String?
    public var subscriptions: [MeshSubscriptionDesired]
    public var replicationSets: [String]
    public var schemas: [String]
    /// `mesh.schema`, as read this pass (nil: not configured).
    public var schemaFile: MeshSchemaFile? = nil
    public init(database: String, nodeName: String, nodeDSN: String?, subscriptions: [MeshSubscriptionDesired],
                replicationSets: [String], schemas: [String]) {
        self.database = database; self.nodeName = nodeName; self.nodeDSN = nodeDSN
        self.subscriptions = subscriptions; self.replicationSets = replicationSets; self.schemas = schemas
    }
}

/// The mesh as it must be on this zone's primary, computed from the configuration and the
/// member keys of every zone (pure).
public struct MeshDesired: Sendable, Equatable {
    public var provider: MeshProvider
    public var username: String
    public var password: String?
    public var settings: [MeshSettingDesired]
    public var databases: [MeshDatabaseDesired]
    /// Why some part cannot be desired yet (a zone without members in the DCS): reported, and
    /// the reconciliation is not converged while any exists.
    public var problems: [String]
    /// Zones whose DCS could not be read this pass (scope → error): only their part of the mesh
    /// waits; what exists for them is left as it is.
    public var unreadableZones: [String: String] = [:]
    /// Peer zones whose endpoint waits for this zone's integrity check (scope → why): what
    /// exists for them is left as it is, and each is reported (a note, `endpoint_waiting`).
    public var waitingZones: [String: String] = [:]

    public init(provider: MeshProvider, username: String, password: String?, settings: [MeshSettingDesired],
                databases: [MeshDatabaseDesired], problems: [String] = []) {
        self.provider = provider; self.username = username; self.password = password
        self.settings = settings; self.databases = databases; self.problems = problems
    }
}

public struct MeshSettingDesired: Sendable, Equatable {
    public var name: String
    public var value: String
    /// A comma-separated list that must contain `value` (shared_preload_libraries).
    public var isList: Bool
    public init(name: String, value: String, isList: Bool) { self.name = name; self.value = value; self.isList = isList }
}

public enum MeshTopology {
    /// `zoneMembers[scope]`: that zone's member keys (nil: the DCS could not be read).
    ///
    /// `checkedLeaders`: the leader of each peer zone (node name → member name) whose promotion
    /// this zone's integrity check has handled, as last stored in our ledger; nil while the
    /// check has not run in this term. A peer zone's derived DSN names that member alone, so an
    /// apply worker can reach a newly promoted primary only after the check has moved its
    /// origin back to the switch point: with every member in the DSN, `target_session_attrs`
    /// led the worker to the new primary on its own, and it could stream from an origin past
    /// the switch point before the check paused it. A zone not checked yet (no entry) gets
    /// every member.
    public static func desired(mesh: MeshSection, synchronousMode: Bool, zoneMembers: [String: [Member]],
                               checkedLeaders: [String: String]? = [:]) -> MeshDesired {
        var problems: [String] = []
        var waiting: [String: String] = [:]
        func zoneDSN(_ zone: MeshZone) -> String? {
            if let explicit = zone.dsn { return explicit }
            guard var members = zoneMembers[zone.scope] else {
                problems.append("zone \(zone.scope): its member keys could not be read from the DCS")
                return nil
            }
            if zone.scope != mesh.ownScope {
                guard let checkedLeaders else {
                    waiting[zone.scope] = "the integrity check has not run yet in this leader's term"
                    problems.append("zone \(zone.scope): its endpoint waits for the integrity check to run")
                    return nil
                }
                if let leader = checkedLeaders[zone.nodeName] {
                    members = members.filter { $0.name == leader }
                    guard !members.isEmpty else {
                        waiting[zone.scope] = "its checked leader \(leader) has no member key"
                        problems.append("zone \(zone.scope): its checked leader \(leader) has no member key: its endpoint waits")
                        return nil
                    }
                }
            }
            guard let dsn = MeshDSN.derived(members: members) else {
                problems.append("zone \(zone.scope): no member with a conn_url in the DCS, its DSN cannot be derived")
                return nil
            }
            return dsn
        }
        let own = mesh.ownZone
        let ownBase = zoneDSN(own)
        let peerBases = mesh.peers.map { ($0, zoneDSN($0)) }
        let databases = mesh.databases.map { database in
            MeshDatabaseDesired(
                database: database, nodeName: own.nodeName,
                nodeDSN: ownBase.map { MeshDSN.forDatabase($0, database: database, user: mesh.username, password: mesh.password) },
                subscriptions: peerBases.compactMap { zone, base in
                    guard let base else { return nil }
                    return MeshSubscriptionDesired(
                        name: MeshSection.subscriptionName(provider: zone.nodeName, subscriber: own.nodeName),
                        providerNode: zone.nodeName, providerScope: zone.scope,
                        providerDSN: MeshDSN.forDatabase(base, database: database, user: mesh.username, password: mesh.password))
                },
                replicationSets: mesh.replicationSets, schemas: mesh.schemas)
        }
        let settings = MeshParameterRules.checkedSettings(mesh: mesh, synchronousMode: synchronousMode).map {
            MeshSettingDesired(name: $0.name, value: $0.value, isList: MeshParameterRules.listSettings.contains($0.name))
        }
        var desired = MeshDesired(provider: .forKind(mesh.provider), username: mesh.username, password: mesh.password,
                                  settings: settings, databases: databases, problems: problems)
        desired.waitingZones = waiting
        return desired
    }
}

/// Zone DSNs (pure).
public enum MeshDSN {
    /// A multi-host DSN over every member of a zone (sorted by name, so the text only changes
    /// when membership does), `target_session_attrs=read-write` picking the primary. libpq tries
    /// the hosts in order; `connect_timeout` bounds each attempt at a dead host.
    public static func derived(members: [Member]) -> String? {
        let endpoints = members.sorted { $0.name < $1.name }.compactMap(\.connHostPort)
        guard !endpoints.isEmpty else { return nil }
        return MeshConninfo.render([
            ("host", endpoints.map(\.host).joined(separator: ",")),
            ("port", endpoints.map { String($0.port) }.joined(separator: ",")),
            ("target_session_attrs", "read-write"),
            ("connect_timeout", "5"),
        ])
    }

    /// The zone DSN for one database: `dbname` added, `user`/`password` unless the zone DSN
    /// already names them. Keys keep the zone DSN's order, then dbname, user, password.
    public static func forDatabase(_ base: String, database: String, user: String, password: String?) -> String {
        var pairs = (try? MeshConninfo.parse(base)) ?? []
        pairs.removeAll { $0.key == "dbname" }
        pairs.append(("dbname", database))
        if !pairs.contains(where: { $0.key == "user" }) { pairs.append(("user", user)) }
        if let password, !pairs.contains(where: { $0.key == "password" }) { pairs.append(("password", password)) }
        return MeshConninfo.render(pairs)
    }

    /// Any text (an error message quoting a DSN) with every `password=value` masked.
    public static func redactedText(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let range = rest.range(of: "password=") {
            out += rest[..<range.upperBound] + "******"
            rest = rest[range.upperBound...]
            if rest.first == "'" {
                rest = rest.dropFirst()
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if c == "\\" { rest = rest.dropFirst(); continue }
                    if c == "'" { break }
                }
            } else {
                rest = rest.drop { $0 != " " && $0 != "\"" && $0 != "\n" }
            }
        }
        return out + rest
    }

    /// The DSN with its password replaced by `******` (for logs, REST and stazctl).
    public static func redacted(_ dsn: String) -> String {
        guard var pairs = try? MeshConninfo.parse(dsn) else { return dsn }
        for index in pairs.indices where pairs[index].key == "password" { pairs[index].value = "******" }
        return MeshConninfo.render(pairs)
    }
}
