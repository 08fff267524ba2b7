import Foundation
import StazCore
import Testing
@testable import StazAPI

/// A postmaster that died since the last HA cycle is not reported running (APIState.live).
struct LiveSnapshotTests {
    @Test func aDeadReplicaIsStopped() {
        var replica = Fixtures.replica()
        replica.postmasterPID = 4242
        let dead = APIState.withoutDeadPostmaster(replica, alive: { _ in false })
        #expect(dead.state == .stopped && dead.role == .replica && dead.xlog == nil && dead.postmasterPID == nil)
        #expect(HealthChecks.statusCode(for: RequestTarget("/replica"), snapshot: dead, now: Fixtures.now) == 503)
        #expect(APIState.withoutDeadPostmaster(replica, alive: { _ in true }) == replica)
    }

    /// /primary follows the lock, as in Patroni (200 until the lock is given up); /health
    /// follows the server.
    @Test func aDeadPrimaryIsDemoted() {
        var leader = Fixtures.leader()
        leader.postmasterPID = 4242
        let dead = APIState.withoutDeadPostmaster(leader, alive: { $0 != 4242 })
        #expect(dead.state == .stopped && dead.role == .demoted)
        #expect(HealthChecks.statusCode(for: RequestTarget("/health"), snapshot: dead, now: Fixtures.now) == 503)
        #expect(HealthChecks.statusCode(for: RequestTarget("/health"), snapshot: leader, now: Fixtures.now) == 200)
    }

    @Test func withoutAPidNothingIsChecked() {
        let replica = Fixtures.replica()
        #expect(APIState.withoutDeadPostmaster(replica, alive: { _ in false }) == replica)
    }

    @Test func theLiveProbeSeesThisProcess() {
        #expect(APIState.processAlive(getpid()))
        #expect(!APIState.processAlive(Int32.max))
    }

    @Test func aNewPostmasterPidIsProbedAtOnce() {
        var replica = Fixtures.replica()
        replica.postmasterPID = Int32.max  // no such process
        let state = APIState(replica)
        #expect(state.live.state == .stopped)
        replica.postmasterPID = getpid()
        state.update { $0 = replica }
        #expect(state.live.state == .running)
    }
}

/// Health-check paths are matched by substring, as in Patroni, on the path's bytes.
struct HealthPathMatchTests {
    @Test(arguments: [
        ("/replica", "replica", true), ("/read-only-sync", "read-only", true), ("/read-only-sync", "sync", true),
        ("/primary", "replica", false), ("/", "health", false), ("/ré/leader", "leader", true),
        ("/lead", "leader", false), ("/standby-leader", "standby-leader", true),
        ("/lleader", "leader", true), ("/x-leader", "leader", true), ("/leade", "leader", false),
        ("", "a", false), ("/x", "", true),
    ])
    func substringOfThePath(_ path: String, _ needle: String, _ expected: Bool) {
        #expect(path.hasBytes(needle) == expected)
    }
}
