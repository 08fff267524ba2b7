import Testing
import StazCore
@testable import StazHA

/// The timeline a promotion claims, and the DCS history of a promotion that skipped numbers.
/// The simulation's seeds 401 (failsafe mode) and 78, 486, 744, 818 (pauses) ended with a
/// standby that could not stream: two members had promoted onto the same timeline number.
@Suite("Promotion timeline")
struct PromotionTimelineTests {
    static func peer(_ name: String, timeline: Int64?, reachable: Bool = true) -> PeerStatus {
        var status = reachable ? Peer.replica(name) : Peer.unreachable(name)
        status.timeline = timeline
        return status
    }

    static func view(history: [Int64]?, claim: Int64? = nil) -> ClusterView {
        var view = cluster(members: ["node1", "node2", "node3"])
        view.history = history.map { $0.map { TimelineHistoryEntry(timeline: $0, lsn: 100 * $0, reason: "") } }
        view.status.stazTimeline = claim
        return view
    }

    @Test(arguments: [
        // (our timeline, history's timelines, the status claim, peers' timelines, expected)
        (Int64(1), [Int64]?.none, Int64?.none, [Int64?](), Int64(2)),           // a first failover
        (1, [1], nil, [], 3),                  // the history says 2 exists: we missed it
        (1, [], 2, [], 3),                     // only the claim says so (the promoter was cut off)
        (2, [1], 2, [Int64?(2)], 3),           // the usual case: nothing to skip
        (1, nil, nil, [Int64?(4), nil], 5),    // a peer is on 4
        (3, [1], 1, [Int64?(2)], 4),           // ours is the newest
    ])
    func target(current: Int64, history: [Int64]?, claim: Int64?, peers: [Int64?], expected: Int64) {
        let peers = peers.enumerated().map { Self.peer("node\($0.offset + 2)", timeline: $0.element) }
        #expect(PromotionTimeline.target(current: current, cluster: Self.view(history: history, claim: claim), peers: peers) == expected)
    }

    @Test func unreachablePeersAndNoViewCountForNothing() {
        #expect(PromotionTimeline.target(current: 2, cluster: nil, peers: [Self.peer("node2", timeline: 7, reachable: false)]) == 3)
    }

    @Test func historyFillsSkippedNumbersSoTheClusterTimelineIsOurs() {
        let file = [TimelineHistoryEntry(timeline: 1, lsn: 100, reason: "no recovery target specified")]
        let history = PromotionTimeline.history(file, current: 4)
        #expect(history.map(\.timeline) == [1, 2, 3])
        #expect(history.map(\.lsn) == [100, 100, 100])
        #expect(history.dropFirst().allSatisfy { $0.reason == PromotionTimeline.skippedReason })
        var view = Self.view(history: nil)
        view.history = history
        #expect(view.timeline == 4)
        // Nothing skipped: the file's entries as they are.
        let plain = [TimelineHistoryEntry(timeline: 1, lsn: 100, reason: "a"), TimelineHistoryEntry(timeline: 2, lsn: 200, reason: "b")]
        #expect(PromotionTimeline.history(plain, current: 3) == plain)
        // A skip in the middle of the lineage (1 → 3 → 4).
        let middle = [TimelineHistoryEntry(timeline: 1, lsn: 100, reason: "a"), TimelineHistoryEntry(timeline: 3, lsn: 300, reason: "b")]
        #expect(PromotionTimeline.history(middle, current: 4).map(\.timeline) == [1, 2, 3])
    }
}
