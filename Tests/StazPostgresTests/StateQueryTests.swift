import StazCore
import Testing
@testable import StazPostgres

@Suite struct StateQueryTests {
    @Test func primaryRowFillsTimelineAndFlushPosition() {
        var o = PostgresObservation(dataDirectoryEmpty: false, isRunning: true)
        StateQuery.apply([
            "in_recovery": "false", "primary_timeline": "2", "flush_lsn": "0/3000148", "checkpoint_timeline": "1",
            "replay_paused": "false", "server_version_num": "150014",
            "postmaster_start_time": "2026-11-27 05:00:00.123456+00:00",
            "pending_restart": "{\"max_connections\" : {\"old_value\" : \"100\", \"new_value\" : \"200\"}}",
            "primary_conninfo": "", "receive_lsn": nil, "replay_lsn": nil,
        ], to: &o)
        #expect(o.isAcceptingConnections)
        #expect(!o.isInRecovery)
        #expect(o.timeline == 2)   // not the stale checkpoint timeline
        #expect(o.walPosition == LSN(text: "0/3000148"))
        #expect(o.serverVersion == 150014)
        #expect(o.pendingRestart)
        #expect(o.pendingRestartReason["max_connections"]?["new_value"] == .string("200"))
        #expect(o.upstreamHost == nil)
    }

    @Test func replicaRowUsesReceivedTimelineAndMaxOfReceiveReplay() {
        var o = PostgresObservation(dataDirectoryEmpty: false, isRunning: true)
        StateQuery.apply([
            "in_recovery": "true", "receive_lsn": "0/5000000", "replay_lsn": "0/4FFFF00", "received_tli": "3",
            "checkpoint_timeline": "2", "replay_paused": "true", "wal_receiver_status": "streaming",
            "wal_receiver_conninfo": "user=replicator passfile=/p host=127.0.0.1 port=25432 application_name=pg2",
            "primary_slot_name": "pg2", "pending_restart": nil,
        ], to: &o)
        #expect(o.isInRecovery)
        #expect(o.timeline == 3)
        #expect(o.walPosition == LSN(text: "0/5000000"))
        #expect(o.replayPaused)
        #expect(o.isStreaming)
        #expect(o.upstreamHost == "127.0.0.1")
        #expect(o.upstreamPort == 25432)
        #expect(o.primarySlotName == "pg2")
        #expect(!o.pendingRestart)
    }

    @Test func replicaWithoutWalReceiverFallsBackToCheckpointTimeline() {
        var o = PostgresObservation(dataDirectoryEmpty: false, isRunning: true)
        StateQuery.apply(["in_recovery": "true", "replay_lsn": "0/4000000", "checkpoint_timeline": "2",
                          "primary_conninfo": "", "primary_slot_name": ""], to: &o)
        #expect(o.timeline == 2)
        #expect(!o.isStreaming)
        #expect(o.upstreamHost == nil)
        #expect(o.primarySlotName == nil)
    }

    @Test func roleSQLQuotesNamesAndPasswords() {
        let sql = RoleSQL.createOrUpdate(role: "rep\"l", password: "pa'ss", options: ["REPLICATION", "LOGIN"])
        #expect(sql.contains("ALTER ROLE \"rep\"\"l\" WITH REPLICATION LOGIN PASSWORD 'pa''ss';"))
        #expect(sql.contains("CREATE ROLE \"rep\"\"l\" WITH REPLICATION LOGIN PASSWORD 'pa''ss';"))
        #expect(sql.contains("rolname = 'rep\"l'"))
        #expect(RoleSQL.rewindGrants(role: "rewind_user").count == 4)
    }
}
