import Foundation
import Testing
import StazCore
@testable import StazConfig

/// `mesh:` parsing and validation, and the settings it adds to every member.
@Suite struct MeshConfigTests {
    func parse(_ mesh: JSONValue, scope: String = "batman") throws -> (StazConfiguration, [ConfigWarning]) {
        var raw = setting("mesh", to: mesh, in: try sampleRaw())
        raw = setting("scope", to: .string(scope), in: raw)
        return try ConfigLoader.parse(raw)
    }

    func issues(_ mesh: JSONValue) throws -> [ConfigIssue] {
        do {
            _ = try parse(mesh)
            Issue.record("expected the configuration to be rejected")
            return []
        } catch let error as ConfigError {
            return error.issues
        }
    }

    @Test func fullSection() throws {
        let (config, warnings) = try parse([
            "provider": "pglogical",
            "databases": ["app", "billing"],
            "zones": [
                ["scope": "batman"],
                ["scope": "Zone-B.east", "dsn": "host=10.0.2.10 port=5000"],
                "zone-c",
            ],
            "replication_sets": ["default", "default_insert_only", "ddl_sql", "extra"],
            "schemas": ["public", "sales"],
            "authentication": ["username": "mesh", "password": "s3cret"],
            "reconcile_interval": 5,
        ])
        #expect(warnings.isEmpty, "\(warnings)")
        let mesh = try #require(config.mesh)
        #expect(mesh.provider == .pglogical)
        #expect(mesh.databases == ["app", "billing"])
        #expect(mesh.zones.map(\.scope) == ["batman", "Zone-B.east", "zone-c"])
        #expect(mesh.zones.map(\.nodeName) == ["batman", "zone_b_east", "zone_c"])
        #expect(mesh.zones[1].dsn == "host=10.0.2.10 port=5000")
        #expect(mesh.nodeName == "batman")
        #expect(mesh.peers.map(\.scope) == ["Zone-B.east", "zone-c"])
        #expect(mesh.replicationSets.last == "extra")
        #expect(mesh.schemas == ["public", "sales"])
        #expect(mesh.username == "mesh" && mesh.password == "s3cret")
        #expect(mesh.reconcileInterval == 5)
    }

    @Test func defaultsComeFromScopeAndSuperuser() throws {
        let (config, _) = try parse(["provider": "spock", "databases": ["app"], "zones": ["zone-b"]], scope: "Zone-A")
        let mesh = try #require(config.mesh)
        // The own zone is added when not listed, node name derived from the scope.
        #expect(mesh.zones.map(\.scope) == ["Zone-A", "zone-b"])
        #expect(mesh.nodeName == "zone_a")
        #expect(mesh.username == config.postgresql.superuser.username)
        #expect(mesh.password == config.postgresql.superuser.password)
        #expect(mesh.replicationSets == ["default", "default_insert_only", "ddl_sql"])
        #expect(mesh.schemas == ["public"])
        #expect(mesh.reconcileInterval == 10)
        #expect(MeshSection.subscriptionName(provider: "zone_b", subscriber: mesh.nodeName) == "sub_zone_b_zone_a")
    }

    @Test func ownNodeNameAndDSN() throws {
        let (config, _) = try parse(["provider": "pglogical", "databases": ["app"], "node_name": "edge1",
                                     "dsn": "host=haproxy-a port=5000", "zones": ["batman", "b"]])
        let mesh = try #require(config.mesh)
        #expect(mesh.nodeName == "edge1")
        #expect(mesh.ownZone.dsn == "host=haproxy-a port=5000")
    }

