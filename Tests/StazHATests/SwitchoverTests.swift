import Testing
import StazCore
@testable import StazHA

/// Manual switchover / failover in Patroni's `Ha`: the leader side while it holds the lock, and
/// the race side once it has released it.
@Suite("HA decide: switchover and manual failover")
struct SwitchoverTests {
    static let threeNodes = ["node1", "node2", "node3"]
    static let stay = "no action. I am (node1), the leader with the lock"
    static let won = "promoted self to leader by acquiring session lock"
    static let notHealthiest = "following a different leader because i am not the healthiest node"
    static let promoteAndClean: [HAStep] = [acquireLock, .clearFailover, .prepareMemberSlots, .promote, .recordPromotion]

    static func leaderView(_ request: FailoverRequest) -> ClusterView {
        cluster(leader: "node1", members: threeNodes, failover: request, optime: baseLSN)
    }

    static let leaderSideCases: [HACase] = [
        HACase("switchover to a reachable, caught-up candidate: demote gracefully",
               input("node1", leaderView(failoverKey(from: "node1", to: "node2")), PG.primary(),
                     peers: [Peer.replica("node2"), Peer.replica("node3")]),
               steps: [updateLock, .awaitStreaming(members: ["node2"], timeout: 5), .demote(.graceful)],
               message: "switchover: demoting myself"),
        HACase("switchover without a named candidate: demote if anyone can take over",
               input("node1", leaderView(failoverKey(from: "node1")), PG.primary(), peers: [Peer.replica("node3")]),
               steps: [updateLock, .awaitStreaming(members: ["node2", "node3"], timeout: 5), .demote(.graceful)],
               message: "switchover: demoting myself"),
        HACase("manual failover (no leader in the key) to a reachable candidate",
               input("node1", leaderView(failoverKey(to: "node2")), PG.primary(), peers: [Peer.replica("node2")]),
               steps: [updateLock, .awaitStreaming(members: ["node2"], timeout: 5), .demote(.graceful)],
               message: "manual failover: demoting myself"),
        HACase("switchover to an unreachable candidate: clear the key and stay leader",
               input("node1", leaderView(failoverKey(from: "node1", to: "node2")), PG.primary(),
                     peers: [Peer.unreachable("node2"), Peer.replica("node3")]),
               steps: [updateLock, .clearFailover],
               message: stay),
        HACase("switchover to a candidate lagging beyond maximum_lag_on_failover: clear and stay",
               input("node1", leaderView(failoverKey(from: "node1", to: "node2")), PG.primary(),
                     peers: [Peer.replica("node2", lsn: baseLSN - 2 * MiB)]),
               steps: [updateLock, .clearFailover],
               message: stay),
        HACase("switchover under write load: our live WAL ran ahead, the candidate is close to the published optime: demote",
               input("node1", leaderView(failoverKey(from: "node1", to: "node2")), PG.primary(lsn: baseLSN + 3 * MiB),
                     peers: [Peer.replica("node2", lsn: baseLSN - MiB / 2)]),
               steps: [updateLock, .awaitStreaming(members: ["node2"], timeout: 5), .demote(.graceful)],
               message: "switchover: demoting myself"),
        HACase("switchover to a nofailover candidate: clear and stay",
               input("node1", leaderView(failoverKey(from: "node1", to: "node2")), PG.primary(),
                     peers: [Peer.replica("node2", noFailover: true)]),
               steps: [updateLock, .clearFailover],
               message: stay),
        HACase("switchover naming me as the candidate: I am already the leader, clear",
               input("node1", leaderView(failoverKey(from: "node1", to: "node1")), PG.primary(), peers: [Peer.replica("node2")]),
               steps: [updateLock, .clearFailover],
               message: stay),
        HACase("switchover naming another leader: mismatch, clear",
               input("node1", leaderView(failoverKey(from: "node3", to: "node2")), PG.primary(), peers: [Peer.replica("node2")]),
               steps: [updateLock, .clearFailover],
               message: stay),
    ]

    @Test(arguments: leaderSideCases)
    func leaderSide(_ row: HACase) { row.check() }

    /// The old leader released the lock; the key is still there. The last leader position is 10 MiB
    /// ahead of node2, far beyond maximum_lag_on_failover.
    static func raceView(_ request: FailoverRequest) -> ClusterView {
        cluster(members: threeNodes, failover: request, optime: baseLSN + 10 * MiB)
    }

    static let candidateSideCases: [HACase] = [
        HACase("the named candidate wins the race even though it lags and a peer is ahead",
               input("node2", raceView(failoverKey(from: "node1", to: "node2")), PG.replica(),
                     peers: [Peer.replica("node1", lsn: baseLSN + 10 * MiB), Peer.replica("node3", lsn: baseLSN + 5 * MiB)]),
               steps: promoteAndClean,
               message: won),
        HACase("another replica stands back while the named candidate is reachable",
               input("node3", raceView(failoverKey(from: "node1", to: "node2")), PG.replica(lsn: baseLSN + 10 * MiB),
                     peers: [Peer.replica("node2")]),
               steps: [.follow(leader: nil)],
               message: notHealthiest),
        HACase("named candidate unreachable: the best other replica wins, without the lag check",
               input("node3", raceView(failoverKey(from: "node1", to: "node2")), PG.replica(lsn: baseLSN + MiB),
                     peers: [Peer.unreachable("node2"), Peer.replica("node1", lsn: baseLSN + 10 * MiB)]),
               steps: promoteAndClean,
               message: won),
        HACase("the former leader does not win while another member is reachable",
               input("node1", raceView(failoverKey(from: "node1", to: "node2")), PG.replica(lsn: baseLSN + 10 * MiB),
                     peers: [Peer.replica("node2"), Peer.unreachable("node3")]),
               steps: [.follow(leader: nil)],
               message: notHealthiest),
        HACase("the former leader takes the lock back when nobody else is reachable",
               input("node1", raceView(failoverKey(from: "node1", to: "node2")), PG.replica(lsn: baseLSN + 10 * MiB),
                     peers: [Peer.unreachable("node2"), Peer.unreachable("node3")]),
               steps: promoteAndClean,
               message: won),
        // Patroni's `manual_failover_process_no_leader`: with no candidate the others compare
        // among members except the former leader, WITHOUT the maximum_lag_on_failover check.
        HACase("switchover without candidate: lagging replica still wins, former leader ignored (Patroni's manual_failover_process_no_leader)",
               input("node2", raceView(failoverKey(from: "node1")), PG.replica(),
                     peers: [Peer.replica("node1", lsn: baseLSN + 10 * MiB), Peer.replica("node3", lsn: baseLSN - MiB)]),
               steps: promoteAndClean,
               message: won),
    ]

    @Test(arguments: candidateSideCases)
    func candidateSide(_ row: HACase) { row.check() }
}
