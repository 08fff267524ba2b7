import Testing
import StazCore
import StazConfig
@testable import StazHA

/// Scheduled switchover and restart (Patroni's `Ha.should_run_scheduled_action`), the
/// pre_promote backoff, cascading replication (`replicatefrom`) and switchover in pause.
@Suite("HA decide: scheduled actions, pre_promote, replicatefrom, pause operations")
struct OperationsTests {
    static let threeNodes = ["node1", "node2", "node3"]
    static let stay = "no action. I am (node1), the leader with the lock"
    static let following = "no action. I am (node2), a secondary, and following a leader (node1)"
    static let wallClock = 1_700_000_000.0
    static let at = "2023-11-14T22:18:20+00:00"

    static func scheduled(from: String = "node1", to: String? = "node2") -> ClusterView {
        cluster(leader: "node1", members: threeNodes,
                failover: FailoverRequest(leader: from, candidate: to, scheduledAt: at), optime: baseLSN)
    }

    static func leaderInput(_ view: ClusterView, scheduledAt: Double?, settings s: DynamicSettings = settings()) -> HAInput {
        var i = input("node1", view, PG.primary(), peers: [Peer.replica("node2"), Peer.replica("node3")], settings: s)
        i.wallClock = wallClock
        i.scheduledFailoverAt = scheduledAt
        return i
    }

    static let scheduledSwitchoverCases: [HACase] = [
        HACase("scheduled switchover far ahead: wait, keep the key",
               leaderInput(scheduled(), scheduledAt: wallClock + 300),
               steps: [updateLock], message: stay,
               logs: ["Awaiting failover at \(at) (in 300 seconds)"]),
        HACase("scheduled switchover within loop_wait: sleep until the moment, then demote",
               leaderInput(scheduled(), scheduledAt: wallClock + 4),
               steps: [updateLock, .sleep(4), .awaitStreaming(members: ["node2"], timeout: 5), .demote(.graceful)], message: "switchover: demoting myself",
               logs: ["Manual scheduled failover at \(at)"]),
        HACase("scheduled switchover slightly in the past (< 1.5 loop_wait): run now",
               leaderInput(scheduled(), scheduledAt: wallClock - 10),
               steps: [updateLock, .sleep(0), .awaitStreaming(members: ["node2"], timeout: 5), .demote(.graceful)], message: "switchover: demoting myself"),
        HACase("stale scheduled switchover (> 1.5 loop_wait ago): clean up, stay leader",
               leaderInput(scheduled(), scheduledAt: wallClock - 16),
               steps: [updateLock, .clearFailover], message: stay,
               logs: ["Found a stale failover value, cleaning up: \(at)"]),
        HACase("unparsable scheduled_at: clean up",
               leaderInput(scheduled(), scheduledAt: Optional<Double>.none),
               steps: [updateLock, .clearFailover], message: stay,
               logs: ["Incorrect value of scheduled_at: \(at)"]),
        HACase("scheduled switchover in pause: nothing happens, the key stays",
               leaderInput(scheduled(), scheduledAt: wallClock + 1, settings: paused),
               steps: [updateLock], message: "PAUSE: " + stay, logs: []),
        HACase("scheduled switchover due, but the candidate is unreachable: clear and stay",
               {
                   var i = leaderInput(scheduled(), scheduledAt: wallClock)
                   i.peers = [Peer.unreachable("node2"), Peer.replica("node3")]
                   return i
               }(),
               steps: [updateLock, .sleep(0), .clearFailover], message: stay),
    ]

    @Test(arguments: scheduledSwitchoverCases)
    func scheduledSwitchover(_ row: HACase) { row.check() }

    static func restartAt(_ offset: Double, role: MemberRole? = nil, pending: Bool = false, startTime: String? = nil) -> ScheduledRestart {
        ScheduledRestart(at: wallClock + offset, atText: at, postmasterStartTime: startTime,
                         conditions: RestartConditions(role: role, requirePendingRestart: pending, timeout: 30))
    }

    static func withRestart(_ i: HAInput, _ restart: ScheduledRestart, pg: PostgresObservation? = nil) -> HAInput {
        var i = i
        i.wallClock = wallClock
        i.scheduledRestart = restart
        if let pg { i.postgres = pg }
        return i
    }

    static var leaderHere: HAInput { input("node1", cluster(leader: "node1", members: threeNodes), PG.primary()) }
    static var replicaHere: HAInput { input("node2", cluster(leader: "node1", members: threeNodes), PG.replica()) }
    static var startedAtT1: PostgresObservation {
        var pg = PG.primary()
        pg.postmasterStartTime = "2023-11-14 20:00:00.000000+00:00"
        return pg
    }

