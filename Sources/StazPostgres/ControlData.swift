import StazCore

/// Parsed `pg_controldata` output (run with LANG=C). Keeps every `key: value` line and offers
/// typed accessors for the fields staz acts on.
public struct ControlData: Sendable, Equatable {
    public var fields: [String: String]

    public init(fields: [String: String]) { self.fields = fields }

    /// Parses lines like `Database cluster state:               shut down`. Keys may contain
    /// colons themselves (`Latest checkpoint's NextXID:          0:724`), so the split is at the
    /// first colon followed by whitespace, or the first colon when the value is glued on
    /// (`Latest checkpoint's oldestCommitTsXid:0`).
    public static func parse(_ text: String) -> ControlData {
        var fields: [String: String] = [:]
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = String(rawLine)
            guard let colon = splitColon(in: line) else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if !key.isEmpty { fields[key] = value }
        }
        return ControlData(fields: fields)
    }

    private static func splitColon(in line: String) -> String.Index? {
        var candidate: String.Index?
        var i = line.startIndex
        while i < line.endIndex {
            if line[i] == ":" {
                if candidate == nil { candidate = i }
                let next = line.index(after: i)
                if next == line.endIndex || line[next] == " " || line[next] == "\t" { return i }
            }
            i = line.index(after: i)
        }
        return candidate
    }

    public subscript(key: String) -> String? { fields[key] }

    public var systemIdentifier: String? { fields["Database system identifier"] }
    public var clusterState: String? { fields["Database cluster state"] }
    public var checkpointTimeline: Int64? { fields["Latest checkpoint's TimeLineID"].flatMap { Int64($0) } }
    public var checkpointLocation: LSN? { fields["Latest checkpoint location"].flatMap { LSN(text: $0) } }
    public var checkpointRedoLocation: LSN? { fields["Latest checkpoint's REDO location"].flatMap { LSN(text: $0) } }
    public var minRecoveryEndLocation: LSN? { fields["Minimum recovery ending location"].flatMap { LSN(text: $0) } }
    public var minRecoveryEndTimeline: Int64? { fields["Min recovery ending loc's timeline"].flatMap { Int64($0) } }
    public var walSegmentSize: UInt64? { fields["Bytes per WAL segment"].flatMap { UInt64($0) } }
    /// The settings recovery needs at least as high as the server that wrote the WAL had them
    /// (PostgreSQL refuses to replay otherwise), by parameter name.
    public var recoveryParameterFloor: [String: Int64] {
        let names = ["max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_xacts", "max_locks_per_xact"]
        let parameters = ["max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions",
                          "max_locks_per_transaction"]
        var floor: [String: Int64] = [:]
        for (field, parameter) in zip(names, parameters) {
            if let value = fields["\(field) setting"].flatMap({ Int64($0) }) { floor[parameter] = value }
        }
        return floor
    }
    /// PostgreSQL's defaults of the `recoveryParameterFloor` settings, for when none is configured.
    public static let recoveryParameterDefaults: [String: Int64] = [
        "max_connections": 100, "max_worker_processes": 8, "max_wal_senders": 10,
        "max_prepared_transactions": 0, "max_locks_per_transaction": 64,
    ]
    public var walLogHints: Bool { fields["wal_log_hints setting"] == "on" }
    public var dataChecksumVersion: Int { fields["Data page checksum version"].flatMap { Int($0) } ?? 0 }

    /// pg_rewind can work on this cluster: hint bits are WAL-logged, or pages carry checksums.
    public var supportsRewind: Bool { walLogHints || dataChecksumVersion != 0 }

    /// The cluster was (or is being) run as a standby: its position is the minimum recovery point.
    public var isRecoveryState: Bool {
        clusterState == "shut down in recovery" || clusterState == "in archive recovery"
    }

    /// Where this node's WAL ends, for the divergence check while PostgreSQL is stopped:
    /// standby states use the minimum recovery ending location (falling back to the checkpoint
    /// REDO/location when it is 0/0), primary states the latest checkpoint location.
    public var divergencePosition: (timeline: Int64, lsn: LSN, inRecovery: Bool)? {
        if isRecoveryState {
            if let lsn = minRecoveryEndLocation, lsn != .zero {
                let tl = minRecoveryEndTimeline.flatMap { $0 > 0 ? $0 : nil } ?? checkpointTimeline
                guard let tl else { return nil }
                return (tl, lsn, true)
            }
            guard let tl = checkpointTimeline,
                  let lsn = [checkpointRedoLocation, checkpointLocation].compactMap({ $0 }).max() else { return nil }
            return (tl, lsn, true)
        }
        guard let tl = checkpointTimeline, let lsn = checkpointLocation else { return nil }
        return (tl, lsn, false)
    }
}
