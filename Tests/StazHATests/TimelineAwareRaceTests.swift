import Testing
import StazCore
import StazConfig
@testable import StazHA

/// Who is ahead in a leader race when members are on different timelines. The simulation found
/// the case: in quorum mode the voter holding the newest primary's acknowledged commits (on
/// timeline 3) voted for a member with a larger position on an abandoned timeline 2.
@Suite("Timeline-aware leader race")
struct TimelineAwareRaceTests {
    static func peer(_ name: String, lsn: UInt64, timeline: Int64?) -> PeerStatus {
        var status = Peer.replica(name, lsn: lsn)
        status.timeline = timeline
        return status
    }

    static let me = PG.replica(lsn: baseLSN + 4096, timeline: 2)

    @Test(arguments: [
        // (peer's timeline, peer's position relative to mine, peer is ahead)
        (Int64?(3), -2048, true),   // later timeline, smaller position: it has WAL we lack
        (Int64?(1), 2048, false),   // earlier timeline, larger position: an abandoned branch
        (Int64?(2), 2048, true),    // same timeline: positions decide
        (Int64?(2), -2048, false),
        (Int64?.none, 2048, true),  // no timeline reported (Patroni peer): positions alone
        (Int64?.none, -2048, false),
    ])
    func ahead(timeline: Int64?, offset: Int, expected: Bool) {
        let lsn = UInt64(Int(baseLSN) + 4096 + offset)
        let decider = Decider(input("node1", cluster(members: ["node1", "node2"]), Self.me,
                                    peers: [Self.peer("node2", lsn: lsn, timeline: timeline)]))
        #expect(decider.peerIsAhead(Self.peer("node2", lsn: lsn, timeline: timeline)) == expected)
    }

    @Test func aVoterOnALaterTimelineDoesNotElectAMemberOnAnEarlierOne() {
        var view = cluster(members: ["node1", "node2", "node3"], timeline: 3)
        view.sync = SyncState(leader: "node3", syncStandbys: ["node2"], quorum: 0, version: "7")
        let voter = Self.peer("node2", lsn: baseLSN, timeline: 3)
        let plan = decide(input("node1", view, Self.me, peers: [voter, Peer.unreachable("node3")],
                                settings: settings { $0.synchronousMode = "quorum" }))
        #expect(!plan.resolved().steps.contains(.promote), "\(plan.message)")
    }
}
