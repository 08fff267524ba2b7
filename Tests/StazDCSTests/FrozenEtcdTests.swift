import Foundation
import StazCore
import Testing
@testable import StazDCS

/// etcd stopped with SIGSTOP (accepts connections, never answers): callers must get an error
/// within retry_timeout, and everything must work again once it continues.
@Suite("Frozen etcd", .serialized)
struct FrozenEtcdTests {
    @Test("calls fail within retry_timeout while etcd is frozen and recover after", arguments: Backend.allCases)
    func frozenAndThawed(backend: Backend) async throws {
        try await withCluster(backend, server: .freezable) { cluster async throws in
            let a = cluster.client("node-a", ttl: 15, loopWait: 1, retryTimeout: 2)
            let b = cluster.client("node-b", ttl: 15, loopWait: 1, retryTimeout: 2)
            #expect(try await a.attemptToAcquireLeader())
            try await WatchAndFailoverTests.prime(b)
            try await cluster.server.signal(SIGSTOP)
            // Expectations record failures without throwing, so SIGCONT below always runs.
            var start = ContinuousClock.now
            await #expect(throws: DCSError.self) { _ = try await b.loadCluster(fresh: true) }
            #expect(ContinuousClock.now - start < .milliseconds(3500), "read stalled \(ContinuousClock.now - start)")
            await #expect(throws: DCSError.self) { _ = try await a.refreshSession(holdingLeader: true) }
            start = ContinuousClock.now
            #expect(await b.waitForChange(timeout: .seconds(1)) == false)
            #expect(ContinuousClock.now - start < .seconds(2))
            try await cluster.server.signal(SIGCONT)

            #expect(try await a.refreshSession(holdingLeader: true) != nil)
            try await WatchAndFailoverTests.prime(b)
            #expect(try await b.loadCluster(fresh: false).leader?.name == "node-a")
            let wakeStart = ContinuousClock.now
            async let woken = b.waitForChange(timeout: .seconds(10))
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await a.deleteLeader())
            #expect(await woken == true)
            #expect(ContinuousClock.now - wakeStart < .seconds(4))
        }
    }

    /// The HA loop must learn of an outage as soon as the lease keeper's renewal runs into it:
    /// an earlier renewal, however recent, no longer answers `updateLeader` once a later one
    /// failed (failsafe mode and pause both act on that error).
    @Test("after a failed renewal updateLeader asks etcd itself", arguments: Backend.allCases)
    func failedRenewalIsNotCoveredByAnEarlierOne(backend: Backend) async throws {
        try await withCluster(backend, server: .freezable) { cluster async throws in
            let a = cluster.client("node-a", ttl: 15, loopWait: 1, retryTimeout: 1)
            #expect(try await a.attemptToAcquireLeader())
            let renewed = try #require(try await a.refreshSession(holdingLeader: true))
            let asked = ContinuousClock.now
            let reused = try #require(try await a.updateLeader())
            #expect(reused >= renewed && reused <= asked, "a recent renewal answers at first")
            try await cluster.server.signal(SIGSTOP)
            await #expect(throws: DCSError.self) { _ = try await a.refreshSession(holdingLeader: true) }
            await #expect(throws: DCSError.self) { _ = try await a.updateLeader() }
            try await cluster.server.signal(SIGCONT)
            let fresh = try #require(try await a.updateLeader())
            #expect(fresh > renewed)
        }
    }
}
