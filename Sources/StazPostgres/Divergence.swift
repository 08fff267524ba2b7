import StazCore

public enum RewindVerdict: String, Sendable, Equatable {
    case notNeeded, needed, unknown
}

/// One line of a PostgreSQL `<tli>.history` file: timeline `timeline` ended at `switchPoint`.
public struct TimelineSwitch: Sendable, Equatable {
    public var timeline: Int64
    public var switchPoint: LSN
    public var reason: String
    public init(timeline: Int64, switchPoint: LSN, reason: String) {
        self.timeline = timeline; self.switchPoint = switchPoint; self.reason = reason
    }
}

public enum TimelineHistory {
    /// Parses `tli<TAB>X/Y<TAB>reason` lines; blank and `#` comment lines are skipped, malformed
    /// lines ignored.
    public static func parse(_ text: String) -> [TimelineSwitch] {
        text.split(whereSeparator: \.isNewline).compactMap { raw in
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { return nil }
            let parts = line.split(maxSplits: 2, whereSeparator: { $0 == "\t" || $0 == " " })
            guard parts.count >= 2, let tl = Int64(parts[0]), let lsn = LSN(text: String(parts[1])) else { return nil }
            let reason = parts.count > 2 ? parts[2].trimmingCharacters(in: .whitespaces) : ""
            return TimelineSwitch(timeline: tl, switchPoint: lsn, reason: reason)
        }
    }
}

/// Where this node stands, for the divergence check.
public struct LocalWALPosition: Sendable, Equatable {
    public var timeline: Int64
    public var lsn: LSN
    /// Position of a standby (min recovery point / replay): it diverged only when strictly past
    /// the switch point. A (shut-down) primary's checkpoint at the switch point already diverged.
    public var inRecovery: Bool
    public init(timeline: Int64, lsn: LSN, inRecovery: Bool) {
        self.timeline = timeline; self.lsn = lsn; self.inRecovery = inRecovery
    }
}

public enum DivergenceRule {
    /// Patroni's `_check_timeline_and_lsn`: local TL ahead of the leader's → needed; equal → not
    /// needed; behind → look up where our TL ended in the leader's history: past it → needed;
    /// our TL absent from the history → needed.
    public static func verdict(local: LocalWALPosition, leaderTimeline: Int64, leaderHistory: [TimelineSwitch]) -> RewindVerdict {
        if local.timeline > leaderTimeline { return .needed }
        if local.timeline == leaderTimeline { return .notNeeded }
        guard let entry = leaderHistory.first(where: { $0.timeline == local.timeline }) else { return .needed }
        let diverged = local.inRecovery ? local.lsn > entry.switchPoint : local.lsn >= entry.switchPoint
        return diverged ? .needed : .notNeeded
    }
}
