import Testing
import StazCore
import StazConfig
@testable import StazHA

/// Mesh slot failover in the leader race: a replica whose copies of the mesh's logical slots
/// are not ready is not preferred while a ready one exists; readiness never overrides the lag
/// limit or synchronous mode.
@Suite("HA decide: logical slot readiness in the leader race")
struct SlotReadinessTests {
    static let members = ["node1", "node2", "node3"]
    static let unlocked = cluster(members: members, optime: baseLSN)
    static let won = "promoted self to leader by acquiring session lock"
    static let notHealthiest = "following a different leader because i am not the healthiest node"

    static func peer(_ name: String, lsn: UInt64 = baseLSN, ready: Bool?, priority: Int = 1, noFailover: Bool = false) -> PeerStatus {
        var peer = Peer.replica(name, lsn: lsn, priority: priority, noFailover: noFailover)
        peer.logicalSlotsReady = ready
        return peer
    }

    static func raceInput(_ me: NodeIdentity = node("node2"), ready: Bool?, lsn: UInt64 = baseLSN, cluster view: ClusterView? = nil,
                          peers: [PeerStatus], settings dynamic: DynamicSettings? = nil) -> HAInput {
        var built = input(me, view ?? unlocked, PG.replica(lsn: lsn), peers: peers, settings: dynamic ?? settings())
        built.logicalSlotsReady = ready
        return built
    }

    static let raceSteps = [acquireLock, HAStep.prepareMemberSlots, .promote, .recordPromotion]
    static let staySteps = [HAStep.follow(leader: nil)]

    static let rows: [HACase] = [
        HACase("not ready, a ready peer at the same position: the peer takes over",
               raceInput(ready: false, peers: [peer("node3", ready: true)]), steps: staySteps, message: notHealthiest),
        HACase("not ready but ahead of a ready peer: still the peer",
               raceInput(ready: false, lsn: baseLSN + 4096, peers: [peer("node3", ready: true)]), steps: staySteps, message: notHealthiest),
        HACase("ready, a peer ahead that is not ready: I take over",
               raceInput(ready: true, peers: [peer("node3", lsn: baseLSN + 4096, ready: false)]), steps: raceSteps, message: won),
        HACase("ready, an unready peer with a higher failover_priority: I take over",
               raceInput(ready: true, peers: [peer("node3", ready: false, priority: 5)]), steps: raceSteps, message: won),
        HACase("both ready: WAL position decides as before",
               raceInput(ready: true, peers: [peer("node3", lsn: baseLSN + 1, ready: true)]), steps: staySteps, message: notHealthiest),
        HACase("neither ready: WAL position decides as before (somebody must take over)",
               raceInput(ready: false, peers: [peer("node3", lsn: baseLSN - 1, ready: false)]), steps: raceSteps, message: won),
        HACase("not ready and no peer reports readiness (no mesh there): WAL position decides",
               raceInput(ready: false, peers: [peer("node3", lsn: baseLSN - 1, ready: nil)]), steps: raceSteps, message: won),
        HACase("this node reports no readiness: a ready peer does not change the race",
               raceInput(ready: nil, peers: [peer("node3", lsn: baseLSN - 1, ready: true)]), steps: raceSteps, message: won),
        HACase("the only ready peer is unreachable: the unready replica takes over",
               raceInput(ready: false, peers: [PeerStatus(name: "node3", reachable: false)]), steps: raceSteps, message: won),
        HACase("the only ready peer is nofailover: the unready replica takes over",
               raceInput(ready: false, peers: [peer("node3", ready: true, noFailover: true)]), steps: raceSteps, message: won),
        HACase("a ready peer too far behind the last leader position would refuse itself: I take over",
               raceInput(ready: false, lsn: baseLSN + 2 * MiB, cluster: cluster(members: members, optime: baseLSN + 2 * MiB),
                    peers: [peer("node3", lsn: baseLSN, ready: true)]),
               steps: raceSteps, message: won),
        HACase("ready but beyond maximum_lag_on_failover myself: the lag limit still applies",
               raceInput(ready: true, cluster: cluster(members: members, optime: baseLSN + 2 * MiB),
                    peers: [peer("node3", lsn: baseLSN + 2 * MiB, ready: false)]),
               steps: staySteps, message: notHealthiest),
        HACase("three replicas: the unready one yields to any ready one",
               raceInput(ready: false, lsn: baseLSN + 10, peers: [peer("node1", lsn: baseLSN, ready: true), peer("node3", lsn: baseLSN + 5, ready: false)]),
               steps: staySteps, message: notHealthiest),
        HACase("three replicas: among the ready ones the most advanced wins",
               raceInput(ready: true, lsn: baseLSN + 5, peers: [peer("node1", lsn: baseLSN + 10, ready: false), peer("node3", lsn: baseLSN, ready: true)]),
               steps: raceSteps, message: won),
    ]

    @Test(arguments: rows)
    func race(_ row: HACase) { row.check() }

    /// Priority synchronous mode: only `/sync` standbys hold every acknowledged commit, so an
    /// unready synchronous standby still wins over a ready asynchronous one.
    static var syncOn: DynamicSettings { settings { $0.synchronousMode = "on" } }

    static func syncCluster(standby: String) -> ClusterView {
        var view = cluster(members: members, optime: baseLSN)
        view.sync = SyncState(leader: "node1", syncStandbys: [standby])
        return view
    }

    static let syncRows: [HACase] = [
        HACase("sync mode: the unready synchronous standby is not held back by a ready asynchronous one",
               raceInput(ready: false, cluster: syncCluster(standby: "node2"), peers: [peer("node3", ready: true)], settings: syncOn),
               steps: raceSteps, message: won),
        HACase("sync mode: a ready asynchronous standby may not race at all",
               raceInput(ready: true, cluster: syncCluster(standby: "node2"), peers: [peer("node2", ready: false)], settings: syncOn)
                   .renamed("node3"),
               steps: staySteps, message: "following a different leader because i am not the healthiest node"),
    ]

    @Test(arguments: syncRows)
    func synchronousMode(_ row: HACase) {
        // Only the outcome matters here: race or not (the sync-key steps have their own tests).
        let plan = row.resolvedPlan
        #expect(plan.steps.contains(.promote) == row.steps!.contains(.promote), "\(row.name)")
    }
}

extension HAInput {
    func renamed(_ name: String) -> HAInput {
        var copy = self
        copy.node.name = name
        return copy
    }
}
