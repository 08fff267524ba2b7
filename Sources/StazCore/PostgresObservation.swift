/// What the HA decision needs to know about the local PostgreSQL, gathered once per cycle by
/// StazPostgres (one state query plus a few file checks). Pure data.
public struct PostgresObservation: Sendable, Equatable {
    /// Data directory missing or without `PG_VERSION`/`global/pg_control`.
    public var dataDirectoryEmpty: Bool
    /// Error text when the data directory exists but cannot be read.
    public var dataDirectoryError: String? = nil
    /// `Database system identifier` from pg_controldata (nil if unknown).
    public var systemIdentifier: String? = nil
    /// pg_controldata `Database cluster state` (`in production`, `shut down`, `shut down in recovery`, ...).
    public var controlDataState: String? = nil
    /// pg_controldata `Latest checkpoint's TimeLineID`.
    public var controlDataTimeline: Int64? = nil
    /// Postmaster alive (postmaster.pid names a live process).
    public var isRunning: Bool
    /// The postmaster's pid when running (from `postmaster.pid`).
    public var postmasterPID: Int32? = nil
    /// Accepting connections (pg_isready / query succeeded).
    public var isAcceptingConnections: Bool = false
    /// `pg_is_in_recovery()`; for a stopped server, whether standby.signal exists.
    public var isInRecovery: Bool = false
    /// primary: current timeline; replica: the timeline its WAL ends on (the segment files'
    /// timeline, else the walreceiver's, else the last restartpoint's).
    public var timeline: Int64? = nil
    /// primary: pg_current_wal_flush_lsn(); replica: max(receive, replay).
    public var walPosition: LSN? = nil
    public var receiveLSN: LSN? = nil
    public var replayLSN: LSN? = nil
    public var replayTimestamp: String? = nil
    public var replayPaused: Bool = false
    /// walreceiver status = 'streaming'.
    public var isStreaming: Bool = false
    /// Host and port of the current upstream in `primary_conninfo` (replicas).
    public var upstreamHost: String? = nil
    public var upstreamPort: Int? = nil
    public var primarySlotName: String? = nil
    public var serverVersion: Int? = nil
    public var postmasterStartTime: String? = nil
    public var pendingRestart: Bool = false
    public var pendingRestartReason: JSONObject = JSONObject()

    public init(dataDirectoryEmpty: Bool, isRunning: Bool) {
        self.dataDirectoryEmpty = dataDirectoryEmpty; self.isRunning = isRunning
    }
}
