import Foundation
import StazCore

/// The timeline a standby's WAL ends on, read from the names of the segment files in `pg_wal`.
///
/// A standby's `received_tli` disappears with its walreceiver (exactly when its leader is gone
/// and the race runs), and the checkpoint's timeline lags until the next restartpoint, so two
/// standbys holding the same WAL could report different timelines. Patroni asks the server
/// itself (`IDENTIFY_SYSTEM` over a replication connection, `Postgresql.get_replica_timeline`),
/// which needs a `replication` line in pg_hba for a local connection that not every deployment
/// has. The segment files say the same without a connection: the segment holding the last byte
/// a standby has exists under the timeline that byte was written on. A newer timeline's history
/// file alone does not count: a demoted primary whose WAL went past the fork fetches it and
/// still stays on its old timeline.
public enum WALTimeline {
    /// The highest timeline with a segment file for the segment holding the byte before `end`;
    /// nil when none is there (WAL restored from an archive, or a position at zero).
    public static func timeline(endingAt end: LSN, segmentSize: UInt64, walFileNames: [String]) -> Int64? {
        guard end.value > 0, segmentSize > 0, segmentSize.nonzeroBitCount == 1 else { return nil }
        let segment = (end.value - 1) / segmentSize
        let segmentsPerId = 0x1_0000_0000 / segmentSize
        let suffix = String(format: "%08X%08X", segment / segmentsPerId, segment % segmentsPerId)
        var best: Int64? = nil
        for name in walFileNames where name.count == 24 && name.hasSuffix(suffix) {
            guard let tl = Int64(name.prefix(8), radix: 16), tl > 0 else { continue }
            best = max(best ?? tl, tl)
        }
        return best
    }
}

extension PostgresController {
    /// `WALTimeline.timeline` for this data directory; nil when `pg_wal` cannot be read.
    nonisolated func walTimeline(endingAt end: LSN, segmentSize: UInt64) -> Int64? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dataPath("pg_wal")) else { return nil }
        return WALTimeline.timeline(endingAt: end, segmentSize: segmentSize, walFileNames: names)
    }
}
