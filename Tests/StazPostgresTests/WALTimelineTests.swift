import Testing
import StazCore
@testable import StazPostgres

/// The timeline a standby's WAL ends on, from `pg_wal`'s file names.
struct WALTimelineTests {
    let sixteenMB: UInt64 = 16 * 1024 * 1024

    @Test("the segment holding the last byte names the timeline")
    func segmentOfLastByte() {
        // 0/3000000 is the first byte of segment 3: the last byte is in segment 2.
        let names = ["000000010000000000000002", "000000020000000000000003", "00000002.history"]
        #expect(WALTimeline.timeline(endingAt: LSN(0x300_0000), segmentSize: sixteenMB, walFileNames: names) == 1)
        #expect(WALTimeline.timeline(endingAt: LSN(0x300_0001), segmentSize: sixteenMB, walFileNames: names) == 2)
    }

    @Test("a switch inside a segment: the newer timeline's copy of that segment wins")
    func switchInsideSegment() {
        let names = ["000000030000000000000007", "000000040000000000000007", "00000004.history"]
        #expect(WALTimeline.timeline(endingAt: LSN(0x7_12_3456), segmentSize: sixteenMB, walFileNames: names) == 4)
    }

    @Test("a newer history file alone does not move a diverged standby to that timeline")
    func historyFileAlone() {
        // A demoted primary fetched timeline 2's history but its own WAL past the fork is on 1.
        let names = ["000000010000000000000009", "00000002.history", "000000020000000000000008"]
        #expect(WALTimeline.timeline(endingAt: LSN(0x9_00_0100), segmentSize: sixteenMB, walFileNames: names) == 1)
    }

    @Test("segment numbers past one log id, and other segment sizes")
    func highSegmentsAndSizes() {
        // 1/2000010 with 16 MB segments: log id 1, segment 2.
        #expect(WALTimeline.timeline(endingAt: LSN(0x1_0200_0010), segmentSize: sixteenMB,
                                     walFileNames: ["0000000A0000000100000002"]) == 10)
        // 64 MB segments: 0/C000001 is in segment 3.
        #expect(WALTimeline.timeline(endingAt: LSN(0xC00_0001), segmentSize: 64 * 1024 * 1024,
                                     walFileNames: ["000000050000000000000003"]) == 5)
    }

    @Test("nothing to go by: no file for the segment, partial files, position zero")
    func unknown() {
        let names = ["000000020000000000000005.partial", "archive_status", "00000002.history"]
        #expect(WALTimeline.timeline(endingAt: LSN(0x5_00_0001), segmentSize: sixteenMB, walFileNames: names) == nil)
        #expect(WALTimeline.timeline(endingAt: LSN(0), segmentSize: sixteenMB, walFileNames: ["000000010000000000000000"]) == nil)
    }
}
