#if canImport(Glibc)
import Glibc
#endif
import StazSystem

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
        let bytes = Array("\(PythonLogTime.asctime(nanoseconds: PythonLogTime.nowNanoseconds(), dateFormat: nil)) \(level.rawValue): \(message)\n".utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
