#if canImport(Glibc)
import Glibc
#endif

/// The guard's log: lines on the stderr it shares with staz, in Patroni's default format
/// (`2026-12-06 17:40:00,123 WARNING: ...`), written with one write(2) each. Not swift-log
/// and staz's log handlers: those would link Foundation into the guard, which is meant to
/// stay a small process.
public struct FenceGuardLog: Sendable {
    public enum Level: String, Sendable { case info = "INFO", warning = "WARNING", error = "ERROR" }

    public init() {}

    public func info(_ message: String) { write(.info, message) }
    public func warning(_ message: String) { write(.warning, message) }
    public func error(_ message: String) { write(.error, message) }

    func write(_ level: Level, _ message: String) {
        let bytes = Array("\(Self.timestamp()) \(level.rawValue): \(message)\n".utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }

    /// Local time as Python's `logging` prints it by default: `%Y-%m-%d %H:%M:%S,mmm`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        let milliseconds = Int(now.tv_nsec / 1_000_000)
        let padded = milliseconds < 10 ? "00\(milliseconds)" : milliseconds < 100 ? "0\(milliseconds)" : "\(milliseconds)"
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) + "," + padded
    }
}