    @Test func errorsNameTheKey() throws {
        let found = try issues([
            "provider": "bdr",
            "databases": [],
            "node_name": "Bad-Name",
            "zones": [["scope": "b", "dsn": "host=x port=5000 dbname=app"], ["scope": "c", "dsn": "port=5000"],
                      ["scope": "b"], ["node_name": "x"], 7, ["scope": "d", "dsn": "host='unterminated"],
                      ["scope": "e", "dsn": "postgres://h:5000/"]],
            "replication_sets": ["default", "default"],
            "reconcile_interval": 0,
        ])
        let paths = Set(found.map(\.path))
        for path in ["mesh.provider", "mesh.databases", "mesh.node_name", "mesh.zones[0].dsn", "mesh.zones[1].dsn",
                     "mesh.zones[2].scope", "mesh.zones[3].scope", "mesh.zones[4]", "mesh.zones[5].dsn",
                     "mesh.zones[6].dsn", "mesh.replication_sets[1]", "mesh.reconcile_interval"] {
            #expect(paths.contains(path), "no issue for \(path) in \(found)")
        }
        #expect(found.first { $0.path == "mesh.zones[0].dsn" }?.message.contains("dbname") == true)
        #expect(found.first { $0.path == "mesh.provider" }?.message.contains("spock or pglogical") == true)
    }

    @Test func missingKeysAndDuplicateNodeNames() throws {
        let missing = try issues(["provider": "pglogical"])
        #expect(Set(missing.map(\.path)) == ["mesh.databases", "mesh.zones"])
        let duplicate = try issues(["provider": "pglogical", "databases": ["app"],
                                    "zones": ["batman", ["scope": "other", "node_name": "batman"]]])
        #expect(duplicate.contains { $0.path == "mesh.zones" && $0.message.contains("same node name") })
        let contradiction = try issues(["provider": "pglogical", "databases": ["app"], "node_name": "a",
                                        "zones": [["scope": "batman", "node_name": "b"]]])
        #expect(contradiction.contains { $0.path == "mesh.zones[0].node_name" })
    }

    @Test func zonesOnTheirOwnEtcd() throws {
        let (config, warnings) = try parse([
            "provider": "spock", "databases": ["app"],
            "zones": [
                ["scope": "batman", "etcd3": ["hosts": ["127.0.0.1:2379", "etcd2:2380", "etcd3"], "protocol": "http"]],
                ["scope": "zone-b", "etcd3": ["hosts": "10.0.2.5:2379,10.0.2.6:2379"]],
                ["scope": "zone-c", "etcd": ["host": "10.0.3.5:2379", "protocol": "https", "cacert": "/etc/ssl/c.pem"]],
                "zone-d",
            ],
        ])
        #expect(warnings.isEmpty, "\(warnings)")
        let mesh = try #require(config.mesh)
        #expect(mesh.zones[1].ownDCS?.api == .v3)
        #expect(mesh.zones[1].ownDCS?.section.endpoints == ["http://10.0.2.5:2379", "http://10.0.2.6:2379"])
        #expect(mesh.zones[2].ownDCS?.api == .v2)
        #expect(mesh.zones[2].ownDCS?.section.endpoints == ["https://10.0.3.5:2379"])
        #expect(mesh.zones[2].ownDCS?.section.cacert == "/etc/ssl/c.pem")
        #expect(mesh.zones[3].ownDCS == nil)

        // Another zone is read from its own etcd, with its scope; a zone without one, and this
        // member's own zone, from the top-level section.
        let zoneB = config.viewingMeshZone("zone-b")
        #expect(zoneB.scope == "zone-b" && zoneB.etcd3?.endpoints == ["http://10.0.2.5:2379", "http://10.0.2.6:2379"])
        let zoneC = config.viewingMeshZone("zone-c")
        #expect(zoneC.dcs?.api == .v2 && zoneC.etcd3 == nil)
        #expect(zoneC.dcs?.section.endpoints == ["https://10.0.3.5:2379"])
        let zoneD = config.viewingMeshZone("zone-d")
        #expect(zoneD.scope == "zone-d" && zoneD.etcd3 == config.etcd3)
        #expect(config.viewingMeshZone("batman") == config)
    }

    @Test func zoneEtcdErrorsNameTheKey() throws {
        let found = try issues([
            "provider": "pglogical", "databases": ["app"],
            "zones": ["batman", ["scope": "b", "etcd3": ["protocol": "ftp", "host": "x:2379"]], ["scope": "c", "etcd": ["port": 2379]],
                      ["scope": "d", "etcd3": ["host": "10.0.0.1:2379", "srv": "x"]]],
        ])
        let paths = Set(found.map(\.path))
        for path in ["mesh.zones[1].etcd3.protocol", "mesh.zones[2].etcd.host", "mesh.zones[3].etcd3.srv"] {
            #expect(paths.contains(path), "no issue for \(path) in \(found)")
        }
    }

