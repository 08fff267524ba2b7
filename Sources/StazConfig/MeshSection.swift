import StazCore

/// The logical-replication extension that carries the cross-zone mesh. Only the facts the
/// configuration layer needs (server settings) live here; the SQL API description is
/// `MeshProvider` in StazMesh, built from this.
public enum MeshProviderKind: String, Sendable, Equatable, CaseIterable {
    case spock, pglogical

    /// Library that must be in `shared_preload_libraries` on every member.
    public var preloadLibrary: String { rawValue }
    /// Logical decoding output plugin of the provider's slots.
    public var outputPlugin: String { rawValue + "_output" }
    /// Prefix of the provider-side logical slots (`spk_<db>_<node>_<sub>`).
    public var slotPrefix: String { self == .spock ? "spk_" : "pgl_" }
    /// GUC selecting the conflict resolution (multi-master needs `last_update_wins`).
    public var conflictResolutionParameter: String { rawValue + ".conflict_resolution" }
    /// GUC making the apply worker commit synchronously (postmaster context).
    public var synchronousCommitParameter: String { rawValue + ".synchronous_commit" }
}

/// One zone of the mesh: a staz cluster (`scope`) whose primary is one mesh node.
public struct MeshZone: Sendable, Equatable {
    public var scope: String
    public var nodeName: String
    /// How to reach the zone's current primary (e.g. its HAProxy), libpq key=value form without
    /// `dbname`. nil: derived from the zone's member keys in the shared DCS.
    public var dsn: String?
    /// The zone's own etcd (`etcd:` / `etcd3:` in its entry, the top-level keys' layout), for a
    /// zone whose etcd runs inside it. nil: the zone's keys are in this member's own DCS.
    public var etcd: EtcdSection? = nil
    public var etcd3: EtcdSection? = nil
    public init(scope: String, nodeName: String, dsn: String? = nil) {
        self.scope = scope; self.nodeName = nodeName; self.dsn = dsn
    }

    /// The zone's own DCS section, `etcd3` first as at the top level.
    public var ownDCS: (api: EtcdAPIVersion, section: EtcdSection)? {
        if let etcd3 { return (.v3, etcd3) }
        if let etcd { return (.v2, etcd) }
        return nil
    }
}

extension StazConfiguration {
    /// This configuration pointed at another zone's keys: its scope, and its own etcd when its
    /// mesh entry names one. The member's own zone always uses the top-level DCS section (the
    /// one its leader lock lives in), so the mesh never reads its own zone through another path.
    public func viewingMeshZone(_ scope: String) -> StazConfiguration {
        var view = self
        view.scope = scope
        if scope != self.scope, let zone = mesh?.zones.first(where: { $0.scope == scope }), zone.ownDCS != nil {
            view.etcd = zone.etcd
            view.etcd3 = zone.etcd3
        }
        return view
    }
}

/// `mesh:`: the three-zone multi-master mesh this zone's leader keeps reconciled.
public struct MeshSection: Sendable, Equatable {
    public var provider: MeshProviderKind
    /// Databases replicated; each has its own node, replication sets and subscriptions.
    public var databases: [String]
    /// Every zone, this one included (added when the YAML does not list it).
    public var zones: [MeshZone]
    /// This member's scope (the zone it belongs to).
    public var ownScope: String
    public var replicationSets: [String] = MeshSection.defaultReplicationSets
    /// Tables of these schemas are added to the default replication set (no primary key:
    /// `default_insert_only`).
    public var schemas: [String] = ["public"]
    /// Role for the mesh's connections (provider connections, node DSNs): a superuser with
    /// REPLICATION, created by the leader when missing.
    public var username: String
    public var password: String?
    /// Seconds between reconciliations once the mesh converged (retries come sooner).
    public var reconcileInterval: Double = 10
    /// `schema`: a SQL file the leader runs in each mesh database, in one transaction, before
    /// the database joins the mesh, and again whenever the file's content changes (so it must
    /// be safe to re-run: `CREATE TABLE IF NOT EXISTS`, ...).
    public var schemaFile: String?

