import Foundation
import Testing
import StazCore
@testable import StazConfig

@Suite struct ConfigParsingTests {
    let config: StazConfiguration
    let warnings: [ConfigWarning]

    init() throws {
        (config, warnings) = try ConfigLoader.parse(yaml: patroniSampleYAML, environment: ["HOME": "/home/test"])
    }

    @Test func globalKeys() {
        #expect(config.scope == "batman")
        #expect(config.name == "postgresql0")
        #expect(config.namespace == "/service/")
        #expect(config.clusterPrefix == "/service/batman/")
    }

    @Test func restapi() {
        #expect(config.restapi.listen == "127.0.0.1:8008")
        #expect(config.restapi.connectAddress == "127.0.0.1:8008")
        #expect(config.restapi.username == "username")
        #expect(config.restapi.password == "password")
        #expect(config.restapi.apiURL == "http://127.0.0.1:8008/patroni")
    }

    @Test func etcd3EndpointsGetSchemeAndDefaultPort() {
        #expect(config.etcd == nil)
        #expect(config.etcd3?.endpoints == ["http://127.0.0.1:2379", "http://etcd2:2380", "http://etcd3:2379"])
        #expect(config.etcd3?.username == "root")
        #expect(config.etcd3?.password == "secret")
        #expect(config.dcs?.api == .v3)
    }

    @Test func bootstrapSection() {
        #expect(config.bootstrap.initdbArguments == ["--encoding=UTF8", "--data-checksums"])
        #expect(config.bootstrap.pgHBA == ["host all all 10.0.0.0/8 md5"])
        #expect(config.bootstrap.postBootstrap == "/usr/local/bin/setup_cluster.sh")
        #expect(config.bootstrap.method == "initdb")
        // dcs kept verbatim, key order and YAML 1.1 booleans (`on` → true) as PyYAML reads them.
        #expect(config.bootstrap.dcs.keys == ["ttl", "loop_wait", "retry_timeout", "maximum_lag_on_failover", "synchronous_mode", "postgresql"])
        #expect(config.bootstrap.dcs["synchronous_mode"] == .bool(true))
        #expect(config.bootstrap.dcs["postgresql"]?["parameters"]?["max_connections"] == .int(200))
        #expect(config.bootstrap.dcs["postgresql"]?["parameters"]?["hot_standby"] == .string("on"))
    }

    @Test func postgresqlSection() {
        let pg = config.postgresql
        #expect(pg.listen == "0.0.0.0:5432")
        #expect(pg.connectAddress == "127.0.0.1:5432", "wildcard listen host must default to 127.0.0.1")
        #expect(pg.dataDir == "data/postgresql0")
        #expect(pg.pgpass == "/tmp/pgpass0")
        #expect(pg.superuser == { var c = Credentials(username: "postgres", password: "zalando"); c.sslmode = "prefer"; return c }())
        #expect(pg.replication == Credentials(username: "replicator", password: "rep-pass"))
        #expect(pg.rewind?.username == "rewind_user")
        #expect(pg.parameters.keys == ["unix_socket_directories", "work_mem"])
        #expect(pg.basebackupArguments == ["--verbose", "--max-rate=100M"])
        #expect(pg.callbacks == ["on_start": "/bin/true"])
        #expect(pg.pgCtlTimeout == 90)
        #expect(pg.createReplicaMethods == ["basebackup"])
    }

    @Test func tags() {
        #expect(config.tags.cloneFrom)
        #expect(!config.tags.noLoadBalance)
        #expect(!config.tags.noFailover)
        #expect(config.tags.failoverPriority == 1)
        #expect(config.tags.raw.keys == ["noloadbalance", "clonefrom", "nosync", "dc"])
        #expect(config.tags.publishedTags == JSONObject([("clonefrom", true), ("dc", "eu-west")]))
    }

