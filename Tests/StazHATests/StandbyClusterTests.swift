import Testing
import StazCore
import StazConfig
@testable import StazHA

/// A standby cluster (`standby_cluster` in the configuration): its leader follows the remote
/// side and never promotes (Patroni's `is_standby_cluster` branches of `Ha`).
@Suite("HA decide: standby cluster")
struct StandbyClusterTests {
    static let threeNodes = ["node1", "node2", "node3"]

    static let standby = settings {
        var remote = StandbyClusterSettings()
        remote.host = "10.0.0.9"; remote.port = 5432; remote.primarySlotName = "zone_b"
        $0.standbyCluster = remote
    }
    static let standbyPaused = settings { $0 = standby; $0.pause = true }

    static func leading(_ input: HAInput) -> HAInput {
        var input = input
        input.actsAsStandbyLeader = true
        return input
    }

    static let rows: [HACase] = [
        HACase("empty data directory, nobody initialized: race, then copy the remote side",
               input("node1", cluster(members: [], initialize: nil), PG.empty, settings: standby),
               steps: [raceInitialize, .bootstrapStandbyLeader],
               message: "trying to bootstrap a new standby leader"),
        HACase("empty data directory, initialize lost: wait",
               input("node1", cluster(members: [], initialize: nil), PG.empty, settings: standby), .initializeLost,
               steps: [raceInitialize],
               message: "failed to acquire initialize lock"),
        HACase("empty data directory while another member bootstraps the standby leader",
               input("node2", cluster(members: [], initialize: ""), PG.empty, settings: standby),
               steps: [],
               message: "waiting for standby_leader to bootstrap"),
        HACase("the standby leader: refresh the lock and keep following the remote side",
               leading(input("node1", cluster(leader: "node1", members: threeNodes), PG.replica(), settings: standby)),
               steps: [updateLock, .followRemote(asLeader: true)],
               message: "no action. I am (node1), the standby leader with the lock"),
        HACase("a replica holding the lock becomes the standby leader, with no promotion",
               input("node1", cluster(leader: "node1", members: threeNodes), PG.replica(), settings: standby),
               steps: [updateLock, .followRemote(asLeader: true)],
               message: "promoted self to a standby leader because i had the session lock"),
        HACase("the standby leader cannot refresh its lock: nothing to demote",
               leading(input("node1", cluster(leader: "node1", members: threeNodes), PG.replica(), settings: standby)),
               .lockNotUpdated,
               steps: [updateLock],
               message: "not promoting because failed to update leader lock in DCS"),
        HACase("a primary whose cluster became a standby cluster steps down, keeping the lock",
               input("node1", cluster(leader: "node1", members: threeNodes), PG.primary(), settings: standby),
               steps: [updateLock, .demote(.demoteCluster)],
               message: "cannot be a real primary in standby cluster"),
        HACase("a replica follows the standby leader",
               input("node2", cluster(leader: "node1", members: threeNodes), PG.replica(), settings: standby),
               steps: [.follow(leader: "node1")],
               message: "no action. I am (node2), a secondary, and following a standby leader (node1)"),
        HACase("no standby leader, the healthiest replica takes the lock and follows the remote side",
               input("node1", cluster(members: threeNodes), PG.replica(), peers: [Peer.replica("node2"), Peer.replica("node3")],
                     settings: standby),
               steps: [acquireLock, .followRemote(asLeader: true)],
               message: "promoted self to a standby leader by acquiring session lock"),
        HACase("no standby leader and the lock race lost: follow the remote side meanwhile",
               input("node1", cluster(members: threeNodes), PG.replica(), peers: [Peer.replica("node2"), Peer.replica("node3")],
                     settings: standby), .lockNotAcquired,
               steps: [acquireLock, .followRemote(asLeader: false)],
               message: "following new leader after trying and failing to obtain lock"),
        HACase("stopped, holding the lock: start as the standby leader, never as a primary",
               input("node1", cluster(leader: "node1", members: threeNodes), PG.stopped(wasPrimary: true), settings: standby),
               steps: [.followRemote(asLeader: true)],
               message: "starting as a standby leader because i had the session lock"),
        HACase("stopped with no standby leader: follow the remote side",
               input("node2", cluster(members: threeNodes), PG.stopped(wasPrimary: false), settings: standby),
               steps: [.followRemote(asLeader: false)],
               message: "trying to follow a remote member because standby cluster is unhealthy"),
        HACase("stopped with a standby leader: start as its replica",
               input("node2", cluster(leader: "node1", members: threeNodes), PG.stopped(wasPrimary: false), settings: standby),
               steps: [.follow(leader: "node1")],
               message: "starting as a secondary"),
        HACase("paused standby leader keeps the lock although not a primary",
               leading(input("node1", cluster(leader: "node1", members: threeNodes), PG.replica(), settings: standbyPaused)),
               steps: [updateLock, .followRemote(asLeader: true)],
               message: "PAUSE: no action. I am (node1), the standby leader with the lock"),
        HACase("standby_cluster removed: the standby leader promotes (promote-cluster)",
               leading(input("node1", cluster(leader: "node1", members: threeNodes), PG.replica())),
               steps: [updateLock, .prepareMemberSlots, .promote, .recordPromotion],
               message: "promoted self to leader because I had the session lock"),
        HACase("switchover inside the standby cluster: the standby leader steps down gracefully",
               leading(input("node1", cluster(leader: "node1", members: threeNodes, failover: failoverKey(from: "node1")),
                             PG.replica(), peers: [Peer.replica("node2"), Peer.replica("node3")], settings: standby)),
               steps: nil,
               message: "switchover: demoting myself"),
    ]

    @Test(arguments: rows)
    func standbyCluster(_ row: HACase) { row.check() }

    /// The standby cluster's leader is never promoted on any branch of any row but the one
    /// without `standby_cluster`.
    @Test func noStandbyClusterPlanPromotes() {
        for row in Self.rows where row.input.settings.standbyCluster != nil {
            #expect(!decide(row.input).promotes, "\(row.name)")
        }
    }
}