    public static let defaultReplicationSets = ["default", "default_insert_only", "ddl_sql"]

    public init(provider: MeshProviderKind, databases: [String], zones: [MeshZone], ownScope: String, username: String) {
        self.provider = provider; self.databases = databases; self.zones = zones; self.ownScope = ownScope
        self.username = username
    }

    /// This zone's entry.
    public var ownZone: MeshZone { zones.first { $0.scope == ownScope } ?? MeshZone(scope: ownScope, nodeName: Self.nodeName(forScope: ownScope)) }
    public var nodeName: String { ownZone.nodeName }
    /// The other zones, in configuration order.
    public var peers: [MeshZone] { zones.filter { $0.scope != ownScope } }

    /// Default node name of a zone: its scope, lowercased, every character outside
    /// `[a-z0-9_]` replaced by `_` (slot and subscription names are built from it).
    public static func nodeName(forScope scope: String) -> String {
        String(scope.lowercased().unicodeScalars.map { ch -> Character in
            switch ch {
            case "a"..."z", "0"..."9", "_": return Character(ch)
            default: return "_"
            }
        })
    }

    /// `sub_<provider>_<subscriber>`: the subscription on `subscriber` that receives from `provider`.
    public static func subscriptionName(provider: String, subscriber: String) -> String {
        "sub_\(provider)_\(subscriber)"
    }
}

/// libpq `key=value` connection strings as written in the configuration (validation only; the
/// mesh renders its own).
public enum MeshConninfo {
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Pairs in order; single-quoted values with `\` escapes; URIs are refused (the mesh adds
    /// keys per database, which needs the key=value form).
    public static func parse(_ text: String) throws -> [(key: String, value: String)] {
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            throw ParseError(description: "expected libpq key=value form (host=... port=...), not a URI")
        }
        var pairs: [(String, String)] = []
        var chars = Substring(text)
        func skipSpaces() { chars = chars.drop(while: { $0 == " " || $0 == "\t" || $0 == "\n" }) }
        while true {
            skipSpaces()
            guard !chars.isEmpty else { break }
            let key = String(chars.prefix(while: { $0 != "=" && $0 != " " && $0 != "\t" }))
            guard !key.isEmpty else { throw ParseError(description: "missing key before '='") }
            chars = chars.dropFirst(key.count)
            skipSpaces()
            guard chars.first == "=" else { throw ParseError(description: "missing '=' after '\(key)'") }
            chars = chars.dropFirst()
            skipSpaces()
            var value = ""
            if chars.first == "'" {
                chars = chars.dropFirst()
                var closed = false
                while let c = chars.first {
                    chars = chars.dropFirst()
                    if c == "\\", let next = chars.first { value.append(next); chars = chars.dropFirst(); continue }
                    if c == "'" { closed = true; break }
                    value.append(c)
                }
                guard closed else { throw ParseError(description: "unterminated quoted value of '\(key)'") }
            } else {
                value = String(chars.prefix(while: { $0 != " " && $0 != "\t" && $0 != "\n" }))
                chars = chars.dropFirst(value.count)
            }
            pairs.append((key, value))
        }
        return pairs
    }

    /// A value bare when safe, else single-quoted with `\` escapes (libpq rules).
    public static func value(_ value: String) -> String {
        let safe = !value.isEmpty && value.unicodeScalars.allSatisfy {
            !($0 == " " || $0 == "'" || $0 == "\\" || $0 == "\t" || $0 == "\n" || $0 == "=")
        }
        if safe { return value }
        return "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    public static func render(_ pairs: [(key: String, value: String)]) -> String {
        pairs.map { "\($0.key)=\(value($0.value))" }.joined(separator: " ")
    }
}
