import Testing
import StazCore
import StazConfig
@testable import StazHA

let priorityMode = settings { $0.synchronousMode = "on" }
let strictMode = settings { $0.synchronousMode = "on"; $0.synchronousModeStrict = true }
let quorumMode = settings { $0.synchronousMode = "quorum" }

/// A cluster whose `sync` key names `leader` and `standbys` (leader key absent: leader lost).
func syncCluster(_ members: [String], sync leader: String?, _ standbys: [String], quorum: Int = 0,
                 locked: String? = nil, failover: FailoverRequest? = nil) -> ClusterView {
    var view = cluster(leader: locked, members: members, failover: failover, optime: baseLSN)
    view.sync = SyncState(leader: leader, syncStandbys: standbys, quorum: quorum, version: "7")
    return view
}

/// Race and promotion rules in synchronous mode (Patroni's `Ha.is_healthiest_node`, `process_manual_failover_from_leader`, `process_sync_replication`).
@Suite("HA decide: synchronous replication")
struct SyncDecisionTests {
    static let members = ["node1", "node2", "node3"]
    static let won = "promoted self to leader by acquiring session lock"
    static let claim = HAStep.writeSync(SyncState(leader: "node2", syncStandbys: [], quorum: 0), version: "7",
                                        then: HAPlan(""), otherwise: HAPlan(""))
    static let refusedNode2 = "not promoting because node2 is not a synchronous standby and may miss acknowledged commits; use `stazctl failover --candidate node2 --force` to accept data loss"
    static let refused = "not promoting because node3 is not a synchronous standby and may miss acknowledged commits; use `stazctl failover --candidate node3 --force` to accept data loss"

    static let rows: [HACase] = [
        HACase("priority mode: the /sync standby races and claims /sync before promoting",
               input("node2", syncCluster(members, sync: "node1", ["node2"]), PG.replica(),
                     peers: [Peer.replica("node3", lsn: baseLSN + 10)], settings: priorityMode),
               steps: [acquireLock, claim, .prepareMemberSlots, .promote, .recordPromotion], message: won),
        HACase("priority mode: an async standby does not race even when it is ahead",
               input("node3", syncCluster(members, sync: "node1", ["node2"]), PG.replica(lsn: baseLSN + 10),
                     peers: [Peer.replica("node2")], settings: priorityMode),
               steps: [.follow(leader: nil)], message: "following a different leader because i am not the healthiest node"),
        HACase("double fault: primary and sync standby gone, the async standby refuses and says why",
               input("node3", syncCluster(members, sync: "node1", ["node2"]), PG.replica(),
                     peers: [Peer.unreachable("node1"), Peer.unreachable("node2")], settings: priorityMode),
               steps: [.reportBlockedFailover(refused), .follow(leader: nil)], message: refused),
        HACase("explicit failover to the async standby overrides, with a warning",
               input("node3", syncCluster(members, sync: "node1", ["node2"], failover: failoverKey(to: "node3")), PG.replica(),
                     peers: [Peer.unreachable("node1"), Peer.unreachable("node2")], settings: priorityMode),
               steps: [acquireLock, .clearFailover,
                       .writeSync(SyncState(leader: "node3", syncStandbys: [], quorum: 0), version: "7", then: HAPlan(""), otherwise: HAPlan("")),
                       .prepareMemberSlots, .promote, .recordPromotion],
               message: won,
               logs: ["manual failover to node3: node3 is not a synchronous standby, commits acknowledged by the former primary may be lost"]),
        HACase("priority mode, no standby synchronous yet: the former /sync leader (back as a replica) races and wins",
               input("node1", syncCluster(members, sync: "node1", []), PG.replica(lsn: baseLSN + 10),
                     peers: [Peer.replica("node2"), Peer.replica("node3")], settings: priorityMode),
               steps: [acquireLock, .writeSync(SyncState(leader: "node1", syncStandbys: [], quorum: 0), version: "7",
                                                then: HAPlan(""), otherwise: HAPlan("")),
                       .prepareMemberSlots, .promote, .recordPromotion], message: won),
        HACase("priority mode, no standby synchronous yet: the other standbys still refuse and say why",
               input("node2", syncCluster(members, sync: "node1", []), PG.replica(),
                     peers: [Peer.replica("node1", lsn: baseLSN + 10), Peer.replica("node3")], settings: priorityMode),
               steps: [.reportBlockedFailover(refusedNode2), .follow(leader: nil)], message: refusedNode2),
        HACase("switchover in sync mode never goes to a standby outside /sync",
               input("node3", syncCluster(members, sync: "node1", ["node2"], failover: failoverKey(from: "node1", to: "node3")),
                     PG.replica(), peers: [Peer.replica("node2")], settings: priorityMode),
               steps: [.follow(leader: nil)], message: "following a different leader because i am not the healthiest node"),
        HACase("sync mode off: /sync is ignored in the race",
               input("node3", syncCluster(members, sync: "node1", ["node2"]), PG.replica(),
                     peers: [Peer.unreachable("node2")]),
               steps: [acquireLock, .prepareMemberSlots, .promote, .recordPromotion], message: won),
        HACase("quorum mode: enough voters confirm, the node races",
               input("node2", syncCluster(members, sync: "node1", ["node2", "node3"], quorum: 1), PG.replica(),
                     peers: [Peer.replica("node3", lsn: baseLSN - 5)], settings: quorumMode),
               steps: nil, message: won),
        HACase("quorum mode: the only other voter is unreachable, no promotion",
               input("node2", syncCluster(members, sync: "node1", ["node2", "node3"], quorum: 1), PG.replica(),
                     peers: [Peer.unreachable("node3")], settings: quorumMode),
               steps: [.reportBlockedFailover("not promoting because only 0 of the 1 synchronous quorum votes needed confirm that node2 has every acknowledged commit; use `stazctl failover --candidate node2 --force` to accept data loss"),
                       .follow(leader: nil)],
               message: "not promoting because only 0 of the 1 synchronous quorum votes needed confirm that node2 has every acknowledged commit; use `stazctl failover --candidate node2 --force` to accept data loss"),
    ]

    @Test(arguments: rows)
    func row(_ row: HACase) { row.check() }

    @Test func casLostPostponesPromotion() {
        let plan = decide(input("node2", syncCluster(Self.members, sync: "node1", ["node2"]), PG.replica(), settings: priorityMode))
            .resolved(syncWritten: false)
        #expect(plan.message == "Postponing promotion because synchronous replication state was updated by somebody else")
        #expect(!plan.steps.contains(.promote))
    }

    @Test func quorumPrePromoteKeepsFormerLeaderAsVoter() {
        let plan = decide(input("node2", syncCluster(Self.members, sync: "node1", ["node2", "node3"], quorum: 1), PG.replica(),
                                peers: [Peer.replica("node3", lsn: baseLSN - 5)], settings: quorumMode)).resolved()
        let claimed = plan.steps.compactMap { step -> SyncState? in
            if case .writeSync(let state, _, _, _) = step { return state } else { return nil }
        }
        #expect(claimed == [SyncState(leader: "node2", syncStandbys: ["node1", "node3"], quorum: 1)])
    }
}