    /// Patroni's `_filter_tags`: values as written; a false `nofailover` stays beside a
    /// `failover_priority` (and `nosync` beside `sync_priority`), since readers compare them.
    @Test func publishedTagsKeepWhatReadersCompare() {
        var tags = TagsSection()
        tags.raw = JSONObject([("failover_priority", "0"), ("nofailover", false), ("nosync", false), ("nostream", "")])
        #expect(tags.publishedTags == JSONObject([("failover_priority", "0"), ("nofailover", false)]))
        tags.raw = JSONObject([("sync_priority", 2), ("nosync", false), ("clonefrom", 1)])
        #expect(tags.publishedTags == JSONObject([("sync_priority", 2), ("nosync", false), ("clonefrom", 1)]))
    }

    @Test func sampleHasNoWarnings() {
        #expect(warnings.isEmpty, "\(warnings)")
    }

    @Test func defaultPgpassIsInHome() throws {
        let raw = setting("postgresql.pgpass", to: nil, in: try sampleRaw())
        let (c, _) = try ConfigLoader.parse(raw, environment: ["HOME": "/home/test"])
        #expect(c.postgresql.pgpass == "/home/test/pgpass")
    }

    @Test(arguments: [
        (JSONValue.string("h1:1234,h2"), ["http://h1:1234", "http://h2:2379"]),
        (JSONValue.array(["h1", "[::1]:2379"]), ["http://h1:2379", "http://[::1]:2379"]),
    ])
    func etcdHostsForms(hosts: JSONValue, expected: [String]) throws {
        var raw = setting("etcd3", to: nil, in: try sampleRaw())
        raw = setting("etcd.hosts", to: hosts, in: raw)
        let (c, _) = try ConfigLoader.parse(raw)
        #expect(c.etcd?.endpoints == expected)
        #expect(c.dcs?.api == .v2)
    }

    @Test func etcdHostAndURLAndProtocol() throws {
        var raw = setting("etcd3", to: ["host": "10.0.0.1", "protocol": "https"], in: try sampleRaw())
        #expect(try ConfigLoader.parse(raw).0.etcd3?.endpoints == ["https://10.0.0.1:2379"])
        raw = setting("etcd3", to: ["url": "https://etcd.example:2379"], in: raw)
        #expect(try ConfigLoader.parse(raw).0.etcd3?.endpoints == ["https://etcd.example:2379"])
    }

    @Test func initdbAsMapping() throws {
        let raw = setting("bootstrap.initdb", to: ["locale": "C", "wal-segsize": 64], in: try sampleRaw())
        let (c, w) = try ConfigLoader.parse(raw)
        #expect(c.bootstrap.initdbArguments == ["--locale=C", "--wal-segsize=64"])
        #expect(w.isEmpty, "\(w)")
    }

    /// `standby_cluster` as Patroni's validator knows it; a key it does not know is refused
    /// (a misspelt `primary_slot_name` would stream without the slot).
    @Test func standbyClusterIsReadAndItsUnknownKeysRefused() throws {
        let good = setting("bootstrap.dcs.standby_cluster", to: ["host": "10.0.0.5", "port": 5433, "primary_slot_name": "zone_b",
                                                                 "restore_command": "cp /archive/%f %p",
                                                                 "create_replica_methods": ["basebackup"]], in: try sampleRaw())
        let (config, _) = try ConfigLoader.parse(good)
        let (settings, _) = DynamicSettings.resolve(dcsConfig: nil, bootstrapDCS: config.bootstrap.dcs, local: config)
        #expect(settings.standbyCluster?.host == "10.0.0.5")
        #expect(settings.standbyCluster?.port == 5433)
        #expect(settings.standbyCluster?.primarySlotName == "zone_b")
        #expect(settings.standbyCluster?.archiveSettings == ["restore_command": "cp /archive/%f %p"])
        #expect(settings.synchronousMode == "off", "a standby cluster has no synchronous replication")

        let misspelt = setting("bootstrap.dcs.standby_cluster", to: ["host": "10.0.0.5", "primary_slot": "zone_b"], in: try sampleRaw())
        do {
            _ = try ConfigLoader.parse(misspelt)
            Issue.record("standby_cluster.primary_slot was accepted")
        } catch let error as ConfigError {
            #expect(error.issues.contains { $0.path == "bootstrap.dcs.standby_cluster.primary_slot" }, "\(error)")
        }
    }

