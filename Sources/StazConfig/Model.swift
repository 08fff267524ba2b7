import StazCore

// The typed local configuration (Patroni's YAML layout). Parsing, environment overrides and
// validation live in the other files of this module; this file is only the shape and defaults.

public struct StazConfiguration: Sendable, Equatable {
    public var scope: String
    public var namespace: String = "/service/"
    public var name: String
    public var restapi: RestAPISection
    public var etcd: EtcdSection?          // `etcd:` — v2 API
    public var etcd3: EtcdSection?         // `etcd3:` — v3 API (preferred when both are present)
    public var bootstrap: BootstrapSection = BootstrapSection()
    public var postgresql: PostgreSQLSection
    public var tags: TagsSection = TagsSection()
    public var ctl: CtlSection = CtlSection()
    public var log: LogSection = LogSection()
    /// `mesh:`: the cross-zone logical-replication mesh (nil: this cluster is not in a mesh).
    public var mesh: MeshSection? = nil
    public var watchdog: WatchdogSection = WatchdogSection()
    /// Path of the file (or directory) this configuration was read from, for reloads.
    public var sourcePath: String? = nil

    public init(scope: String, name: String, restapi: RestAPISection, postgresql: PostgreSQLSection) {
        self.scope = scope; self.name = name; self.restapi = restapi; self.postgresql = postgresql
    }

    /// The DCS section to use: `etcd3` wins over `etcd`, as Patroni loads the first importable one.
    public var dcs: (api: EtcdAPIVersion, section: EtcdSection)? {
        if let e = etcd3 { return (.v3, e) }
        if let e = etcd { return (.v2, e) }
        return nil
    }

    public var clusterPrefix: String { DCSKey.clusterPrefix(namespace: namespace, scope: scope) }
}

public enum EtcdAPIVersion: String, Sendable { case v2, v3 }

public struct EtcdSection: Sendable, Equatable {
    /// Endpoints as `http(s)://host:port`, from `host`, `hosts` (list or comma string) or `url`.
    public var endpoints: [String]
    public var protocolScheme: String = "http"
    public var username: String? = nil
    public var password: String? = nil
    public var cacert: String? = nil
    public var cert: String? = nil
    public var key: String? = nil
    public init(endpoints: [String]) { self.endpoints = endpoints }
}

public struct RestAPISection: Sendable, Equatable {
    /// `host:port` to bind.
    public var listen: String
    /// `host:port` others use to reach us (defaults to `listen`).
    public var connectAddress: String
    public var username: String? = nil
    public var password: String? = nil
    public var certfile: String? = nil
    public var keyfile: String? = nil
    public var cafile: String? = nil
    public var verifyClient: String? = nil
    public var allowlist: [String] = []
    public var allowlistIncludeMembers: Bool = false
    /// staz only: seconds a keep-alive connection may stay idle (nil: the REST server's default).
    public var idleTimeout: Double? = nil
    /// staz only: seconds from a request's first byte to its end (nil: the REST server's default).
    public var requestTimeout: Double? = nil
    /// staz only: REST connections open at once (nil: the REST server's default).
    public var maxConnections: Int? = nil
    public init(listen: String, connectAddress: String) { self.listen = listen; self.connectAddress = connectAddress }

    public var apiURL: String {
        (certfile != nil ? "https" : "http") + "://" + connectAddress + "/patroni"
    }
}

public struct CtlSection: Sendable, Equatable {
    public var username: String? = nil
    public var password: String? = nil
    public var insecure: Bool = false
    public var cacert: String? = nil
    public var certfile: String? = nil
    public var keyfile: String? = nil
    public init() {}
}

public struct BootstrapSection: Sendable, Equatable {
    /// `bootstrap.dcs`: the initial dynamic configuration written into the `config` key.
    public var dcs: JSONObject = JSONObject()
    public var method: String = "initdb"
    /// initdb options already rendered as command-line arguments (`--encoding=UTF8`, `--data-checksums`).
    public var initdbArguments: [String] = []
    public var pgHBA: [String] = []
    /// `post_bootstrap` (alias `post_init`): script run once after a new cluster is created.
    public var postBootstrap: String? = nil
    /// `bootstrap.<method>` settings (`command`, `no_params`, ...) when `method` is not initdb.
    public var methodSettings: JSONObject? = nil
    public init() {}
}

public struct Credentials: Sendable, Equatable {
    public var username: String
    public var password: String?
    public var sslmode: String? = nil
    /// Other libpq options from the same section (`sslkey`, `sslcert`, `sslrootcert`,
    /// `channel_binding`, ...), passed through to connection strings.
    public var connectionOptions: [String: String] = [:]
    public init(username: String, password: String? = nil) { self.username = username; self.password = password }