    static let scheduledRestartCases: [HACase] = [
        HACase("scheduled restart far ahead: wait",
               withRestart(leaderHere, restartAt(120)),
               steps: [updateLock], message: stay, logs: ["Awaiting restart at \(at) (in 120 seconds)"]),
        HACase("scheduled restart due on the leader: restart in the background, keep the lock",
               withRestart(leaderHere, restartAt(2)),
               steps: [updateLock, .sleep(2), .cancelScheduledRestart, .restart(timeout: 30)], message: "restart initiated"),
        HACase("scheduled restart due on a replica",
               withRestart(replicaHere, restartAt(0)),
               steps: [.follow(leader: "node1"), .sleep(0), .cancelScheduledRestart, .restart(timeout: 30)],
               message: "restart initiated"),
        HACase("scheduled restart for role replica on the primary: conditions not met, cancelled",
               withRestart(leaderHere, restartAt(0, role: .replica)),
               steps: [updateLock, .sleep(0), .cancelScheduledRestart], message: stay,
               logs: ["Manual scheduled restart at \(at)", "not proceeding with the restart: host role mismatch",
                      "Scheduled restart: restart conditions are not satisfied"]),
        HACase("scheduled restart requiring pending_restart without one: cancelled",
               withRestart(leaderHere, restartAt(0, pending: true)),
               steps: [updateLock, .sleep(0), .cancelScheduledRestart], message: stay),
        HACase("stale scheduled restart: cleaned up",
               withRestart(leaderHere, restartAt(-60)),
               steps: [updateLock, .cancelScheduledRestart], message: stay,
               logs: ["Found a stale restart value, cleaning up: \(at)"]),
        HACase("postmaster restarted since scheduling: cancelled",
               withRestart(leaderHere, restartAt(0, startTime: "2023-11-14 19:00:00.000000+00:00"), pg: startedAtT1),
               steps: [updateLock, .cancelScheduledRestart], message: stay),
        HACase("scheduled restart while paused: not run, not cancelled",
               {
                   var i = withRestart(leaderHere, restartAt(0))
                   i.settings = paused
                   return i
               }(),
               steps: [updateLock], message: "PAUSE: " + stay),
        HACase("scheduled restart while losing the lock: nothing but the demotion",
               withRestart(leaderHere, restartAt(0)), .lockNotUpdated,
               steps: [updateLock, .demote(.immediateNoLock)], message: "demoted self because failed to update leader lock in DCS"),
    ]

    @Test(arguments: scheduledRestartCases)
    func scheduledRestart(_ row: HACase) { row.check() }

    /// Steady memory with `event` recorded `secondsAgo` before the cases' clock (1000).
    static func memory(after event: HAEvent, secondsAgo: Double) -> HAMemory {
        var m = Memory.steady
        m.record(event, now: 1000 - secondsAgo)
        return m
    }

    static func failedPrePromote(secondsAgo: Double) -> HAMemory { memory(after: .prePromoteFailed, secondsAgo: secondsAgo) }

    static let prePromoteCases: [HACase] = [
        HACase("pre_promote failed: release the lock instead of promoting",
               input("node2", cluster(leader: "node2", members: threeNodes), PG.replica(), memory: failedPrePromote(secondsAgo: 1)),
               steps: [updateLock, .releaseLock], message: "Promotion cancelled because the pre-promote script failed"),
        HACase("pre_promote failed within ttl: do not race for the lock",
               input("node2", cluster(members: threeNodes, optime: baseLSN), PG.replica(),
                     peers: [Peer.replica("node3", lsn: baseLSN - MiB)], memory: failedPrePromote(secondsAgo: 5)),
               steps: [.follow(leader: nil)], message: "following a different leader because i am not the healthiest node"),
        HACase("pre_promote failure older than ttl: race and promote again",
               input("node2", cluster(members: threeNodes, optime: baseLSN), PG.replica(),
                     peers: [Peer.replica("node3", lsn: baseLSN - MiB)], memory: failedPrePromote(secondsAgo: 31)),
               steps: [acquireLock, .prepareMemberSlots, .promote, .recordPromotion], message: "promoted self to leader by acquiring session lock"),
    ]

    @Test(arguments: prePromoteCases)
    func prePromote(_ row: HACase) { row.check() }

    static func releasedLock(secondsAgo: Double) -> HAMemory { memory(after: .lockReleased, secondsAgo: secondsAgo) }

    /// A crashed primary that gave its lock up to fail over runs again as a replica a moment
    /// later, level with the others: it must leave them the race (Patroni's `demote` sleeps 2 s
    /// after releasing), or it takes the lock straight back.
    static let afterReleasingTheLockCases: [HACase] = [
        HACase("lock released 1 s ago: leave the race to the others",
               input("node2", cluster(members: threeNodes, optime: baseLSN), PG.replica(),
                     peers: [Peer.replica("node3", lsn: baseLSN)], memory: releasedLock(secondsAgo: 1)),
               steps: [.follow(leader: nil)], message: "following a different leader because i am not the healthiest node"),
        HACase("lock released 3 s ago: race again",
               input("node2", cluster(members: threeNodes, optime: baseLSN), PG.replica(),
                     peers: [Peer.replica("node3", lsn: baseLSN - MiB)], memory: releasedLock(secondsAgo: 3)),
               steps: [acquireLock, .prepareMemberSlots, .promote, .recordPromotion], message: "promoted self to leader by acquiring session lock"),
    ]

