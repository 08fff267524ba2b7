import Foundation
import Testing
@testable import StazDaemon

/// Records lines; can be made to hang on a write, like a stuck disk.
final class RecordingDestination: LogDestination, @unchecked Sendable {
    private let lock = NSLock()
    private var written: [String] = []
    let writing = DispatchSemaphore(value: 0)
    let proceed = DispatchSemaphore(value: 0)
    var blockOn: String?

    func write(_ line: String) {
        if line == blockOn {
            writing.signal()
            proceed.wait()
        }
        lock.withLock { written.append(line) }
    }

    var lines: [String] { lock.withLock { written } }
}

@Suite struct LogWriterTests {
    @Test func aStuckDestinationNeverBlocksTheCallerAndLostLinesAreCounted() {
        let destination = RecordingDestination()
        destination.blockOn = "1"
        let writer = LogWriter(capacity: 3, destination: destination) { "lost \($0)" }
        defer { writer.stop(timeout: 1) }
        writer.enqueue("1")
        destination.writing.wait()
        let started = ContinuousClock.now
        for line in ["2", "3", "4", "5", "6"] { writer.enqueue(line) }
        #expect(ContinuousClock.now - started < .milliseconds(100), "logging does not wait for the stuck write")
        destination.proceed.signal()
        writer.flush(timeout: 5)
        #expect(destination.lines == ["1", "2", "3", "4"])
        writer.enqueue("7")
        writer.flush(timeout: 5)
        #expect(destination.lines == ["1", "2", "3", "4", "7", "lost 2"], "Patroni's order: the line, then the report")
    }

    @Test func unboundedQueueKeepsEverythingInOrder() {
        let destination = RecordingDestination()
        let writer = LogWriter(capacity: 0, destination: destination) { "lost \($0)" }
        defer { writer.stop(timeout: 1) }
        let lines = (0..<5000).map(String.init)
        for line in lines { writer.enqueue(line) }
        writer.flush(timeout: 10)
        #expect(destination.lines == lines)
    }

    @Test func flushGivesUpOnAStuckDestination() {
        let destination = RecordingDestination()
        destination.blockOn = "stuck"
        let writer = LogWriter(capacity: 10, destination: destination) { "lost \($0)" }
        writer.enqueue("stuck")
        destination.writing.wait()
        let started = ContinuousClock.now
        writer.flush(timeout: 0.2)
        #expect(ContinuousClock.now - started < .seconds(2))
        destination.proceed.signal()
        writer.stop(timeout: 1)
    }
}
