import Foundation
import Logging
import StazConfig

/// swift-log's entry into staz's log output: each call becomes a `LogRecord` that `LogOutput`
/// renders in the format of `log:` (by default Patroni's `%(asctime)s %(levelname)s:
/// %(message)s`, `2024-05-01 10:00:00,123 INFO: no action. ...`), so existing log shipping and
/// grep patterns keep working.
public struct PatroniLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let output: LogOutput

    init(label: String, level: Logger.Level, output: LogOutput) {
        self.label = label; logLevel = level; self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Metadata is not written: DCS errors and endpoints ride in it, and only the message
    /// texts are reviewed for secrets.
    public func log(event: LogEvent) {
        output.emit(LogRecord(level: event.level, label: label, message: event.message.description, function: event.function,
                              file: event.file, line: event.line, nanoseconds: LogRecord.now(),
                              thread: LogRecord.currentThread(), isMainThread: Thread.isMainThread))
    }

    public static func level(fromPatroni name: String) -> Logger.Level {
        switch name.uppercased() {
        case "DEBUG": return .debug
        case "WARNING", "WARN": return .warning
        case "ERROR": return .error
        case "CRITICAL", "FATAL": return .critical
        default: return .info
        }
    }
}
