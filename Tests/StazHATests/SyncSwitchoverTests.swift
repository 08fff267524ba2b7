import Testing
import StazCore
import StazConfig
@testable import StazHA

/// Switchover requests with synchronous replication, including stale ones that outlived the
/// leader that would have checked them (cases the simulation found leaving no leader, or in
/// quorum mode promoting without the acknowledged commits).
@Suite("HA decide: switchovers with synchronous replication")
struct SyncSwitchoverTests {
    static let members = ["node1", "node2", "node3"]

    static func promotes(_ plan: HAPlan) -> Bool { plan.resolved().steps.contains(.promote) }

    @Test(arguments: [priorityMode, quorumMode])
    func theLeaderRefusesACandidateOutsideSync(_ mode: DynamicSettings) {
        let view = syncCluster(Self.members, sync: "node1", ["node2"], locked: "node1",
                               failover: failoverKey(from: "node1", to: "node3"))
        let plan = decide(input("node1", view, PG.primary(), peers: [Peer.replica("node2"), Peer.replica("node3")],
                                settings: mode))
        #expect(!plan.resolved().steps.contains { if case .demote = $0 { return true } else { return false } }, "\(plan.message)")
        #expect(plan.resolved().steps.contains(.clearFailover), "\(plan.message)")
    }

    @Test func inQuorumModeACandidateOutsideSyncDoesNotWin() {
        let view = syncCluster(Self.members, sync: "node1", ["node2"], failover: failoverKey(from: "node1", to: "node3"))
        let plan = decide(input("node3", view, PG.replica(), peers: [Peer.replica("node2"), Peer.unreachable("node1")],
                                settings: quorumMode))
        #expect(!Self.promotes(plan), "\(plan.message)")
    }

    @Test func aSyncStandbyDoesNotWaitForACandidateThatMayNotPromote() {
        // node3 is named but outside /sync: node2, the synchronous standby, takes over.
        let view = syncCluster(Self.members, sync: "node1", ["node2"], failover: failoverKey(from: "node1", to: "node3"))
        let plan = decide(input("node2", view, PG.replica(), peers: [Peer.replica("node3"), Peer.unreachable("node1")],
                                settings: priorityMode))
        #expect(Self.promotes(plan), "\(plan.message)")
    }

    @Test func nobodyWaitsForACandidateWithoutWAL() {
        var empty = Peer.replica("node3")
        empty.walPosition = nil
        let view = cluster(members: Self.members, failover: failoverKey(from: "node1", to: "node3"), optime: baseLSN)
        let plan = decide(input("node2", view, PG.replica(), peers: [empty, Peer.unreachable("node1")]))
        #expect(Self.promotes(plan), "\(plan.message)")
    }

    @Test func theFormerLeaderTakesBackALeaderlessClusterNobodyElseMayLead() {
        let view = syncCluster(Self.members, sync: "node1", [], failover: failoverKey(from: "node1", to: "node3"))
        let plan = decide(input("node1", view, PG.replica(), peers: [Peer.replica("node2"), Peer.replica("node3")],
                                settings: priorityMode))
        #expect(Self.promotes(plan), "\(plan.message)")
    }

    @Test func aNamedCandidateInQuorumModeStillNeedsTheVotes() {
        // A stale request names node3; the voter node2 holds commits node3 lacks.
        let view = syncCluster(Self.members, sync: "node1", ["node2", "node3"], quorum: 1,
                               failover: failoverKey(from: "node1", to: "node3"))
        let plan = decide(input("node3", view, PG.replica(lsn: baseLSN), peers: [Peer.replica("node2", lsn: baseLSN + 256), Peer.unreachable("node1")],
                                settings: quorumMode))
        #expect(!Self.promotes(plan), "\(plan.message)")
    }

    @Test(arguments: [priorityMode, quorumMode])
    func aVoterAheadOfTheCandidateDoesNotWaitForIt(_ mode: DynamicSettings) {
        // The named node3 crashed during the switchover and is behind node2; it refuses to
        // promote, so node2 must not wait for it (the simulation's seed 1112 ended leaderless).
        let view = syncCluster(Self.members, sync: "node1", ["node2", "node3"], quorum: 1,
                               failover: failoverKey(from: "node1", to: "node3"))
        let plan = decide(input("node2", view, PG.replica(lsn: baseLSN + 256),
                                peers: [Peer.replica("node3", lsn: baseLSN), Peer.unreachable("node1")], settings: mode))
        #expect(Self.promotes(plan), "\(plan.message)")
    }

    @Test(arguments: [priorityMode, quorumMode])
    func aVoterLevelWithTheCandidateStillWaitsForIt(_ mode: DynamicSettings) {
        let view = syncCluster(Self.members, sync: "node1", ["node2", "node3"], quorum: 1,
                               failover: failoverKey(from: "node1", to: "node3"))
        let plan = decide(input("node2", view, PG.replica(lsn: baseLSN),
                                peers: [Peer.replica("node3", lsn: baseLSN), Peer.unreachable("node1")], settings: mode))
        #expect(!Self.promotes(plan), "\(plan.message)")
    }

    @Test func theFormerLeaderTakesOverWhenTheOnlyOtherVoterIsBehindIt() {
        // The simulation's seed 270: /sync says node1 with voter node3; the stale request names
        // node3, which is behind node1 and refuses; node2 is outside /sync. node1 must lead.
        let view = syncCluster(Self.members, sync: "node1", ["node3"], quorum: 0,
                               failover: failoverKey(from: "node1", to: "node3"))
        let plan = decide(input("node1", view, PG.replica(lsn: baseLSN + 256),
                                peers: [Peer.replica("node2", lsn: baseLSN + 256), Peer.replica("node3", lsn: baseLSN)],
                                settings: quorumMode))
        #expect(Self.promotes(plan), "\(plan.message)")
    }

    @Test func aStandbyLevelWithTheFormerLeaderHasItsVote() {
        // node2 is no voter (votes start at −1) and the request's leader node1 is left out of the
        // race, yet node1 wrote every acknowledged commit and node2 is level with it.
        let view = syncCluster(Self.members, sync: "node1", ["node3"], quorum: 1,
                               failover: failoverKey(from: "node1", to: "node3"))
        var decider = Decider(input("node2", view, PG.replica(lsn: baseLSN + 256),
                                    peers: [Peer.replica("node1", lsn: baseLSN + 256), Peer.replica("node3", lsn: baseLSN)],
                                    settings: quorumMode))
        #expect(decider.quorumVotes(view, excluding: "node1")?.enough == true)
        decider = Decider(input("node2", view, PG.replica(lsn: baseLSN + 256),
                                peers: [Peer.replica("node1", lsn: baseLSN + 512), Peer.replica("node3", lsn: baseLSN)],
                                settings: quorumMode))
        #expect(decider.quorumVotes(view, excluding: "node1")?.enough == false)
    }
}
