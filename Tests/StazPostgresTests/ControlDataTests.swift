import StazCore
import Testing
@testable import StazPostgres

/// Real `pg_controldata` output of a PostgreSQL 15 cluster right after initdb (LANG=C).
let controlDataShutDown = """
pg_control version number:            1300
Catalog version number:               202209061
Database system identifier:           7712711530745704360
Database cluster state:               shut down
pg_control last modified:             Fri Nov 27 04:59:50 2026
Latest checkpoint location:           0/1511A88
Latest checkpoint's REDO location:    0/1511A88
Latest checkpoint's REDO WAL file:    000000010000000000000001
Latest checkpoint's TimeLineID:       1
Latest checkpoint's PrevTimeLineID:   1
Latest checkpoint's full_page_writes: on
Latest checkpoint's NextXID:          0:724
Latest checkpoint's NextOID:          13573
Latest checkpoint's oldestCommitTsXid:0
Latest checkpoint's newestCommitTsXid:0
Time of latest checkpoint:            Fri Nov 27 04:59:50 2026
Minimum recovery ending location:     0/0
Min recovery ending loc's timeline:   0
wal_level setting:                    replica
wal_log_hints setting:                off
max_connections setting:              100
Data page checksum version:           0
Mock authentication nonce:            4187695d74f0585c731fd8e69d76f4d76676836c442804ac27bd60db8e313e0a
"""

@Suite struct ControlDataTests {
    @Test func parsesTypedFieldsOfShutDownCluster() {
        let data = ControlData.parse(controlDataShutDown)
        #expect(data.systemIdentifier == "7712711530745704360")
        #expect(data.clusterState == "shut down")
        #expect(data.checkpointTimeline == 1)
        #expect(data.checkpointLocation == LSN(text: "0/1511A88"))
        #expect(data.minRecoveryEndLocation == .zero)
        #expect(data.walLogHints == false)
        #expect(data.dataChecksumVersion == 0)
        #expect(data.supportsRewind == false)
        #expect(data.isRecoveryState == false)
    }

    @Test func keepsValuesContainingColonsAndGluedValues() {
        let data = ControlData.parse(controlDataShutDown)
        #expect(data["Latest checkpoint's NextXID"] == "0:724")
        #expect(data["pg_control last modified"] == "Fri Nov 27 04:59:50 2026")
        #expect(data["Latest checkpoint's oldestCommitTsXid"] == "0")
    }

    @Test func shutDownPrimaryUsesLatestCheckpointForDivergence() throws {
        let position = try #require(ControlData.parse(controlDataShutDown).divergencePosition)
        #expect(position.timeline == 1)
        #expect(position.lsn == LSN(text: "0/1511A88"))
        #expect(position.inRecovery == false)
    }

    @Test(arguments: [
        // state, minRecovery, minRecoveryTL, checkpoint TL, expected TL, expected LSN
        ("shut down in recovery", "0/3000060", "2", "1", Int64(2), "0/3000060"),
        ("in archive recovery", "0/3000060", "0", "3", Int64(3), "0/3000060"),
        // 0/0 minimum recovery point: fall back to the later of REDO and checkpoint location
        ("shut down in recovery", "0/0", "0", "2", Int64(2), "0/2000028"),
    ])
    func standbyStatesUseMinimumRecoveryPoint(state: String, minRecovery: String, minTL: String, checkpointTL: String,
                                              expectedTL: Int64, expectedLSN: String) throws {
        let text = """
        Database cluster state:               \(state)
        Latest checkpoint location:           0/2000028
        Latest checkpoint's REDO location:    0/1FFFF00
        Latest checkpoint's TimeLineID:       \(checkpointTL)
        Minimum recovery ending location:     \(minRecovery)
        Min recovery ending loc's timeline:   \(minTL)
        wal_log_hints setting:                on
        """
        let data = ControlData.parse(text)
        #expect(data.supportsRewind)
        let position = try #require(data.divergencePosition)
        #expect(position.timeline == expectedTL)
        #expect(position.lsn == LSN(text: expectedLSN))
        #expect(position.inRecovery)
    }

    @Test func checksumsAloneAllowRewind() {
        let data = ControlData.parse("wal_log_hints setting: off\nData page checksum version: 1\n")
        #expect(data.supportsRewind)
    }

    @Test func garbageGivesNoPosition() {
        let data = ControlData.parse("nonsense\n\n")
        #expect(data.fields.isEmpty)
        #expect(data.divergencePosition == nil)
    }
}
