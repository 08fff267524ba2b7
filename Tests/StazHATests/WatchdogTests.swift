import Testing
import StazCore
import StazConfig
@testable import StazHA

/// The watchdog (Patroni's `enforce_primary_role`, `is_healthiest_node` and the places Patroni
/// disables it): armed before a member acts as a primary, disarmed once it no longer does.
@Suite("HA decide: watchdog")
struct WatchdogTests {
    static let threeNodes = ["node1", "node2", "node3"]
    static let locked = cluster(leader: "node1", members: threeNodes)
    static let unlocked = cluster(members: threeNodes, optime: baseLSN)
    static var paused: DynamicSettings { settings { $0.pause = true } }

    static func with(_ base: HAInput, _ state: WatchdogState, usable: Bool = true) -> HAInput {
        var input = base
        input.watchdog = state
        input.watchdogUsable = usable
        return input
    }

    static let rows: [HACase] = [
        HACase("leader with a disarmed watchdog arms it and carries on",
               with(input("node1", locked, PG.primary()), .disarmed),
               steps: [updateLock, armWatchdog],
               message: "no action. I am (node1), the leader with the lock"),
        HACase("leader that cannot arm a required watchdog demotes",
               with(input("node1", locked, PG.primary()), .disarmed), .watchdogRefused,
               steps: [updateLock, armWatchdog, .demote(.immediate)],
               message: "Demoting self because watchdog could not be activated"),
        HACase("leader with an armed watchdog: nothing more to do",
               with(input("node1", locked, PG.primary()), .armed),
               steps: [updateLock],
               message: "no action. I am (node1), the leader with the lock"),
        HACase("leader without a watchdog to arm: nothing more to do",
               with(input("node1", locked, PG.primary()), .off),
               steps: [updateLock],
               message: "no action. I am (node1), the leader with the lock"),
        HACase("race winner arms the watchdog before it promotes",
               with(input("node2", unlocked, PG.replica()), .disarmed),
               steps: [acquireLock, armWatchdog, .prepareMemberSlots, .promote, .recordPromotion],
               message: "promoted self to leader by acquiring session lock"),
        HACase("race winner that cannot arm a required watchdog gives the lock back unpromoted",
               with(input("node2", unlocked, PG.replica()), .disarmed), .watchdogRefused,
               steps: [acquireLock, armWatchdog, .releaseLock],
               message: "Not promoting self because watchdog could not be activated"),
        HACase("a required watchdog that cannot work keeps a replica out of the race",
               with(input("node2", unlocked, PG.replica()), .disarmed, usable: false),
               steps: [.follow(leader: nil)],
               message: "following a different leader because i am not the healthiest node"),
        HACase("pause disarms the leader's watchdog and arms nothing",
               with(input("node1", locked, PG.primary(), settings: paused), .armed),
               steps: [.disarmWatchdog, updateLock],
               message: "PAUSE: no action. I am (node1), the leader with the lock"),
        HACase("pause never arms a watchdog",
               with(input("node1", locked, PG.primary(), settings: paused), .disarmed),
               steps: [updateLock],
               message: "PAUSE: no action. I am (node1), the leader with the lock"),
        HACase("an armed watchdog on a member whose PostgreSQL is a replica is disarmed",
               with(input("node2", locked, PG.replica()), .armed),
               steps: [.disarmWatchdog, .follow(leader: "node1")],
               message: "no action. I am (node2), a secondary, and following a leader (node1)"),
        HACase("a lock owner promoting keeps its armed watchdog",
               with(input("node1", locked, PG.replica()), .armed),
               steps: [updateLock, .prepareMemberSlots, .promote, .recordPromotion],
               message: "promoted self to leader because I had the session lock"),
        HACase("an armed watchdog with PostgreSQL stopped is disarmed",
               with(input("node2", locked, PG.stopped(wasPrimary: false)), .armed),
               steps: nil,
               message: "starting as a secondary"),
    ]

    @Test(arguments: rows)
    func watchdog(_ row: HACase) { row.check() }

    @Test func stoppedMemberDisarmsFirst() {
        let plan = decide(Self.with(input("node2", Self.locked, PG.stopped(wasPrimary: false)), .armed))
        #expect(plan.steps.first == .disarmWatchdog)
    }
}
