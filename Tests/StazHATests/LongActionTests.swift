import Testing
import StazCore
@testable import StazHA

/// A long action (bootstrap, clone, restart, ...) is running in the background (Patroni's `Ha.handle_long_action_in_progress`).
@Suite("HA decide: long action in progress")
struct LongActionTests {
    static let threeNodes = ["node1", "node2", "node3"]

    static func bootstrapping() -> HAMemory {
        var m = Memory.longAction("bootstrap")
        m.bootstrapping = true
        return m
    }

    static let rows: [HACase] = [
        HACase("lock owner keeps its lock fresh during bootstrap",
               input("node1", cluster(leader: "node1", members: ["node1"]), PG.starting(), memory: bootstrapping()),
               steps: [updateLock],
               message: "updated leader lock during bootstrap"),
        HACase("lock owner fails to refresh its lock during bootstrap: just report progress",
               input("node1", cluster(leader: "node1", members: ["node1"]), PG.starting(), memory: bootstrapping()), .lockNotUpdated,
               steps: [updateLock],
               message: "bootstrap in progress"),
        HACase("clone running on a replica: nothing else happens",
               input("node2", cluster(leader: "node1", members: threeNodes), PG.empty, memory: Memory.longAction("clone")),
               steps: [],
               message: "clone in progress"),
        HACase("long action in an unlocked cluster does not race",
               input("node2", cluster(members: threeNodes), PG.replica(), memory: Memory.longAction("restart")),
               steps: [],
               message: "restart in progress"),
        // Patroni's `handle_long_action_in_progress`: not the owner, not bootstrapping, not paused, running as primary →
        // demote('immediate-nolock'), "lost leader lock during <action>".
        HACase("running primary that lost the lock during a restart demotes (Patroni's handle_long_action_in_progress)",
               input("node1", cluster(leader: "node2", members: threeNodes), PG.primary(), memory: Memory.longAction("restart")),
               steps: [.demote(.immediateNoLock)],
               message: "lost leader lock during restart"),
    ]

    @Test(arguments: rows)
    func longAction(_ row: HACase) { row.check() }
}
