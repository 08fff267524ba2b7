import Testing
import StazCore
@testable import StazHA

/// PostgreSQL is not running (Patroni's `Ha._run_cycle` and `Ha.recover`).
@Suite("HA decide: PostgreSQL not running")
struct StoppedPostgresTests {
    static let threeNodes = ["node1", "node2", "node3"]
    static let iLead = cluster(leader: "node1", members: threeNodes)
    static let healthyReplica = Peer.replica("node2")
    static let noStartTimeout = settings { $0.primaryStartTimeout = 0 }

    /// Down since 990, and the start tried at 995 failed.
    static func startFailedMemory() -> HAMemory {
        var memory = Memory.primaryDown(since: 990)
        memory.startFailedAt = 995
        return memory
    }
    static let startFailed = startFailedMemory()

    static let rows: [HACase] = [
        HACase("crashed primary holding the lock, within primary_start_timeout: start it again as primary",
               input("node1", iLead, PG.stopped(wasPrimary: true), peers: [healthyReplica],
                     memory: Memory.primaryDown(since: 900), now: 1000),
               steps: [updateLock, .startAsPrimary],
               message: "starting primary after failure"),
        HACase("crashed primary holding the lock, first cycle of the outage: start it again",
               input("node1", iLead, PG.stopped(wasPrimary: true), peers: [healthyReplica]),
               steps: [updateLock, .startAsPrimary],
               message: "starting primary after failure"),
        HACase("crashed primary holding the lock, primary_start_timeout exceeded: give up the lock",
               input("node1", iLead, PG.stopped(wasPrimary: true), peers: [healthyReplica],
                     memory: Memory.primaryDown(since: 600), now: 1000),
               steps: [.releaseLock, .follow(leader: nil)],
               message: "removed leader key after trying and failing to start postgres"),
        // Patroni's `post_recover`: a start that failed (the server is not running after it)
        // gives the lock up at once, within primary_start_timeout or not.
        HACase("crashed primary whose start failed, a healthy replica: give up the lock at once",
               input("node1", iLead, PG.stopped(wasPrimary: true), peers: [healthyReplica],
                     memory: startFailed, now: 1000),
               steps: [.releaseLock, .announceDemotion, .follow(leader: nil)],
               message: "removed leader key after trying and failing to start postgres"),
        HACase("crashed primary whose start failed, nobody to take over: try again",
               input("node1", iLead, PG.stopped(wasPrimary: true), peers: [Peer.unreachable("node2")],
                     memory: startFailed, now: 1000),
               steps: [updateLock, .startAsPrimary],
               message: "starting primary after failure"),
        HACase("primary_start_timeout 0 and a healthy replica: fail over instead of restarting",
               input("node1", iLead, PG.stopped(wasPrimary: true), peers: [healthyReplica], settings: noStartTimeout),
               steps: [.releaseLock, .follow(leader: nil)],
               message: "stopped PostgreSQL to fail over after a crash"),
        // Patroni's `Ha.recover`: "if it is 0 and failover is possible → demote('immediate')"; with nobody to
        // fail over to it falls through and starts the primary again (without a start timeout).
        HACase("primary_start_timeout 0 but no failover candidate: restart as primary (Patroni's recover)",
               input("node1", iLead, PG.stopped(wasPrimary: true), peers: [Peer.unreachable("node2")], settings: noStartTimeout),
               steps: [updateLock, .startAsPrimary],
               message: "starting primary after failure"),
        HACase("lock owner whose stopped instance was a standby starts read-only, promotes next cycle",
               input("node1", iLead, PG.stopped(wasPrimary: false)),
               steps: [.follow(leader: nil)],
               message: "starting as readonly because i had the session lock"),
        HACase("stopped replica starts following the leader",
               input("node2", iLead, PG.stopped(wasPrimary: false)),
               steps: [.follow(leader: "node1")],
               message: "starting as a secondary"),
        HACase("stopped former primary without the lock starts as a secondary of the new leader",
               input("node2", iLead, PG.stopped(wasPrimary: true)),
               steps: [.follow(leader: "node1")],
               message: "starting as a secondary"),
        HACase("stopped replica in an unlocked cluster starts with no upstream",
               input("node2", cluster(members: threeNodes), PG.stopped(wasPrimary: false)),
               steps: [.follow(leader: nil)],
               message: "starting as a secondary"),
    ]

    @Test(arguments: rows)
    func stoppedPostgres(_ row: HACase) { row.check() }
}
