import Testing
import StazCore
@testable import StazHA

/// A leader key exists (Patroni's `Ha.process_healthy_cluster`, `enforce_primary_role`, `follow`).
@Suite("HA decide: locked cluster")
struct LockedClusterTests {
    static let threeNodes = ["node1", "node2", "node3"]

    static let rows: [HACase] = [
        HACase("leader with the lock, running primary: refresh the lock, nothing else",
               input("node1", cluster(leader: "node1", members: threeNodes), PG.primary()),
               steps: [updateLock],
               message: "no action. I am (node1), the leader with the lock"),
        HACase("leader with the lock fails to refresh it: demote immediately, lock is not ours",
               input("node1", cluster(leader: "node1", members: threeNodes), PG.primary()), .lockNotUpdated,
               steps: [updateLock, .demote(.immediateNoLock)],
               message: "demoted self because failed to update leader lock in DCS"),
        HACase("lock owner running as replica promotes",
               input("node1", cluster(leader: "node1", members: threeNodes), PG.replica()),
               steps: [updateLock, .prepareMemberSlots, .promote, .recordPromotion],
               message: "promoted self to leader because I had the session lock"),
        HACase("lock owner running as replica fails to refresh the lock: no promotion",
               input("node1", cluster(leader: "node1", members: threeNodes), PG.replica()), .lockNotUpdated,
               steps: [updateLock],
               message: "not promoting because failed to update leader lock in DCS"),
        HACase("freshly promoted leader on a timeline not yet in history records it",
               input("node1", cluster(leader: "node1", members: threeNodes, timeline: 1), PG.primary(timeline: 2)),
               steps: [updateLock, .recordPromotion],
               message: "no action. I am (node1), the leader with the lock"),
        HACase("leader on the timeline the history already names: no history write",
               input("node1", cluster(leader: "node1", members: threeNodes, timeline: 2), PG.primary(timeline: 2)),
               steps: [updateLock],
               message: "no action. I am (node1), the leader with the lock"),
        HACase("replica follows the leader",
               input("node2", cluster(leader: "node1", members: threeNodes), PG.replica()),
               steps: [.follow(leader: "node1")],
               message: "no action. I am (node2), a secondary, and following a leader (node1)"),
        HACase("running primary without the lock while another member holds it: demote and stay down to follow it",
               input("node2", cluster(leader: "node1", members: threeNodes), PG.primary()),
               steps: [.demote(.immediateToFollow)],
               message: "demoting self because I do not have the lock and I was a leader"),
        HACase("nofailover replica follows the leader like any other",
               input(node("node3", noFailover: true), cluster(leader: "node1", members: threeNodes), PG.replica()),
               steps: [.follow(leader: "node1")],
               message: "no action. I am (node3), a secondary, and following a leader (node1)"),
    ]

    @Test(arguments: rows)
    func lockedCluster(_ row: HACase) { row.check() }
}
