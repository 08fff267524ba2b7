import StazCore

/// `log:` with Patroni 4.1's keys and defaults (`patroni/log.py`, `PatroniLogger`).
public struct LogSection: Sendable, Equatable {
    /// The root level, upper-cased: DEBUG, INFO, WARN or WARNING, ERROR, FATAL or CRITICAL.
    public var level: String = "INFO"
    /// DEBUG or ERROR. Patroni decides with it whether exceptions are logged with their stack
    /// trace; staz logs no stack traces (its error lines carry the error's description, what
    /// Patroni calls DETAIL), so the value is checked and otherwise has no effect.
    public var tracebackLevel: String = "ERROR"
    public var format: LogLineFormat = .plain(.patroniDefault)
    /// strftime(3) format of `asctime`; nil for Python's default, `%Y-%m-%d %H:%M:%S,mmm`.
    public var dateFormat: String? = nil
    /// Added to every JSON line after the record's fields (plain lines ignore them, as in Patroni).
    public var staticFields: JSONObject = JSONObject()
    /// Lines waiting for the writer thread; beyond it lines are dropped and counted. 0 or less
    /// means no bound (Python's `Queue(maxsize=0)`).
    public var maxQueueSize: Int = 1000
    /// Where `patroni.log` is written; nil for stderr.
    public var dir: String? = nil
    /// Permission bits of the log files; nil for `0o666` less the umask (Patroni's default).
    public var mode: Int? = nil
    /// Rotated files kept (`patroni.log.1` ... `.N`); 0 never rotates (Python's `backupCount`).
    public var fileNum: Int = 4
    /// Size in bytes at which `patroni.log` is rotated; 0 never rotates (Python's `maxBytes`).
    public var fileSize: Int = 25_000_000
    /// Python logger name → level name (DEBUG ... CRITICAL, or NOTSET to follow `level`).
    public var loggers: [String: String] = [:]
    /// Leave out a heartbeat line ("no action. ...") identical to the previous one.
    public var deduplicateHeartbeatLogs: Bool = false
    public init() {}

    /// `<dir>/patroni.log`: Patroni names the file after its logging module, `patroni.log`.
    public var filePath: String? {
        guard let dir else { return nil }
        return dir.hasSuffix("/") ? dir + "patroni.log" : dir + "/patroni.log"
    }
}

/// How one record becomes one line.
public enum LogLineFormat: Sendable, Equatable {
    /// `log.type: plain`: the format string filled in.
    case plain(LogTemplate)
    /// `log.type: json` (python-json-logger's `JsonFormatter`): one object per line with the
    /// format's fields in order, each under its key (`levelname`, or its rename).
    case json([JSONLogField])
}

public struct JSONLogField: Sendable, Equatable {
    public var field: LogField
    public var key: String
    public init(_ field: LogField, key: String? = nil) { self.field = field; self.key = key ?? field.rawValue }
}
