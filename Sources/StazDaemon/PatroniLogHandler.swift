import Foundation
import Logging

/// Log lines in Patroni's default format (`%(asctime)s %(levelname)s: %(message)s`), so existing
/// log shipping and grep patterns keep working: `2024-05-01 10:00:00,123 INFO: no action. ...`.
public struct PatroniLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let lock = NSLock()

    public init(label: String, level: Logger.Level = .info) { logLevel = level }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?,
                    source: String, file: String, function: String, line: UInt) {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = time_t(tv.tv_sec)
        var parts = tm()
        localtime_r(&t, &parts)
        let stamp = String(format: "%04d-%02d-%02d %02d:%02d:%02d,%03d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                           parts.tm_hour, parts.tm_min, parts.tm_sec, Int(tv.tv_usec / 1000))
        let text = "\(stamp) \(PatroniLogHandler.levelName(level)): \(message)\n"
        lock.lock()
        FileHandle.standardError.write(text.data(using: .utf8)!)
        lock.unlock()
    }

    static func levelName(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: return "DEBUG"
        case .info, .notice: return "INFO"
        case .warning: return "WARNING"
        case .error: return "ERROR"
        case .critical: return "CRITICAL"
        }
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