    @Test(arguments: afterReleasingTheLockCases)
    func afterReleasingTheLock(_ row: HACase) { row.check() }

    @Test func releasingTheLockIsRemembered() {
        var memory = HAMemory()
        memory.record(.lockReleased, now: 12)
        #expect(memory.lockReleasedAt == 12)
    }

    static func cascading(_ source: String?, me: String = "node3", members: [String] = threeNodes) -> HAInput {
        var identity = node(me)
        identity.replicateFrom = source
        return input(identity, cluster(leader: "node1", members: members), PG.replica())
    }

    static let replicateFromCases: [HACase] = [
        HACase("replicatefrom names a member: follow it instead of the leader",
               cascading("node2"), steps: [.follow(leader: "node2")],
               message: "no action. I am (node3), a secondary, and following a leader (node1)"),
        HACase("replicatefrom names a member without a member key: follow the leader",
               cascading("node9"), steps: [.follow(leader: "node1")],
               message: "no action. I am (node3), a secondary, and following a leader (node1)"),
        HACase("replicatefrom names myself: follow the leader",
               cascading("node3"), steps: [.follow(leader: "node1")],
               message: "no action. I am (node3), a secondary, and following a leader (node1)"),
    ]

    @Test(arguments: replicateFromCases)
    func replicateFrom(_ row: HACase) { row.check() }

    static func pausedRace(_ me: String, request: FailoverRequest) -> HAInput {
        input(me, cluster(members: threeNodes, failover: request, optime: baseLSN), PG.replica(),
              peers: [Peer.replica("node1"), Peer.replica("node3")], settings: paused)
    }

    static let pauseOperationsCases: [HACase] = [
        HACase("pause: the named candidate takes the released lock and promotes",
               pausedRace("node2", request: failoverKey(from: "node1", to: "node2")),
               steps: [acquireLock, .clearFailover, .prepareMemberSlots, .promote, .recordPromotion],
               message: "PAUSE: promoted self to leader by acquiring session lock"),
        HACase("pause: other replicas never race, even with a failover key",
               pausedRace("node3", request: failoverKey(from: "node1", to: "node2")),
               steps: [], message: "PAUSE: no action. I am (node3)"),
        HACase("pause: switchover to a named candidate demotes the leader",
               input("node1", cluster(leader: "node1", members: threeNodes, failover: failoverKey(from: "node1", to: "node2"), optime: baseLSN),
                     PG.primary(), peers: [Peer.replica("node2")], settings: paused),
               steps: [updateLock, .awaitStreaming(members: ["node2"], timeout: 5), .demote(.graceful)], message: "PAUSE: switchover: demoting myself"),
        HACase("pause: switchover without candidate is refused and cleared",
               input("node1", cluster(leader: "node1", members: threeNodes, failover: failoverKey(from: "node1"), optime: baseLSN),
                     PG.primary(), peers: [Peer.replica("node2")], settings: paused),
               steps: [updateLock, .clearFailover], message: "PAUSE: " + stay,
               logs: ["Switchover is possible only to a specific candidate in a paused state"]),
        HACase("pause: a running replica is repointed at the new leader (no restart)",
               input("node2", cluster(leader: "node1", members: threeNodes), PG.replica(), settings: paused),
               steps: [.follow(leader: "node1")], message: "PAUSE: " + following),
    ]

    @Test(arguments: pauseOperationsCases)
    func pauseOperations(_ row: HACase) { row.check() }

    @Test func restartConditions() {
        let primary15 = (role: MemberRole.primary, version: 150002)
        #expect(RestartConditions().blocker(currentRole: primary15.role, serverVersion: primary15.version, pendingRestart: false) == nil)
        #expect(RestartConditions(role: .replica).blocker(currentRole: .primary, serverVersion: 150002, pendingRestart: false) == "host role mismatch")
        #expect(RestartConditions(postgresVersion: 150002).blocker(currentRole: .primary, serverVersion: 150002, pendingRestart: false) == "postgres version mismatch")
        #expect(RestartConditions(postgresVersion: 150003).blocker(currentRole: .primary, serverVersion: 150002, pendingRestart: false) == nil)
        #expect(RestartConditions(requirePendingRestart: true).blocker(currentRole: .replica, serverVersion: 150002, pendingRestart: false) == "pending restart flag is not set")
        #expect(RestartConditions(requirePendingRestart: true).blocker(currentRole: .replica, serverVersion: 150002, pendingRestart: true) == nil)
    }
}
