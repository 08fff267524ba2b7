import Logging
import StazAPI
import StazConfig
import StazCore
import StazDCS
import Testing
@testable import StazDaemon

/// The daemon half of failsafe mode: what a member promises by accepting `POST /failsafe`, and
/// how the leader's fence deadline follows failsafe confirmations.
@Suite("Daemon: failsafe mode")
struct FailsafeDaemonTests {
    static let request = FailsafeRequest(name: "node1", connURL: "postgres://10.0.0.1:5432/postgres",
                                         apiURL: "http://10.0.0.1:8008/patroni")

    @Test func replicaAcceptsAndRemembersTheLeaderForTTL() {
        let memory = FailsafeMemory()
        memory.update(ttl: 5, leading: false, walPosition: LSN(0x300_0000))
        let t0 = ContinuousClock.now
        #expect(memory.receive(Self.request, now: t0) == .accepted(lsn: 0x300_0000))
        #expect(memory.leader(now: t0 + .seconds(4.9))?.name == "node1")
        #expect(memory.leader(now: t0 + .seconds(4.9))?.connURL == "postgres://10.0.0.1:5432/postgres")
        #expect(memory.leader(now: t0 + .seconds(5)) == nil, "forgotten after ttl")
    }

    @Test func aLeadingMemberRefuses() {
        let memory = FailsafeMemory()
        memory.update(ttl: 5, leading: true, walPosition: LSN(1))
        #expect(memory.receive(Self.request) == .runningAsLeader)
        #expect(memory.leader() == nil, "a refused request is not remembered")
    }

    /// Accepting and racing exclude each other: this is what lets the leader count on an
    /// "Accepted" for `ttl` from the moment it sent the request.
    @Test func acceptingAndRacingExcludeEachOther() {
        let memory = FailsafeMemory()
        memory.update(ttl: 5, leading: false, walPosition: nil)
        let t0 = ContinuousClock.now
        #expect(memory.receive(Self.request, now: t0) == .accepted(lsn: nil))
        #expect(!memory.claimLeadership(now: t0 + .seconds(1)), "a leader confirmed itself less than ttl ago")
        #expect(memory.claimLeadership(now: t0 + .seconds(6)))
        #expect(memory.receive(Self.request, now: t0 + .seconds(6)) == .runningAsLeader, "racing: refuse")
        memory.endClaim(leading: false)
        #expect(memory.receive(Self.request, now: t0 + .seconds(7)) == .accepted(lsn: nil), "race lost: follow again")
        #expect(memory.claimLeadership(now: t0 + .seconds(20)))
        memory.endClaim(leading: true)
        #expect(memory.receive(Self.request, now: t0 + .seconds(21)) == .runningAsLeader, "race won: leading")
    }

    @Test func endpointURLAndCredentials() {
        #expect(memberEndpointURL(apiURL: "https://10.0.0.2:8008/patroni", endpoint: "failsafe") == "https://10.0.0.2:8008/failsafe")
        #expect(memberEndpointURL(apiURL: "http://h:1", endpoint: "failsafe") == "http://h:1/failsafe")
        var config = StazConfiguration(scope: "s", name: "n", restapi: RestAPISection(listen: "127.0.0.1:8008", connectAddress: "127.0.0.1:8008"),
                                       postgresql: PostgreSQLSection(listen: "127.0.0.1:5432", connectAddress: "127.0.0.1:5432", dataDir: "/d",
                                                                     pgpass: "/p", superuser: Credentials(username: "postgres"),
                                                                     replication: Credentials(username: "rep")))
        #expect(FailsafeCaller.authorization(config) == nil)
        config.restapi.username = "api"; config.restapi.password = "secret"
        #expect(FailsafeCaller.authorization(config) == "Basic YXBpOnNlY3JldA==")
        config.ctl.username = "ctl"; config.ctl.password = "other"
        #expect(FailsafeCaller.authorization(config) == "Basic Y3RsOm90aGVy", "ctl credentials first, as patronictl")
    }

    @Test func failsafeConfirmationsExtendTheFenceDeadlineOnlyWhileLeading() async {
        let keeper = LeaseKeeper(dcs: UnreachableDCS(), ttl: 5, loopWait: 1, logger: Logger(label: "test"),
                                 onLeaseChange: { _ in }, fence: {})
        let t0 = ContinuousClock.now
        // Not leading: a confirmation must not make us a leader.
        await keeper.confirmByFailsafe(sentAt: t0)
        #expect(await keeper.leaderValidUntil == nil)
        await keeper.setHoldingLeader(true, confirmedAt: t0)
        let margin = await keeper.fenceMargin
        #expect(await keeper.leaderValidUntil == t0 + .milliseconds(Int64((5 - margin) * 1000)))
        await keeper.confirmByFailsafe(sentAt: t0 + .seconds(3))
        #expect(await keeper.leaderValidUntil == t0 + .seconds(3) + .milliseconds(Int64((5 - margin) * 1000)))
        // An older round never shortens it.
        await keeper.confirmByFailsafe(sentAt: t0 + .seconds(1))
        #expect(await keeper.leaderValidUntil == t0 + .seconds(3) + .milliseconds(Int64((5 - margin) * 1000)))
        // Giving up the lock forgets the confirmations; leading again starts from the lease.
        await keeper.setHoldingLeader(false)
        await keeper.setHoldingLeader(true)
        #expect(await keeper.leaderValidUntil == t0 + .milliseconds(Int64((5 - margin) * 1000)))
    }

