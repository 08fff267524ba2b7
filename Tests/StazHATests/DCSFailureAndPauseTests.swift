import Testing
import StazCore
@testable import StazHA

/// DCS unreachable (Patroni's `Ha._handle_dcs_error`) and pause mode.
@Suite("HA decide: DCS failure and pause")
struct DCSFailureAndPauseTests {
    static let threeNodes = ["node1", "node2", "node3"]

    static let dcsFailureCases: [HACase] = [
        HACase("DCS unreachable while primary: demote offline, keep the lock",
               input("node1", nil, PG.primary()),
               steps: [.demote(.offline)],
               message: "demoted self because DCS is not accessible and I was a leader"),
        HACase("DCS unreachable while replica: carry on",
               input("node2", nil, PG.replica()),
               steps: [],
               message: "DCS is not accessible"),
        HACase("DCS unreachable while stopped: nothing to do",
               input("node2", nil, PG.stopped(wasPrimary: false)),
               steps: [],
               message: "DCS is not accessible"),
        HACase("DCS unreachable in pause: the primary keeps running",
               input("node1", nil, PG.primary(), settings: paused),
               steps: [],
               message: "PAUSE: DCS is not accessible"),
        HACase("DCS unreachable after a start failed (an offline demotion's restart): start read-only again",
               input("node1", nil, PG.stopped(wasPrimary: false), memory: startFailed),
               steps: [.follow(leader: nil)],
               message: "starting as readonly again because PostgreSQL failed to start and DCS is not accessible"),
        HACase("DCS unreachable after a start failed, in pause: leave PostgreSQL alone",
               input("node1", nil, PG.stopped(wasPrimary: false), settings: paused, memory: startFailed),
               steps: [],
               message: "PAUSE: DCS is not accessible"),
        HACase("DCS unreachable after a start failed but PostgreSQL runs now: carry on",
               input("node2", nil, PG.replica(), memory: startFailed),
               steps: [],
               message: "DCS is not accessible"),
    ]

    static var startFailed: HAMemory {
        var memory = Memory.steady
        memory.record(.startFailed, now: 990)
        return memory
    }

    @Test(arguments: dcsFailureCases)
    func dcsFailure(_ row: HACase) { row.check() }

    static let pauseCases: [HACase] = [
        HACase("pause: leader keeps refreshing its lock",
               input("node1", cluster(leader: "node1", members: threeNodes), PG.primary(), settings: paused),
               steps: [updateLock],
               message: "PAUSE: no action. I am (node1), the leader with the lock"),
        HACase("pause: leader that cannot refresh its lock keeps running as primary",
               input("node1", cluster(leader: "node1", members: threeNodes), PG.primary(), settings: paused), .lockNotUpdated,
               steps: [updateLock],
               message: "PAUSE: continue to run as primary after failing to update leader lock in DCS"),
        HACase("pause: primary without the lock is not demoted",
               input("node2", cluster(leader: "node1", members: threeNodes), PG.primary(), settings: paused),
               steps: [],
               message: "PAUSE: continue to run as primary without lock"),
        HACase("pause: replica in an unlocked cluster does not race",
               input("node2", cluster(members: threeNodes, optime: baseLSN), PG.replica(), settings: paused),
               steps: [],
               message: "PAUSE: no action. I am (node2)"),
        HACase("pause: replica follows the leader without any role change",
               input("node2", cluster(leader: "node1", members: threeNodes), PG.replica(), settings: paused),
               steps: nil,
               message: "PAUSE: no action. I am (node2), a secondary, and following a leader (node1)"),
        HACase("pause: unlocked cluster lets the running primary take the lock",
               input("node1", cluster(members: threeNodes), PG.primary(), settings: paused),
               steps: [acquireLock],
               message: "PAUSE: acquired session lock as a leader"),
        HACase("pause: lock owner running as replica gives up the lock instead of promoting",
               input("node1", cluster(leader: "node1", members: threeNodes), PG.replica(), settings: paused),
               steps: [.releaseLock],
               message: "PAUSE: removed leader lock because postgres is not running as primary"),
        HACase("pause: stopped lock owner removes the lock, does not restart",
               input("node1", cluster(leader: "node1", members: threeNodes), PG.stopped(wasPrimary: true), settings: paused),
               steps: [.releaseLock],
               message: "PAUSE: removed leader lock because postgres is not running"),
        HACase("pause: stopped replica is not started",
               input("node2", cluster(leader: "node1", members: threeNodes), PG.stopped(wasPrimary: false), settings: paused),
               steps: [],
               message: "PAUSE: postgres is not running"),
        HACase("pause: empty data directory is not bootstrapped",
               input("node2", cluster(initialize: nil), PG.empty, settings: paused),
               steps: [],
               message: "PAUSE: running with empty data directory"),
        HACase("pause: frozen primary on an old timeline is not demoted",
               input("node1", cluster(members: threeNodes, timeline: 3), PG.primary(timeline: 2), settings: paused),
               steps: [acquireLock],
               message: "PAUSE: acquired session lock as a leader"),
    ]

