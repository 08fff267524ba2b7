import Testing
import StazConfig
@testable import StazDaemon

@Suite struct HeartbeatDeduplicationTests {
    @Test func repeatedHeartbeatsAreLeftOutUntilSomethingElseHappens() {
        var filter = HeartbeatDeduplicator()
        let leader = "no action. I am (pg0), the leader with the lock"
        let admitted = [leader, leader, leader, "Lock owner changed", leader, leader,
                        "no action. I am (pg0), a secondary, and following a leader (pg1)",
                        "PAUSE: no action. I am (pg0)", "PAUSE: no action. I am (pg0)"].filter { filter.admits($0) }
        #expect(admitted == [leader, "Lock owner changed", leader,
                             "no action. I am (pg0), a secondary, and following a leader (pg1)", "PAUSE: no action. I am (pg0)"])
    }

    @Test func onlyWithLevelInfoAsInPatroni() throws {
        for (level, expected) in [("INFO", 1), ("DEBUG", 3)] {
            let destination = RecordingDestination()
            var section = LogSection()
            section.level = level
            section.deduplicateHeartbeatLogs = true
            let output = LogOutput(section, destination: destination)
            for _ in 0..<3 { output.emit(sampleRecord()) }
            output.flush(timeout: 5)
            #expect(destination.lines.count == expected, "\(level)")
        }
    }
}