    @Test func ownZoneEntryNamingAnotherEtcdWarns() throws {
        let (_, warnings) = try parse(["provider": "pglogical", "databases": ["app"],
                                       "zones": [["scope": "batman", "etcd3": ["host": "10.9.9.9:2379"]], "b"]])
        #expect(warnings.contains { $0.path == "mesh.zones[0].etcd3" && $0.message.contains("10.9.9.9") }, "\(warnings)")
    }

    @Test func schemaFileMustBeAbsoluteAndReadable() throws {
        let relative = try issues(["provider": "pglogical", "databases": ["app"], "zones": ["b"], "schema": "schema.sql"])
        #expect(relative.contains { $0.path == "mesh.schema" && $0.message.contains("absolute") }, "\(relative)")
        let (config, _) = try parse(["provider": "pglogical", "databases": ["app"], "zones": ["b"], "schema": "/nonexistent/schema.sql"])
        #expect(config.mesh?.schemaFile == "/nonexistent/schema.sql")
        #expect(ConfigLoader.fileIssues(config).contains { $0.path == "mesh.schema" }, "\(ConfigLoader.fileIssues(config))")
        let (zoneTLS, _) = try parse(["provider": "pglogical", "databases": ["app"],
                                      "zones": ["batman", ["scope": "b", "etcd3": ["host": "10.0.0.2:2379", "cacert": "/nonexistent/ca.pem"]]]])
        #expect(ConfigLoader.fileIssues(zoneTLS).contains { $0.path == "mesh.zones[1].etcd3.cacert" })
    }

    @Test func unknownKeysWarn() throws {
        let (_, warnings) = try parse(["provider": "pglogical", "databases": ["app"], "zones": ["b"], "peers": ["x"]])
        #expect(warnings.contains { $0.path == "mesh.peers" })
    }

    @Test func spockWithSeveralDatabasesWarnsOfDuplicates() throws {
        let (_, several) = try parse(["provider": "spock", "databases": ["a", "b"], "zones": ["batman", "x", "y"]])
        #expect(several.contains { $0.path == "mesh.databases" && $0.message.contains("twice") }, "\(several)")
        let (_, one) = try parse(["provider": "spock", "databases": ["a"], "zones": ["batman", "x", "y"]])
        #expect(!one.contains { $0.path == "mesh.databases" })
        let (_, pglogical) = try parse(["provider": "pglogical", "databases": ["a", "b"], "zones": ["batman", "x", "y"]])
        #expect(!pglogical.contains { $0.path == "mesh.databases" })
    }

    // MARK: required settings

    func parameters(_ mesh: JSONValue, dynamic: JSONObject = JSONObject(), local: JSONObject? = nil,
                    synchronous: Bool = false, known: Set<String>? = ["output_plugin_libraries"]) throws -> JSONObject {
        var (config, _) = try parse(mesh)
        if let local { config.postgresql.parameters = local }
        var settings = DynamicSettings()
        settings.parameters = dynamic
        if synchronous { settings.synchronousMode = "on" }
        return effectivePostgresParameters(local: config, dynamic: settings, majorVersion: 15, knownParameters: known)
    }

    let threeZones: JSONValue = ["provider": "pglogical", "databases": ["app"], "zones": ["batman", "b", "c"]]

