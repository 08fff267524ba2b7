import Foundation
import Logging
import StazConfig

/// Where staz's log lines go, set up once at start from `log:`: each logger's level (its
/// `log.loggers` entry or `log.level`), the line format, and the queue (`log.max_queue_size`)
/// a writer thread empties to stderr or to `log.dir`. A line is rendered by the thread that
/// logs it, so its time is when it was logged, not when it was written.
public final class LogOutput: @unchecked Sendable {
    private let renderer: LogLineRenderer
    private let writer: LogWriter
    private let heartbeatLock = NSLock()
    private var heartbeats: HeartbeatDeduplicator?

    init(_ section: LogSection, destination: LogDestination) {
        let renderer = LogLineRenderer(section)
        self.renderer = renderer
        if section.deduplicateHeartbeatLogs && section.level == "INFO" { heartbeats = HeartbeatDeduplicator() }
        writer = LogWriter(capacity: section.maxQueueSize, destination: destination) { count in
            LogOutput.line(renderer, .warning, "QueueHandler has lost \(count) log records")
        }
    }

    /// The process's output once bootstrapped, for the exit handler.
    nonisolated(unsafe) private static var installed: LogOutput?

    /// Routes every swift-log logger of the process here. Whatever way the process ends
    /// (`exit(1)` after a CRITICAL line included), queued lines are written first.
    @discardableResult
    public static func bootstrap(_ section: LogSection) -> LogOutput {
        // A closed stderr pipe must make a write fail, not kill the daemon.
        signal(SIGPIPE, SIG_IGN)
        let output = LogOutput(section, destination: destination(for: section))
        LoggingSystem.bootstrap { label in
            PatroniLogHandler(label: label, level: PatroniLogHandler.level(fromPatroni: section.level(forLogger: label)), output: output)
        }
        installed = output
        atexit { LogOutput.installed?.flush() }
        return output
    }

    /// `<log.dir>/patroni.log` when `log.dir` is set, else stderr (journald's, under systemd).
    static func destination(for section: LogSection) -> LogDestination {
        let standardError = StandardErrorDestination()
        guard let path = section.filePath else { return standardError }
        let renderer = LogLineRenderer(section)
        return RotatingLogFile(path: path, maxBytes: section.fileSize, backupCount: section.fileNum, mode: section.mode,
                               fallback: standardError) { error, message in
            LogOutput.line(renderer, error ? .error : .info, message)
        }
    }

    func emit(_ record: LogRecord) {
        if heartbeats != nil, !heartbeatLock.withLock({ heartbeats!.admits(record.message) }) { return }
        writer.enqueue(renderer.render(record) + "\n")
    }

    /// Writes out what is queued, waiting at most `timeout` seconds; for the exit.
    public func flush(timeout: TimeInterval = 2) {
        writer.flush(timeout: timeout)
    }

    /// A line of staz's own about its logging, in the configured format.
    static func line(_ renderer: LogLineRenderer, _ level: Logger.Level, _ message: String,
                     function: String = #function, file: String = #fileID, line: UInt = #line) -> String {
        renderer.render(LogRecord(level: level, label: "staz", message: message, function: function, file: file, line: line,
                                  nanoseconds: LogRecord.now(), thread: LogRecord.currentThread(),
                                  isMainThread: Thread.isMainThread)) + "\n"
    }
}
