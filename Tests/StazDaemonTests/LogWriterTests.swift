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
        // The five lines are taken while the destination is still stuck: logging never waits
        // for it (were enqueue to wait, it would wait for ever; the 60 s keeps the suite going).
        let enqueued = DispatchSemaphore(value: 0)
        Thread {
            for line in ["2", "3", "4", "5", "6"] { writer.enqueue(line) }
            enqueued.signal()
        }.start()
        #expect(enqueued.wait(timeout: .now() + 60) == .success, "logging waited for the stuck write")
        #expect(destination.lines.isEmpty)
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
        // flush returns on its own while the destination is still stuck: it gave up. (How soon
        // after its 0.2 s depends on the scheduler; the 60 s only keeps a hang from hanging
        // the suite.)
        let returned = DispatchSemaphore(value: 0)
        Thread { writer.flush(timeout: 0.2); returned.signal() }.start()
        #expect(returned.wait(timeout: .now() + 60) == .success, "flush never gave up")
        #expect(destination.lines.isEmpty, "the stuck line was written before flush returned")
        destination.proceed.signal()
        writer.stop(timeout: 1)
    }
}