    @Test func requiredSettingsOnEveryMember() throws {
        let p = try parameters(threeZones, dynamic: JSONObject([("wal_level", "replica"), ("track_commit_timestamp", "off"),
                                                                ("hot_standby_feedback", "off")]))
        #expect(p["wal_level"] == "logical")
        #expect(p["track_commit_timestamp"] == "on")
        #expect(p["hot_standby_feedback"] == "on")
        #expect(p["shared_preload_libraries"] == "pglogical")
        #expect(p["output_plugin_libraries"] == "pgoutput, test_decoding, pglogical_output")
        #expect(p["pglogical.conflict_resolution"] == "last_update_wins")
        #expect(p["pglogical.synchronous_commit"] == nil)
        // 1 database × 2 peers: 10 + 2·2 senders and, with a held copy of each outgoing
        // slot, 10 + 3·2 slots; 8 + 1 + 1 + 2·2 workers.
        #expect(p["max_replication_slots"] == .int(16))
        #expect(p["max_wal_senders"] == .int(14))
        #expect(p["max_worker_processes"] == .int(14))
    }

    @Test func userListsAreKeptAndSizesOnlyGrow() throws {
        let p = try parameters(threeZones,
                               dynamic: JSONObject([("max_replication_slots", .int(40)), ("max_worker_processes", .int(4))]),
                               local: JSONObject([("shared_preload_libraries", "pg_stat_statements, snowflake"),
                                                  ("output_plugin_libraries", "pgoutput")]))
        #expect(p["shared_preload_libraries"] == "pg_stat_statements, snowflake, pglogical")
        #expect(p["output_plugin_libraries"] == "pgoutput, pglogical_output")
        #expect(p["max_replication_slots"] == .int(40))
        #expect(p["max_worker_processes"] == .int(14))
    }

    @Test func outputPluginLibrariesOnlyWhenTheServerKnowsIt() throws {
        #expect(try parameters(threeZones, known: nil)["output_plugin_libraries"] == nil)
        let withUserValue = try parameters(threeZones, local: JSONObject([("output_plugin_libraries", "pgoutput")]), known: ["wal_level"])
        #expect(withUserValue["output_plugin_libraries"] == nil, "an unknown GUC would stop PostgreSQL")
    }

    @Test func spockAndSynchronousMode() throws {
        let p = try parameters(["provider": "spock", "databases": ["a", "b"], "zones": ["batman", "x", "y"]], synchronous: true)
        #expect(p["shared_preload_libraries"] == "spock")
        #expect(p["output_plugin_libraries"] == "pgoutput, test_decoding, spock_output")
        #expect(p["spock.conflict_resolution"] == "last_update_wins")
        #expect(p["spock.synchronous_commit"] == "on")
        // An interrupted transaction is replayed change by change, never discarded whole, and
        // only the changes that failed are logged (MeshParameterRules.spockApplySettings).
        #expect(p["spock.exception_behaviour"] == "discard")
        #expect(p["spock.exception_logging"] == "discard")
        // Resolved conflicts are kept, so the mesh can count them.
        #expect(p["spock.save_resolutions"] == "on")
        // A worker failed behind the promotion's apply gate restarts after 1 s, not Spock's 5 s.
        #expect(p["spock.restart_delay_default"] == .int(1000))
        let userDelay = try parameters(["provider": "spock", "databases": ["a"], "zones": ["batman", "x", "y"]],
                                       local: JSONObject([("spock.restart_delay_default", 3000)]), synchronous: false)
        #expect(userDelay["spock.restart_delay_default"] == .int(3000), "the user's value is kept")
        // 2 databases x 2 peers: 4 outgoing slots, each with a held copy.
        #expect(p["max_replication_slots"] == .int(22))
        #expect(p["max_worker_processes"] == .int(19))
    }

    @Test func pglogicalHasNoExceptionMode() throws {
        let p = try parameters(["provider": "pglogical", "databases": ["a"], "zones": ["batman", "x", "y"]], synchronous: false)
        #expect(p["spock.exception_behaviour"] == nil && p["pglogical.exception_behaviour"] == nil)
        #expect(p["spock.restart_delay_default"] == nil)
    }

    @Test func noMeshNoChange() throws {
        let config = try ConfigLoader.parse(try sampleRaw()).0
        let p = effectivePostgresParameters(local: config, dynamic: DynamicSettings(), majorVersion: 15, knownParameters: ["output_plugin_libraries"])
        #expect(p["shared_preload_libraries"] == nil)
        #expect(p["track_commit_timestamp"] == "off")
    }
}
