import Foundation

/// pglogical resolves conflicts (last update wins) without recording them anywhere but the
/// server log: one `CONFLICT: remote <action> on relation ...` line each, at
/// `pglogical.conflict_log_level` (LOG by default). The leader counts those lines as the log
/// grows, so `GET /mesh` and `staz_mesh_conflicts_resolved` show pglogical's conflicts as they
/// show Spock's (`spock.resolutions`). Counted from the moment this member began reading the
/// log as leader; a rotated file is read from its start.
public struct ServerLogConflicts: Sendable, Equatable {
    public static let marker = "CONFLICT: remote "
    /// At most this much of the log is read per pass, so a burst never holds the reconciler.
    public static let readLimit = 4 << 20

    public private(set) var path: String?
    private var fileID: UInt64?
    private var offset: UInt64 = 0
    public private(set) var count = 0
    /// The newest conflict line from `CONFLICT:` on, and when this member read it.
    public private(set) var latest: String?
    public private(set) var latestSeenAt: Date?
    public private(set) var countingSince: Date?

    public init() {}

    /// Reads what was appended to `path` since the last call. The first file is read from its
    /// end (older lines are before this count began); a new file (rotation, another path) or
    /// a truncated one from its start.
    public mutating func scan(_ path: String?, now: Date = Date()) {
        guard let path, let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        var status = stat()
        guard fstat(handle.fileDescriptor, &status) == 0 else { return }
        let id = UInt64(status.st_ino)
        let size = UInt64(status.st_size)
        if countingSince == nil {
            countingSince = now
            self.path = path; fileID = id; offset = size
            return
        }
        if path != self.path || id != fileID || size < offset {
            self.path = path; fileID = id; offset = 0
        }
        guard size > offset else { return }
        do {
            try handle.seek(toOffset: offset)
            let chunk = handle.readData(ofLength: min(Int(size - offset), Self.readLimit))
            // Only whole lines: a line still being written is read next time.
            guard let lastNewline = chunk.lastIndex(of: UInt8(ascii: "\n")) else { return }
            let complete = chunk[chunk.startIndex...lastNewline]
            offset += UInt64(complete.count)
            consume(String(decoding: complete, as: UTF8.self), now: now)
        } catch {
            return
        }
    }

    mutating func consume(_ text: String, now: Date) {
        for line in text.split(separator: "\n") {
            guard let range = line.range(of: Self.marker) else { continue }
            count += 1
            latest = String(line[range.lowerBound...].dropFirst("CONFLICT: ".count))
            latestSeenAt = now
        }
    }
}
