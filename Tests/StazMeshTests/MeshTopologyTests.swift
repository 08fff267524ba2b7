import Testing
import StazConfig
import StazCore
@testable import StazMesh

@Suite struct MeshTopologyTests {
    @Test func desiredFromConfigurationAndMembers() {
        let desired = MeshFixture.desired()
        #expect(desired.problems.isEmpty)
        #expect(desired.username == "mesh")
        let app = desired.databases[0]
        #expect(app.nodeName == "a")
        #expect(app.nodeDSN == MeshFixture.dsnA, "hosts sorted by member name, not DCS order")
        #expect(app.subscriptions.map(\.name) == ["sub_b_a", "sub_c_a"])
        #expect(app.subscriptions.map(\.providerDSN) == [MeshFixture.dsnB, MeshFixture.dsnC])
        #expect(app.subscriptions.map(\.providerScope) == ["b", "c"])
        #expect(desired.settings.map(\.name) == ["wal_level", "track_commit_timestamp", "shared_preload_libraries",
                                                 "output_plugin_libraries", "pglogical.conflict_resolution"])
        #expect(MeshFixture.desired(synchronous: true).settings.last?.name == "pglogical.synchronous_commit")
    }

    @Test func missingZoneViewsAreProblems() {
        let unreadable = MeshFixture.desired(members: ["a": MeshFixture.members["a"]!])
        #expect(unreadable.databases[0].subscriptions.map(\.name) == ["sub_c_a"], "c has an explicit DSN")
        #expect(unreadable.problems == ["zone b: its member keys could not be read from the DCS"])
        let noOwn = MeshFixture.desired(members: ["b": MeshFixture.members["b"]!])
        #expect(noOwn.databases[0].nodeDSN == nil)
    }

    @Test func peerZonesAreReachedThroughTheirCheckedLeaderOnly() {
        func desired(_ checked: [String: String]?) -> MeshDesired {
            MeshTopology.desired(mesh: MeshFixture.section(), synchronousMode: false, zoneMembers: MeshFixture.members,
                                 checkedLeaders: checked)
        }
        let narrowed = desired(["a": "a1", "b": "b1", "c": "c9"])
        #expect(narrowed.problems.isEmpty)
        #expect(narrowed.databases[0].nodeDSN == MeshFixture.dsnA, "our own zone keeps every member")
        #expect(narrowed.databases[0].subscriptions.map(\.providerDSN) == [
            "host=127.0.0.1 port=6433 target_session_attrs=read-write connect_timeout=5 dbname=app user=mesh password=pw",
            MeshFixture.dsnC,
        ], "b through b1 alone; c's configured DSN as it is")
        #expect(desired([:]).databases[0].subscriptions.map(\.providerDSN) == [MeshFixture.dsnB, MeshFixture.dsnC],
                "a zone not checked yet: every member")

        let unknown = desired(nil)
        #expect(unknown.databases[0].subscriptions.map(\.name) == ["sub_c_a"], "no endpoint for b before the check ran")
        #expect(unknown.waitingZones["b"] == "the integrity check has not run yet in this leader's term")
        #expect(!unknown.problems.isEmpty)

        let gone = desired(["b": "b7"])
        #expect(gone.databases[0].subscriptions.map(\.name) == ["sub_c_a"])
        #expect(gone.waitingZones["b"] == "its checked leader b7 has no member key")
    }

    @Test func aWaitingEndpointIsReportedInGetMesh() throws {
        let desired = MeshTopology.desired(mesh: MeshFixture.section(), synchronousMode: false,
                                           zoneMembers: MeshFixture.members, checkedLeaders: ["b": "b7"])
        let zones = try #require(MeshReport(mesh: MeshFixture.section(), role: "leader", desired: desired).json["zones"]?.arrayValue)
        #expect(zones[1]["endpoint_waiting"]?.stringValue == "its checked leader b7 has no member key")
        #expect(zones[0]["endpoint_waiting"] == nil && zones[2]["endpoint_waiting"] == nil)
    }

    @Test func dsnRendering() {
        #expect(MeshDSN.derived(members: []) == nil)
        let withoutURL = Member(name: "x", data: JSONObject())
        #expect(MeshDSN.derived(members: [withoutURL]) == nil)
        #expect(MeshDSN.forDatabase("host=p port=5000 user=other", database: "my db", user: "mesh", password: "p w")
                == "host=p port=5000 user=other dbname='my db' password='p w'")
        #expect(MeshDSN.forDatabase("host=p dbname=wrong", database: "app", user: "mesh", password: nil)
                == "host=p dbname=app user=mesh")
        #expect(MeshDSN.redacted("host=p password='a b' user=x") == "host=p password=****** user=x")
        #expect(MeshDSN.redactedText(#"dsn "host=p password=secret" points to node with dsn "host=q password='x y'""#)
                == #"dsn "host=p password=******" points to node with dsn "host=q password=******""#)
    }

    @Test func parsesObservationRows() {
        let subs = MeshQueries.parseSubscriptions([[
            "name": "sub_b_a", "status": "replicating", "provider_node": "b", "interface": "b", "provider_dsn": "host=b",
            "slot_name": "pgl_app_b_sub_b_a", "enabled": "true", "replication_sets": "default,ddl_sql",
            "forward_origins": nil, "origin": "pgl_app_b_sub_b_a", "remote_lsn": "0/16B3748",
        ]])
        #expect(subs == [MeshSubscriptionObserved(name: "sub_b_a", status: "replicating", providerNode: "b", interfaceName: "b",
                                                  providerDSN: "host=b", slotName: "pgl_app_b_sub_b_a", enabled: true,
                                                  replicationSets: ["default", "ddl_sql"], forwardOrigins: [],
                                                  originName: "pgl_app_b_sub_b_a", remoteLSN: "0/16B3748")])
        let nodes = MeshQueries.parseNodes([
            ["node": "a", "interface": "a", "dsn": "host=a"], ["node": "b", "interface": "b", "dsn": "host=b"],
            ["node": "b", "interface": "b_2", "dsn": "host=b2"], ["node": "c", "interface": nil, "dsn": nil],
        ])
        #expect(nodes.map(\.name) == ["a", "b", "c"])
        #expect(nodes[1].interfaces.map(\.name) == ["b", "b_2"])
        #expect(nodes[2].interfaces.isEmpty)
        let tables = MeshQueries.parseTables([["schema": "public", "name": "t", "identity": "false", "sets": nil]])
        #expect(tables == [MeshTableObserved(schema: "public", name: "t", hasIdentityIndex: false, sets: [])])
        let slots = MeshQueries.parseSlots([["name": "pgl_app_a_sub_a_b", "database": "app", "active": "true",
                                             "lag_bytes": "128", "lag_seconds": "0.25", "consumer": "sub_a_b",
                                             "confirmed_flush_lsn": "0/10"]])
        #expect(slots.first?.lagBytes == 128 && slots.first?.lagSeconds == 0.25 && slots.first?.consumer == "sub_a_b")
        let settings = MeshQueries.parseSettings([["name": "wal_level", "setting": "logical", "context": "postmaster",
                                                   "source": "configuration file", "sourcefile": "/d/postgresql.conf",
                                                   "pending_restart": "false"]])
        #expect(settings["wal_level"]?.value == "logical" && settings["wal_level"]?.context == "postmaster")
        #expect(MeshQueries.parseRole([]) == nil)
    }

    @Test func reportJSON() {
        let desired = MeshFixture.desired()
        var observation = MeshFixture.converged()
        observation.outgoingSlots = [MeshSlotObserved(name: "pgl_app_a_sub_a_b", database: "app", active: true, lagBytes: 64,
                                                      lagSeconds: nil, consumer: "sub_a_b")]
        var result = MeshReconcileResult(finishedAt: 0, durationSeconds: 0.0123, converged: true)
        result.notes = ["n"]
        let report = MeshReport(mesh: MeshFixture.section(), role: "leader", desired: desired, observation: observation, result: result)
        let json = report.json
        #expect(json["provider"] == "pglogical" && json["node"] == "a" && json["role"] == "leader")
        let zones = json["zones"]?.arrayValue ?? []
        #expect(zones.count == 3)
        #expect(zones[0]["self"] == true)
        #expect(zones[1]["dsn"]?.stringValue?.contains("password=******") == true)
        #expect(zones[2]["dsn_source"] == "configuration")
        let sub = json["databases"]?.arrayValue?.first?["subscriptions"]?.arrayValue?.first
        #expect(sub?["status"] == "replicating" && sub?["remote_lsn"] == "0/3000060" && sub?["origin"] == "pgl_app_b_sub_b_a")
        #expect(sub?["provider_dsn"]?.stringValue?.contains("pw") == false)
        #expect(json["slots"]?.arrayValue?.first?["lag_bytes"] == .int(64))
        #expect(json["last_reconcile"]?["converged"] == true)
        #expect(json["last_reconcile"]?["at"] == "1970-01-01T00:00:00.000Z")
        #expect(report.replicatingCount == 2)
        #expect(!JSONValue.object(json).pythonJSONString.contains("password=pw"))
    }
}
