import StazCore

/// Which timeline a promotion must take so that it never shares its number with another
/// member's promotion.
///
/// PostgreSQL names the new timeline "the newest history file it can find + 1". A member that
/// missed another's promotion (cut off before it streamed the new history file, or before the
/// new leader wrote `history` to the DCS) would pick the same number: two branches of history
/// that neither a timeline comparison nor pg_rewind can tell apart, and a cluster whose members
/// cannot follow each other. So the number is the newest one anybody knows of, plus one: our
/// own, the DCS's `history`, the claim every promotion writes into `status` before it asks
/// PostgreSQL (`ClusterStatus.stazTimeline`), and what reachable peers report. The executor
/// writes that claim, then places history files for the numbers in between (PostgreSQL only
/// checks that they exist) and keeps them: standbys fetch every one up to ours before streaming.
public enum PromotionTimeline {
    public static func target(current: Int64, cluster: ClusterView?, peers: [PeerStatus]) -> Int64 {
        var newest = current
        if let cluster { newest = max(newest, cluster.timeline, cluster.status.stazTimeline ?? 0) }
        for peer in peers where peer.reachable { newest = max(newest, peer.timeline ?? 0) }
        return newest + 1
    }
}

extension PromotionTimeline {
    static let skippedReason = "skipped: taken by another member's promotion"

    /// The DCS `history` for a server on `current` whose history file lists `entries`, with an
    /// empty entry for each number a promotion skipped. Patroni counts the cluster's timeline as
    /// the last entry's + 1, and a history file names only the timelines its server went
    /// through: after timeline 1 → 3 the cluster would read as being on timeline 2.
    public static func history(_ entries: [TimelineHistoryEntry], current: Int64) -> [TimelineHistoryEntry] {
        var filled: [TimelineHistoryEntry] = []
        for (index, entry) in entries.enumerated() {
            filled.append(entry)
            let next = index + 1 < entries.count ? entries[index + 1].timeline : current
            var skipped = entry.timeline + 1
            while skipped < next {
                filled.append(TimelineHistoryEntry(timeline: skipped, lsn: entry.lsn, reason: skippedReason))
                skipped += 1
            }
        }
        return filled
    }
}
