import Foundation
import Logging
import StazConfig
import StazCore
import StazSystem

/// One log call, described with Python's LogRecord attributes so that `log.format` fields
/// mean in staz what they mean in Patroni.
struct LogRecord: Sendable {
    var level: Logger.Level
    /// The swift-log label, Python's `name`.
    var label: String
    var message: String
    /// swift-log's `#function` (`runCycle()`) and `#fileID` (`StazDaemon/HAController.swift`).
    var function: String
    var file: String
    var line: UInt
    /// Wall-clock time of the call, nanoseconds since the epoch.
    var nanoseconds: Int64
    var thread: UInt
    var isMainThread: Bool

    /// Process start, for `relativeCreated` (Python measures from the logging module's import).
    static let processStart = LogRecord.now()

    static func now() -> Int64 { PythonLogTime.nowNanoseconds() }

    /// The calling thread, as Python's `threading.get_ident()` (the pthread handle).
    static func currentThread() -> UInt {
        #if canImport(Glibc)
        return pthread_self()
        #else
        return UInt(bitPattern: pthread_self())
        #endif
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

    static func levelNumber(_ level: Logger.Level) -> Int64 {
        switch level {
        case .trace, .debug: return 10
        case .info, .notice: return 20
        case .warning: return 30
        case .error: return 40
        case .critical: return 50
        }
    }

    /// The value Python's record holds for `field`; `asctime` is formatted by the caller.
    func value(of field: LogField, asctime: () -> String) -> JSONValue {
        let fileName = file.split(separator: "/").last.map(String.init) ?? file
        switch field {
        case .asctime: return .string(asctime())
        case .created: return .double(Double(nanoseconds) / 1e9)
        case .filename: return .string(fileName)
        // Swift names carry their argument labels (`run(cycle:)`); Python's are bare.
        case .funcName: return .string(String(function.prefix { $0 != "(" }))
        case .levelname: return .string(LogRecord.levelName(level))
        case .levelno: return .int(LogRecord.levelNumber(level))
        case .lineno: return .int(Int64(line))
        case .message: return .string(message)
        case .module: return .string(String(fileName.prefix { $0 != "." }))
        case .msecs: return .double(Double(nanoseconds % 1_000_000_000 / 1_000_000))
        case .name: return .string(label)
        case .pathname: return .string(file)
        case .process: return .int(Int64(getpid()))
        case .processName: return .string("MainProcess")
        case .relativeCreated: return .double(Double(nanoseconds - LogRecord.processStart) / 1e6)
        case .thread: return .int(Int64(bitPattern: UInt64(thread)))
        // Best effort: swift-concurrency threads have no names of their own.
        case .threadName: return .string(isMainThread ? "MainThread" : "Thread-\(thread)")
        }
    }
}
