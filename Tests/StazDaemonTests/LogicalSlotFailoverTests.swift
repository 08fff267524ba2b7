import StazConfig
import StazCore
import StazPostgres
import Testing
@testable import StazDaemon

/// The daemon side of mesh slot failover: what the leader publishes, and how readiness travels
/// in the member key, `/patroni` answers and `GET /mesh`.
@Suite("Daemon: logical slot failover")
struct LogicalSlotFailoverTests {
    static let pglogical = SlotFailoverSelection(provider: .pglogical)

    static let slots = [
        ReplicationSlotInfo(name: "m1", type: "physical", restartLSN: LSN(0x3000), active: true),
        ReplicationSlotInfo(name: "pgl_postgres_zone_sub", type: "logical", restartLSN: LSN(0x1000), confirmedFlushLSN: LSN(0x2000),
                            active: true, plugin: "pglogical_output", database: "postgres", walStatus: "reserved"),
        ReplicationSlotInfo(name: "debezium", type: "logical", restartLSN: LSN(0x1000), confirmedFlushLSN: LSN(0x2800),
                            active: true, plugin: "pgoutput", database: "postgres", walStatus: "reserved"),
        ReplicationSlotInfo(name: "pgl_lost", type: "logical", restartLSN: LSN(0x10), confirmedFlushLSN: LSN(0x20),
                            active: false, plugin: "pglogical_output", database: "postgres", walStatus: "lost"),
        ReplicationSlotInfo(name: "pg_basebackup_4242", type: "physical", restartLSN: LSN(0x3000), active: true, temporary: true),
    ]

    @Test func theLeaderPublishesMemberSlotsAndTheMeshSlotsOnly() {
        let published = SlotFailoverSelection.publishedPositions(Self.slots, selection: Self.pglogical)
        #expect(published.map(\.0) == ["m1", "pgl_postgres_zone_sub"])
        #expect(published.map(\.1) == [0x3000, 0x2000], "physical at restart_lsn, logical at confirmed_flush_lsn")
        let withoutMesh = SlotFailoverSelection.publishedPositions(Self.slots, selection: nil)
        #expect(withoutMesh.map(\.0) == ["m1"], "no mesh: no logical slot fails over")
    }

    @Test func spockSelectsItsOwnPlugin() {
        let spock = SlotFailoverSelection(provider: .spock)
        #expect(spock.plugins == ["spock_output"])
    }

    @Test func readinessTravelsInThePeerAnswer() {
        let ready = PeerProber.status(name: "m1", json: JSONObject([
            ("role", .string("replica")), ("xlog", .object(JSONObject([("received_location", .int(10)), ("replayed_location", .int(10))]))),
            ("logical_slots_ready", .bool(true)),
        ]))
        #expect(ready.logicalSlotsReady == true)
        let patroni = PeerProber.status(name: "m2", json: JSONObject([("role", .string("replica"))]))
        #expect(patroni.logicalSlotsReady == nil, "Patroni (or no mesh) reports nothing")
    }

    @Test func readinessIsInTheMemberKeyOnlyWhenKnown() {
        let config = StazConfiguration(scope: "s", name: "m1", restapi: RestAPISection(listen: "127.0.0.1:8008", connectAddress: "127.0.0.1:8008"),
                                       postgresql: PostgreSQLSection(listen: "127.0.0.1:5432", connectAddress: "127.0.0.1:5432", dataDir: "/d",
                                                                     pgpass: "/p", superuser: Credentials(username: "postgres"),
                                                                     replication: Credentials(username: "rep")))
        let observation = PostgresObservation(dataDirectoryEmpty: false, isRunning: true)
        func build(_ ready: Bool?) -> JSONObject {
            MemberRecord.build(config: config, state: .running, role: .replica, observation: observation, paused: false,
                               checkpointAfterPromotePending: false, holdsLock: false, logicalSlotsReady: ready)
        }
        #expect(build(false)["logical_slots_ready"] == .bool(false))
        #expect(build(true)["logical_slots_ready"] == .bool(true))
        #expect(build(nil)["logical_slots_ready"] == nil)
    }

    @Test func meshReportListsEveryReplicaWithItsVerdict() {
        func member(_ name: String, ready: Bool?) -> Member {
            var data = JSONObject()
            if let ready { data["logical_slots_ready"] = .bool(ready) }
            return Member(name: name, data: data)
        }
        let report = SlotFailoverSelection.readinessReport(members: [member("m2", ready: false), member("m0", ready: nil), member("m1", ready: false)],
                                                          me: "m1", mine: true)
        #expect(JSONValue.object(report).compactString == #"{"m1":true,"m2":false}"#)
    }
}