    /// libpq's `sslmode` values.
    public static let sslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

    /// Settings staz's own SQL connections (PostgresNIO) cannot honour as libpq would, with the
    /// reason: refused for the role those connections use (the superuser), where ignoring one
    /// would connect less safely than asked.
    public func optionsOwnConnectionsCannotHonour() -> [(key: String, reason: String)] {
        var out: [(String, String)] = []
        for key in ["sslcrl", "sslcrldir"] where connectionOptions[key] != nil {
            out.append((key, "staz's own connections cannot check certificate revocation lists"))
        }
        if connectionOptions["sslnegotiation"] == "direct" {
            out.append(("sslnegotiation", "staz's own connections negotiate TLS the PostgreSQL 15 way only ('postgres')"))
        }
        if connectionOptions["gssencmode"] == "require" {
            out.append(("gssencmode", "staz's own connections have no GSSAPI encryption"))
        }
        if connectionOptions["channel_binding"] == "require" {
            out.append(("channel_binding", "staz's own connections do not bind SCRAM to the TLS channel"))
        }
        return out
    }
}

public struct PostgreSQLSection: Sendable, Equatable {
    /// `host[,host]:port` for listen_addresses and port.
    public var listen: String
    /// `host:port` others use for `conn_url` and `primary_conninfo`.
    public var connectAddress: String
    public var dataDir: String
    public var configDir: String? = nil
    public var binDir: String? = nil
    /// Overrides of single binary names (`pg_ctl`, `initdb`, ...), from `bin_name`.
    public var binNames: [String: String] = [:]
    public var pgpass: String
    public var superuser: Credentials
    public var replication: Credentials
    public var rewind: Credentials? = nil
    /// Local `postgresql.parameters` (dynamic ones from the DCS are merged in later).
    public var parameters: JSONObject = JSONObject()
    public var pgHBA: [String]? = nil
    public var pgIdent: [String]? = nil
    public var usePgRewind: Bool? = nil
    public var useSlots: Bool? = nil
    public var pgCtlTimeout: Double = 60
    public var callbacks: [String: String] = [:]
    public var createReplicaMethods: [String] = ["basebackup"]
    /// `postgresql.basebackup` options rendered as arguments.
    public var basebackupArguments: [String] = []
    public var removeDataDirectoryOnRewindFailure: Bool = false
    public var removeDataDirectoryOnDivergedTimelines: Bool = false
    public var prePromote: String? = nil
    public var beforeStop: String? = nil
    /// `proxy_address` (service discovery only; published in the member key).
    public var proxyAddress: String? = nil
    /// `recovery_conf`: recovery settings every standby runs with (`standbyRecoverySettings`).
    public var recoveryConf: JSONObject? = nil
    /// What `recovery_conf` (or `parameters`) may give a standby: the WAL archive and apply
    /// delay. The upstream, slot and recovery target are staz's.
    public static let standbyRecoverySettings = ["restore_command", "archive_cleanup_command", "recovery_end_command",
                                                 "recovery_min_apply_delay"]
    public var customConf: String? = nil
    /// `postgresql.rewind` options rendered as pg_rewind arguments.
    public var rewindArguments: [String] = []
    /// Settings of custom replica creation methods listed in `create_replica_methods`
    /// (`postgresql.<method>: {command: ..., keep_data: ...}`), by method name.
    public var replicaMethodSettings: [String: JSONObject] = [:]
    public var useUnixSocket: Bool = false
    public var useUnixSocketRepl: Bool = false
    public init(listen: String, connectAddress: String, dataDir: String, pgpass: String,
                superuser: Credentials, replication: Credentials) {
        self.listen = listen; self.connectAddress = connectAddress; self.dataDir = dataDir
        self.pgpass = pgpass; self.superuser = superuser; self.replication = replication
    }

    public var listenHosts: String { String(listen.split(separator: ":", omittingEmptySubsequences: false).dropLast().joined(separator: ":")) }
    public var port: Int { Int(listen.split(separator: ":").last ?? "5432") ?? 5432 }
    public var connectHost: String { String(connectAddress.split(separator: ":").dropLast().joined(separator: ":")) }
    public var connectPort: Int { Int(connectAddress.split(separator: ":").last ?? "5432") ?? 5432 }
    public var connURL: String { "postgres://\(connectAddress)/postgres" }
    public var effectiveConfigDir: String { configDir ?? dataDir }