    /// The decision's `lockInDoubt`: only while leading, when a renewal is overdue (older than
    /// one renewal interval plus its retry) or the last one failed. At ttl 60 / loop_wait 30 a
    /// renewal is overdue after 37.5 s and the fence comes 59 s after a confirmation, so a test
    /// process stalled for seconds still sees the failed renewal, not the fence.
    @Test func theLockIsInDoubtWhenARenewalIsOverdueOrFailed() async throws {
        let keeper = LeaseKeeper(dcs: UnreachableDCS(), ttl: 60, loopWait: 30, logger: Logger(label: "test"),
                                 onLeaseChange: { _ in }, fence: {})
        let now = ContinuousClock.now
        await keeper.setHoldingLeader(true, confirmedAt: now - .seconds(40))
        #expect(await keeper.lockInDoubt(updateMayTake: .seconds(11)))
        await keeper.confirmByFailsafe(sentAt: now)
        #expect(await !keeper.lockInDoubt(updateMayTake: .seconds(11)))
        await keeper.setHoldingLeader(false)
        await keeper.setHoldingLeader(true, confirmedAt: ContinuousClock.now)
        #expect(await !keeper.lockInDoubt(updateMayTake: .seconds(11)))
        // Its own renewal fails (the DCS is unreachable): in doubt long before one is overdue.
        let running = Task { await keeper.run() }
        defer { running.cancel() }
        let until = ContinuousClock.now + .seconds(30)
        while await !keeper.lockInDoubt(updateMayTake: .seconds(11)), ContinuousClock.now < until { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await keeper.lockInDoubt(updateMayTake: .seconds(11)))
        #expect(await !keeper.wasFenced())
        await keeper.setHoldingLeader(false)
        #expect(await !keeper.lockInDoubt(updateMayTake: .seconds(11)))
    }

    /// An update that starts while a renewal is unanswered but not yet overdue may wait its
    /// whole `retry_timeout`: in doubt once the fence deadline is nearer than that.
    @Test func theLockIsInDoubtWhenTheDeadlineIsNearerThanAnUpdateMayTake() async {
        let keeper = LeaseKeeper(dcs: UnreachableDCS(), ttl: 8, loopWait: 4, logger: Logger(label: "test"),
                                 onLeaseChange: { _ in }, fence: {})
        // Confirmed 4.5 s ago: not overdue (4 s + 1 s), fenced 7 s after it (margin 1 s).
        await keeper.setHoldingLeader(true, confirmedAt: ContinuousClock.now - .milliseconds(4500))
        #expect(await keeper.lockInDoubt(updateMayTake: .seconds(3)), "2.5 s left, an update may take 3")
        #expect(await !keeper.lockInDoubt(updateMayTake: .seconds(2)), "2.5 s left, an update takes at most 2")
        await keeper.setHoldingLeader(true, confirmedAt: ContinuousClock.now)
        #expect(await !keeper.lockInDoubt(updateMayTake: .seconds(3)))
    }

    /// The simulation's case: back from a DCS outage, a leader running on failsafe rounds
    /// finds its lock expired and stops leading while PostgreSQL still takes writes; a loop
    /// that hangs right then must still leave a deadline the guard enforces.
    @Test func losingTheLockKeepsTheDeadlineWhileAPrimaryMayRun() async {
        let keeper = LeaseKeeper(dcs: UnreachableDCS(), ttl: 5, loopWait: 1, logger: Logger(label: "test"),
                                 onLeaseChange: { _ in }, fence: {})
        let t0 = ContinuousClock.now
        await keeper.setHoldingLeader(true, confirmedAt: t0)
        await keeper.confirmByFailsafe(sentAt: t0 + .seconds(3))
        let deadline = await keeper.fenceDeadline
        #expect(deadline != nil)
        await keeper.setHoldingLeader(false, primaryMayRun: true)
        #expect(await keeper.fenceDeadline == deadline, "still armed")
        #expect(await keeper.leaderValidUntil == nil, "yet no longer leading")
        await keeper.primaryStopped()
        #expect(await keeper.fenceDeadline == nil, "nothing left to fence once the server stopped")

        // Without a primary that may run (a released lock, a standby), nothing stays armed.
        await keeper.setHoldingLeader(true, confirmedAt: t0)
        await keeper.setHoldingLeader(false)
        #expect(await keeper.fenceDeadline == nil)
    }
}

/// A DCS that never answers (the keeper under test only compares instants).
final class UnreachableDCS: DCSClient {
    struct Down: Error {}
    func loadCluster(fresh: Bool) async throws -> ClusterView { throw Down() }
    func touchMember(_ data: JSONObject) async throws -> Bool { throw Down() }
    func attemptToAcquireLeader() async throws -> Bool { throw Down() }
    func updateLeader() async throws -> ContinuousClock.Instant? { throw Down() }
    func deleteLeader() async throws -> Bool { throw Down() }
    func takeLeader() async throws -> Bool { throw Down() }
    func initialize(sysid: String, createNew: Bool) async throws -> Bool { throw Down() }
    func cancelInitialization() async throws { throw Down() }
    func setConfig(_ value: JSONValue, version: String?) async throws -> Bool { throw Down() }
    func setFailover(_ value: JSONValue, version: String?) async throws -> Bool { throw Down() }
    func setSync(_ value: JSONValue, version: String?) async throws -> Bool { throw Down() }
    func deleteSync(version: String?) async throws -> Bool { throw Down() }
    func setHistory(_ value: JSONValue) async throws { throw Down() }
    func setStatus(_ value: JSONValue) async throws { throw Down() }
    func setFailsafe(_ value: JSONValue) async throws { throw Down() }
    func deleteCluster() async throws { throw Down() }
    func waitForChange(timeout: Duration) async -> Bool { false }
    func refreshSession(holdingLeader: Bool) async throws -> ContinuousClock.Instant? { throw Down() }
    func keepSessionAlive() async throws { throw Down() }
    func setTimeouts(ttl: Double, loopWait: Double, retryTimeout: Double) async {}
    func close() async {}
}