    /// Patroni's custom bootstrap: the method's settings kept as written; a bad `recovery_conf`
    /// or a missing command is an error naming the key.
    /// A replica method section only a standby cluster's `create_replica_methods` names (that
    /// list lives in the DCS) is read, not warned about as unknown.
    @Test func replicaMethodSectionsNotListedLocallyAreKept() throws {
        let raw = setting("postgresql.backup_restore", to: ["command": "/bin/restore.sh", "no_leader": true], in: try sampleRaw())
        let (c, w) = try ConfigLoader.parse(raw)
        #expect(c.postgresql.replicaMethodSettings["backup_restore"]?["command"] == "/bin/restore.sh")
        #expect(w.isEmpty, "\(w)")
    }

    @Test func customBootstrapMethodIsAccepted() throws {
        var raw = setting("bootstrap.method", to: "restore", in: try sampleRaw())
        raw = setting("bootstrap.restore", to: ["command": "/bin/restore.sh --from /backups", "keep_existing_recovery_conf": true],
                      in: raw)
        let (c, w) = try ConfigLoader.parse(raw)
        #expect(c.bootstrap.method == "restore")
        #expect(c.bootstrap.methodSettings?["command"] == "/bin/restore.sh --from /backups")
        #expect(w.isEmpty, "\(w)")
        let badRecovery = setting("bootstrap.restore.recovery_conf", to: "restore_command=cp", in: raw)
        #expect(configError(badRecovery)?.issues.contains { $0.path == "bootstrap.restore.recovery_conf" } == true)
        let noCommand = setting("bootstrap.restore", to: ["no_params": true], in: raw)
        #expect(configError(noCommand)?.issues.contains { $0.path == "bootstrap.restore.command" } == true)
    }

    /// `postgresql.recovery_conf`: the archive settings a standby runs with; what staz manages
    /// itself (the upstream, the slot, the target) is refused by name.
    @Test func recoveryConfTakesTheArchiveSettings() throws {
        let raw = setting("postgresql.recovery_conf", to: ["restore_command": "cp /a/%f %p", "recovery_min_apply_delay": "5min"],
                          in: try sampleRaw())
        let (c, w) = try ConfigLoader.parse(raw)
        #expect(c.postgresql.recoveryConf?["restore_command"] == "cp /a/%f %p")
        #expect(w.isEmpty, "\(w)")
        let managed = setting("postgresql.recovery_conf", to: ["primary_conninfo": "host=elsewhere"], in: raw)
        #expect(configError(managed)?.issues.contains { $0.path == "postgresql.recovery_conf.primary_conninfo" } == true)
    }

    /// Patroni's custom replica methods: settings kept as written, in order.
    @Test func customReplicaMethodsAreAccepted() throws {
        var raw = setting("postgresql.create_replica_methods", to: ["pgbackrest", "basebackup"], in: try sampleRaw())
        raw = setting("postgresql.pgbackrest", to: ["command": "/usr/bin/pgbackrest --stanza=main restore", "keep_data": true,
                                                    "no_leader": "1"], in: raw)
        let (c, w) = try ConfigLoader.parse(raw)
        #expect(c.postgresql.createReplicaMethods == ["pgbackrest", "basebackup"])
        #expect(c.postgresql.replicaMethodSettings["pgbackrest"]?["command"] == "/usr/bin/pgbackrest --stanza=main restore")
        #expect(w.isEmpty, "\(w)")
        let noCommand = setting("postgresql.pgbackrest", to: ["keep_data": true], in: raw)
        #expect(configError(noCommand)?.issues.contains { $0.path == "postgresql.pgbackrest.command" } == true)
    }

    @Test func meshIsTyped() throws {
        let raw = setting("mesh", to: ["provider": "pglogical", "databases": ["app"], "zones": ["a", "b"]], in: try sampleRaw())
        let (c, _) = try ConfigLoader.parse(raw)
        #expect(c.mesh?.provider == .pglogical)
        #expect(c.mesh?.zones.map(\.scope).contains("a") == true)
    }

