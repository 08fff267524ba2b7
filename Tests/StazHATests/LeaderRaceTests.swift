import Testing
import StazCore
@testable import StazHA

/// No leader key: the race (Patroni's `Ha.process_unhealthy_cluster` and its `is_healthiest_node` rules).
@Suite("HA decide: unlocked cluster, leader race")
struct LeaderRaceTests {
    static let threeNodes = ["node1", "node2", "node3"]
    /// The last known leader position (`status.optime`) equals our replica's position.
    static let unlocked = cluster(members: threeNodes, optime: baseLSN)

    static let won = "promoted self to leader by acquiring session lock"
    static let notHealthiest = "following a different leader because i am not the healthiest node"
    static let notAllowed = "following a different leader because I am not allowed to promote"

    static let rows: [HACase] = [
        HACase("healthiest replica takes the lock and promotes",
               input("node2", unlocked, PG.replica(), peers: [Peer.replica("node3", lsn: baseLSN - 100)]),
               steps: [acquireLock, .prepareMemberSlots, .promote, .recordPromotion],
               message: won),
        HACase("use_slots off: promotes without creating the members' slots first",
               input("node2", unlocked, PG.replica(), peers: [Peer.replica("node3", lsn: baseLSN - 100)],
                     settings: settings { $0.useSlots = false }),
               steps: [acquireLock, .promote, .recordPromotion],
               message: won),
        HACase("healthiest replica loses the lock race: follow whoever won",
               input("node2", unlocked, PG.replica(), peers: [Peer.replica("node3", lsn: baseLSN - 100)]), .lockNotAcquired,
               steps: [acquireLock, .follow(leader: nil)],
               message: "following new leader after trying and failing to obtain lock"),
        HACase("replica behind status.optime by more than maximum_lag_on_failover is not healthiest",
               input("node2", cluster(members: threeNodes, optime: baseLSN + 2 * MiB), PG.replica()),
               steps: [.follow(leader: nil)],
               message: notHealthiest),
        HACase("replica behind status.optime by exactly maximum_lag_on_failover may race",
               input("node2", cluster(members: threeNodes, optime: baseLSN + MiB), PG.replica()),
               steps: [acquireLock, .prepareMemberSlots, .promote, .recordPromotion],
               message: won),
        HACase("maximum_lag_on_failover from the dynamic config is honoured",
               input("node2", cluster(members: threeNodes, optime: baseLSN + 4096), PG.replica(),
                     settings: settings { $0.maximumLagOnFailover = 1024 }),
               steps: [.follow(leader: nil)],
               message: notHealthiest),
        HACase("a reachable peer ahead of me wins instead",
               input("node2", unlocked, PG.replica(), peers: [Peer.replica("node3", lsn: baseLSN + 1)]),
               steps: [.follow(leader: nil)],
               message: notHealthiest, logs: ["Wal position of node3 is ahead of my wal position"]),
        HACase("equal WAL and the peer has a higher failover_priority: not healthiest",
               input("node2", unlocked, PG.replica(), peers: [Peer.replica("node3", priority: 2)]),
               steps: [.follow(leader: nil)],
               message: notHealthiest,
               logs: ["node3 has equally tolerable WAL position and priority 2, while this node has priority 1"]),
        HACase("equal WAL and a lower peer failover_priority: I race",
               input(node("node2", priority: 3), unlocked, PG.replica(), peers: [Peer.replica("node3", priority: 2)]),
               steps: [acquireLock, .prepareMemberSlots, .promote, .recordPromotion],
               message: won),
        HACase("equal WAL and equal priority: both race, the DCS decides",
               input("node2", unlocked, PG.replica(), peers: [Peer.replica("node3")]),
               steps: [acquireLock, .prepareMemberSlots, .promote, .recordPromotion],
               message: won),
        HACase("unreachable peers do not block the race",
               input("node2", unlocked, PG.replica(), peers: [Peer.unreachable("node1"), Peer.unreachable("node3")]),
               steps: [acquireLock, .prepareMemberSlots, .promote, .recordPromotion],
               message: won),
        HACase("a nofailover peer ahead of me does not block the race",
               input("node2", unlocked, PG.replica(), peers: [Peer.replica("node3", lsn: baseLSN + MiB, noFailover: true)]),
               steps: [acquireLock, .prepareMemberSlots, .promote, .recordPromotion],
               message: won),
        HACase("a peer still running as primary blocks the race",
               input("node2", unlocked, PG.replica(), peers: [Peer.primary("node1", lsn: baseLSN - MiB)]),
               steps: [.follow(leader: nil)],
               message: notHealthiest),
        HACase("nofailover node never races",
               input(node("node3", noFailover: true), unlocked, PG.replica(lsn: baseLSN + MiB)),
               steps: [.follow(leader: nil)],
               message: notAllowed),
        HACase("failover_priority 0 never races",
               input(node("node3", priority: 0), unlocked, PG.replica(lsn: baseLSN + MiB)),
               steps: [.follow(leader: nil)],
               message: notAllowed),
        HACase("failover_priority 0 with nofailover false (Patroni: nofailover wins): races",
               input(node("node3", noFailover: false, priority: 0), unlocked, PG.replica(lsn: baseLSN + MiB)),
               steps: [acquireLock, .prepareMemberSlots, .promote, .recordPromotion],
               message: won),
        HACase("PostgreSQL still starting up is not healthy enough to race",
               input("node2", unlocked, PG.starting()),
               steps: [.follow(leader: nil)],
               message: notHealthiest),
        HACase("check_timeline: replica on an older timeline than the cluster's is not healthiest",
               input("node2", cluster(members: threeNodes, optime: baseLSN, timeline: 3), PG.replica(timeline: 2),
                     settings: settings { $0.checkTimeline = true }),
               steps: [.follow(leader: nil)],
               message: notHealthiest),
        HACase("already running as primary: retake the lock, no promotion",
               input("node1", unlocked, PG.primary(), peers: [Peer.replica("node2"), Peer.replica("node3")]),
               steps: [acquireLock],
               message: "acquired session lock as a leader"),
        HACase("frozen old primary on an older timeline than the history must not retake the lock",
               input("node1", cluster(members: threeNodes, optime: baseLSN, timeline: 3), PG.primary(timeline: 2)),
               steps: [.demote(.immediateNoLock)],
               message: "demoting self because i am not the healthiest node"),
        HACase("running primary loses the lock race: demote",
               input("node1", unlocked, PG.primary()), .lockNotAcquired,
               steps: [acquireLock, .demote(.immediateNoLock)],
               message: "demoted self after trying and failing to obtain lock"),
    ]

    @Test(arguments: rows)
    func leaderRace(_ row: HACase) { row.check() }
}