    /// Path of a PostgreSQL binary, honouring `bin_dir` and `bin_name`.
    public func binary(_ name: String) -> String {
        let file = binNames[name] ?? name
        guard let dir = binDir, !dir.isEmpty else { return file }
        return dir.hasSuffix("/") ? dir + file : dir + "/" + file
    }
}

public struct TagsSection: Sendable, Equatable {
    public var noFailover: Bool = false
    public var failoverPriority: Int = 1
    public var noLoadBalance: Bool = false
    public var cloneFrom: Bool = false
    public var noSync: Bool = false
    public var replicateFrom: String? = nil
    public var noStream: Bool = false
    public var syncPriority: Int? = nil
    /// All tags as written in the YAML, including custom ones, in file order; published in the
    /// member key (Patroni drops false/default-valued known tags).
    public var raw: JSONObject = JSONObject()
    public init() {}

    /// The tags a member key carries, as Patroni's `Tags._filter_tags`: every tag as written,
    /// except that the boolean tags `clonefrom`, `nofailover`, `noloadbalance`, `nosync`,
    /// `nostream` appear only when true (Python's truth), `nofailover` also beside a
    /// `failover_priority` and `nosync` beside a `sync_priority` (readers compare them).
    public var publishedTags: JSONObject {
        let booleanTags: Set<String> = ["clonefrom", "nofailover", "noloadbalance", "nosync", "nostream"]
        return JSONObject(raw.pairs.filter { key, value in
            !booleanTags.contains(key) || pythonTruthy(value)
                || (key == "nofailover" && raw["failover_priority"] != nil)
                || (key == "nosync" && raw["sync_priority"] != nil)
        })
    }
}

/// The dynamic (DCS `config`) settings staz acts on, with Patroni's defaults.
public struct DynamicSettings: Sendable, Equatable {
    public var ttl: Double = 30
    public var loopWait: Double = 10
    public var retryTimeout: Double = 10
    public var maximumLagOnFailover: Int64 = 1_048_576
    public var primaryStartTimeout: Double = 300
    public var primaryStopTimeout: Double = 0
    public var checkTimeline: Bool = false
    public var pause: Bool = false
    public var synchronousMode: String = "off"
    public var synchronousModeStrict: Bool = false
    public var synchronousNodeCount: Int = 1
    public var failsafeMode: Bool = false
    public var memberSlotsTTL: Double = 1800
    public var usePgRewind: Bool = false
    public var useSlots: Bool = true
    /// `postgresql.parameters` from the DCS config.
    public var parameters: JSONObject = JSONObject()
    public var pgHBA: [String]? = nil
    public var ignoreSlots: [JSONObject] = []
    public var permanentSlots: JSONObject = JSONObject()
    public var maximumLagOnSyncNode: Int64 = -1
    public var maxTimelinesHistory: Int = 0
    /// `standby_cluster` when active (has host, port or restore_command): this cluster's
    /// leader is a standby leader replicating from a remote primary or a WAL archive.
    public var standbyCluster: StandbyClusterSettings? = nil
    /// The dynamic configuration these settings were resolved from (DCS `config`, or
    /// `bootstrap.dcs` when the DCS has none), as written; for REST `/config` and reloads.
    public var source: JSONObject = JSONObject()
    public init() {}
}

/// `standby_cluster` (Patroni's `RemoteMember`): where a standby cluster's leader gets its WAL.
public struct StandbyClusterSettings: Sendable, Equatable {
    public var host: String? = nil
    public var port: Int? = nil
    /// The slot on the remote primary the standby leader streams through.
    public var primarySlotName: String? = nil
    /// How the standby leader is built from the remote side when its data directory is empty.
    public var createReplicaMethods: [String]? = nil
    public var restoreCommand: String? = nil
    public var archiveCleanupCommand: String? = nil
    public var recoveryMinApplyDelay: String? = nil
    public init() {}

    /// Streaming from a remote server (otherwise the archive alone feeds the standby leader).
    public var streams: Bool { host != nil || port != nil }

    /// The recovery settings it gives the standby leader and, except the slot, its replicas
    /// (Patroni's `_get_node_to_follow` passes the archive commands on).
    public var archiveSettings: [String: String] {
        var out: [String: String] = [:]
        if let restoreCommand { out["restore_command"] = restoreCommand }
        if let archiveCleanupCommand { out["archive_cleanup_command"] = archiveCleanupCommand }
        if let recoveryMinApplyDelay { out["recovery_min_apply_delay"] = recoveryMinApplyDelay }
        return out
    }
}