    /// Patroni's `WatchdogConfig`: automatic with a 5 s margin when absent, its mode spellings,
    /// the testing driver its acceptance suite uses.
    @Test func watchdogSectionAsPatroniReadsIt() throws {
        #expect(try ConfigLoader.parse(try sampleRaw()).0.watchdog == WatchdogSection())
        #expect(WatchdogSection().mode == .automatic && WatchdogSection().timeout(ttl: 30) == 25)
        for (written, mode) in [("required", WatchdogSection.Mode.required), ("require", .required), ("auto", .automatic),
                                ("automatic", .automatic), ("off", .off), ("disabled", .off), ("disable", .off)] {
            let raw = setting("watchdog", to: ["mode": .string(written)], in: try sampleRaw())
            #expect(try ConfigLoader.parse(raw).0.watchdog.mode == mode, "\(written)")
        }
        let raw = setting("watchdog", to: ["mode": "required", "driver": "testing", "device": "/tmp/wd.fifo", "safety_margin": -1],
                          in: try sampleRaw())
        let section = try ConfigLoader.parse(raw).0.watchdog
        #expect(section.driver == .testing && section.device == "/tmp/wd.fifo")
        #expect(section.timeout(ttl: 20) == 10)
        #expect(section.timingSlack(ttl: 20, loopWait: 10) == 0)
    }

    @Test(arguments: [
        (JSONValue.object(JSONObject([("mode", "sometimes")])), "watchdog.mode"),
        (JSONValue.object(JSONObject([("mode", true)])), "watchdog.mode"),
        (JSONValue.object(JSONObject([("driver", "softdog")])), "watchdog.driver"),
        (JSONValue.object(JSONObject([("safety_margin", -2)])), "watchdog.safety_margin"),
        (JSONValue.object(JSONObject([("devcie", "/dev/watchdog")])), "watchdog.devcie"),
        (JSONValue.string("required"), "watchdog"),
    ])
    func badWatchdogSettingsAreErrorsNamingTheKey(value: JSONValue, path: String) throws {
        let raw = setting("watchdog", to: value, in: try sampleRaw())
        do {
            _ = try ConfigLoader.parse(raw)
            Issue.record("accepted watchdog \(value)")
        } catch let error as ConfigError {
            #expect(error.issues.contains { $0.path == path }, "\(error)")
        }
    }

    @Test(arguments: [
        (["nofailover": true, "failover_priority": 3] as JSONValue, true, 0, true),
        (["nofailover": false, "failover_priority": 0] as JSONValue, false, 0, true),
        (["failover_priority": 0] as JSONValue, true, 0, false),
        (["failover_priority": 5] as JSONValue, false, 5, false),
        (["nofailover": "yes"] as JSONValue, true, 0, false),
    ])
    func failoverTags(tags: JSONValue, noFailover: Bool, priority: Int, warns: Bool) throws {
        let raw = setting("tags", to: tags, in: try sampleRaw())
        let (c, w) = try ConfigLoader.parse(raw)
        #expect(c.tags.noFailover == noFailover)
        #expect(c.tags.failoverPriority == priority)
        #expect(w.contains { $0.message.hasPrefix("Conflicting configuration between nofailover") } == warns)
    }

    /// As `priority_sync.feature` reads them: `nosync` wins, and a priority saying the opposite
    /// is named in Patroni's words, whichever way it contradicts.
    @Test(arguments: [
        (["nosync": true, "sync_priority": 2] as JSONValue, true,
         "Conflicting configuration between nosync: True and sync_priority: 2. Defaulting to nosync: True"),
        (["nosync": false, "sync_priority": "0"] as JSONValue, false,
         "Conflicting configuration between nosync: False and sync_priority: 0. Defaulting to nosync: False"),
        (["nosync": false, "sync_priority": 1] as JSONValue, false, nil),
        (["sync_priority": 0] as JSONValue, false, nil),
    ])
    func syncTags(tags: JSONValue, noSync: Bool, warning: String?) throws {
        let raw = setting("tags", to: tags, in: try sampleRaw())
        let (c, w) = try ConfigLoader.parse(raw)
        #expect(c.tags.noSync == noSync)
        let conflicts = w.filter { $0.message.hasPrefix("Conflicting configuration between nosync") }.map(\.message)
        #expect(conflicts == (warning.map { [$0] } ?? []))
    }
}