    @Test(arguments: pauseCases)
    func pause(_ row: HACase) { row.check() }

    /// Whatever the DCS answers, a paused plan never promotes, demotes, starts, bootstraps or clones
    /// (taking the lock as an already-running primary is the one allowed race in pause).
    @Test(arguments: pauseCases)
    func pauseNeverChangesRoles(_ row: HACase) {
        for answers in [DCSAnswers.yes, .lockNotAcquired, .lockNotUpdated, .initializeLost] {
            let steps = decide(row.input).resolved(lockAcquired: answers.lockAcquired, lockUpdated: answers.lockUpdated,
                                                   initializeWon: answers.initializeWon).steps
            let forbidden = steps.filter { $0.changesRoleOrStartsPostgres && $0 != acquireLock }
            #expect(forbidden.isEmpty, "\(row.name): \(forbidden)")
            if steps.contains(acquireLock) {
                #expect(row.input.postgres.isRunning && !row.input.postgres.isInRecovery, "\(row.name): only a primary may race in pause")
            }
        }
    }
}

/// The loop memory changes only through recorded events.
@Suite("HA memory: events")
struct HAEventTests {
    @Test func aFailedStartIsRememberedUntilPostgresRuns() {
        var memory = HAMemory()
        memory.record(.startFailed, now: 12)
        #expect(memory.startFailedAt == 12)
        memory.record(.postgresRunning, now: 13)
        #expect(memory.startFailedAt == nil)
    }

    @Test func aRefusedPromotionIsRemembered() {
        var memory = HAMemory()
        memory.record(.prePromoteFailed, now: 7)
        #expect(memory.prePromoteFailedAt == 7)
    }

    @Test func aLongActionIsRememberedUntilItEnds() {
        var memory = HAMemory()
        memory.record(.longActionStarted("clone"), now: 1)
        #expect(memory.longAction == "clone")
        memory.record(.longActionEnded, now: 2)
        #expect(memory.longAction == nil)
    }

    @Test func theFirstCycleEndsOnce() {
        var memory = HAMemory()
        #expect(memory.firstCycle)
        memory.record(.cycleCompleted, now: 1)
        #expect(!memory.firstCycle)
    }

    /// The start timeout counts from the first cycle that found the leader's server down,
    /// not from the latest.
    @Test func primaryDowntimeCountsFromItsFirstCycle() {
        var memory = HAMemory()
        memory.record(.postgresDownWhileLeading, now: 10)
        memory.record(.postgresDownWhileLeading, now: 12)
        #expect(memory.primaryDownSince == 10)
        memory.record(.postgresNotDownWhileLeading, now: 13)
        #expect(memory.primaryDownSince == nil)
    }
}
