import Testing
import StazCore
@testable import StazHA

/// Empty data directory (Patroni's `Ha._run_cycle`, `Bootstrap.bootstrap`, `Bootstrap.clone`) and the join checks for a
/// non-empty one (`Ha._run_cycle`'s system identifier checks).
@Suite("HA decide: bootstrap, clone and join")
struct BootstrapAndJoinTests {
    static let emptyDataDirectoryCases: [HACase] = [
        HACase("empty data dir, no initialize key: wins the initialize race and bootstraps",
               input("node1", cluster(initialize: nil), PG.empty),
               steps: [raceInitialize, .bootstrapNewCluster(.initdb)],
               message: "trying to bootstrap a new cluster"),
        HACase("empty data dir, bootstrap.method names a custom method: the bootstrap runs it",
               { var custom = input("node1", cluster(initialize: nil), PG.empty); custom.bootstrapMethod = .custom("pgbackrest"); return custom }(),
               steps: [raceInitialize, .bootstrapNewCluster(.custom("pgbackrest"))],
               message: "trying to bootstrap a new cluster"),
        HACase("empty data dir, no initialize key: loses the initialize race",
               input("node1", cluster(initialize: nil), PG.empty), .initializeLost,
               steps: [raceInitialize],
               message: "failed to acquire initialize lock"),
        HACase("empty data dir with a running leader: clones from the leader",
               input("node2", cluster(leader: "node1", members: ["node1"]), PG.empty),
               steps: [.cloneFrom("node1")],
               message: "trying to bootstrap from leader 'node1'"),
        HACase("empty data dir with a running clonefrom replica: clones from it",
               input("node2", cluster(leader: "node1", members: ["node1"], memberKeys: [member("node3", cloneFrom: true)]), PG.empty),
               steps: [.cloneFrom("node3")],
               message: "trying to bootstrap from replica 'node3'"),
        HACase("clonefrom member that is not running is skipped: clones from the leader",
               input("node2", cluster(leader: "node1", members: ["node1"],
                                      memberKeys: [member("node3", state: "stopped", cloneFrom: true)]), PG.empty),
               steps: [.cloneFrom("node1")],
               message: "trying to bootstrap from leader 'node1'"),
        HACase("nofailover node with empty data dir never races to bootstrap",
               input(node("node1", noFailover: true), cluster(initialize: nil), PG.empty),
               steps: [],
               message: "waiting for leader to bootstrap"),
        HACase("failover_priority 0 node with empty data dir never races to bootstrap",
               input(node("node1", priority: 0), cluster(initialize: nil), PG.empty),
               steps: [],
               message: "waiting for leader to bootstrap"),
        HACase("node without a bootstrap section never races to bootstrap",
               input(node("node1", canBootstrap: false), cluster(initialize: nil), PG.empty),
               steps: [],
               message: "waiting for leader to bootstrap"),
        HACase("another node is bootstrapping (initialize key empty): wait",
               input("node2", cluster(initialize: ""), PG.empty),
               steps: [],
               message: "waiting for leader to bootstrap"),
        HACase("no leader and a no_leader replica method: restore without a leader",
               input(node("node2", canBootstrap: false).with(canCloneWithoutLeader: true), cluster(), PG.empty),
               steps: [.cloneWithoutLeader],
               message: "trying to bootstrap (without leader)"),
        HACase("a leader to copy from wins over a no_leader method",
               input(node("node2").with(canCloneWithoutLeader: true), cluster(leader: "node1", members: ["node1"]), PG.empty),
               steps: [.cloneFrom("node1")],
               message: "trying to bootstrap from leader 'node1'"),
        HACase("a no_leader method waits while another node bootstraps (initialize key empty)",
               input(node("node2").with(canCloneWithoutLeader: true), cluster(initialize: ""), PG.empty),
               steps: [],
               message: "waiting for leader to bootstrap"),
        HACase("lock owner whose data dir vanished releases the lock",
               input("node1", cluster(leader: "node1", members: ["node1"]), PG.empty),
               steps: [.releaseLock],
               message: "released leader key voluntarily as data dir empty and currently leader"),
        HACase("inaccessible data dir is reported",
               input("node2", cluster(leader: "node1", members: ["node1"]), PG.inaccessible("Permission denied")),
               steps: [],
               message: "data directory is not accessible: Permission denied"),
    ]

    @Test(arguments: emptyDataDirectoryCases)
    func emptyDataDirectory(_ row: HACase) { row.check() }

    static let replicaFatal = "No initialize key in DCS and PostgreSQL is running as replica, aborting start"
    // Patroni: logger.fatal('system ID mismatch, node %s belongs to a different cluster: %s != %s',
    //                       name, cluster.initialize, local sysid)  — DCS value first.
    static let mismatch = "system ID mismatch, node node2 belongs to a different cluster: \(clusterSysid) != \(foreignSysid)"

    static let joinChecksCases: [HACase] = [
        HACase("system ID differs from the initialize key: fatal (DCS sysid first, as Patroni logs it)",
               input("node2", cluster(leader: "node1", members: ["node1", "node2"]), PG.replica(sysid: foreignSysid)),
               steps: [.fatal(mismatch)],
               message: mismatch),
        HACase("no initialize key, unlocked, first cycle, running primary: adopt it",
               input("node1", cluster(members: ["node1"], initialize: nil), PG.primary(), memory: Memory.firstCycle),
               steps: [.writeInitialize(clusterSysid), acquireLock],
               message: "acquired session lock as a leader"),
        HACase("no initialize key, unlocked, first cycle, running replica: fatal",
               input("node2", cluster(members: ["node2"], initialize: nil), PG.replica(), memory: Memory.firstCycle),
               steps: [.fatal(replicaFatal)],
               message: replicaFatal),
        HACase("lock owner with an empty initialize key writes its sysid",
               input("node1", cluster(leader: "node1", members: ["node1"], initialize: ""), PG.primary()),
               steps: [.writeInitialize(clusterSysid), updateLock],
               message: "no action. I am (node1), the leader with the lock"),
    ]

    @Test(arguments: joinChecksCases)
    func joinChecks(_ row: HACase) { row.check() }
}
