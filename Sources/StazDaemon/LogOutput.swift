import Foundation
import Logging
import StazConfig

/// Where staz's log lines go, set up once at start from `log:`: each logger's level (its
/// `log.loggers` entry or `log.level`) and the line format.
public final class LogOutput: @unchecked Sendable {
    let section: LogSection
    private let renderer: LogLineRenderer
    private let lock = NSLock()

    public init(_ section: LogSection) {
        self.section = section
        renderer = LogLineRenderer(section)
    }

    /// Routes every swift-log logger of the process here.
    public static func bootstrap(_ section: LogSection) -> LogOutput {
        let output = LogOutput(section)
        LoggingSystem.bootstrap { label in
            PatroniLogHandler(label: label, level: PatroniLogHandler.level(fromPatroni: section.level(forLogger: label)), output: output)
        }
        return output
    }

    func emit(_ record: LogRecord) {
        let line = renderer.render(record) + "\n"
        lock.withLock { StandardError.write(line) }
    }
}

/// stderr through write(2): FileHandle traps on a failed write, and a log line must never take
/// the daemon down.
enum StandardError {
    static func write(_ text: String) { _ = writeFully(STDERR_FILENO, Array(text.utf8)) }
}

/// Writes all of `bytes` to `descriptor`, retrying after signals and short writes; the errno
/// of a failure, nil on success.
func writeFully(_ descriptor: Int32, _ bytes: [UInt8]) -> Int32? {
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written < 0 {
            if errno == EINTR { continue }
            return errno
        }
        if written == 0 { return EIO }
        offset += written
    }
    return nil
}
