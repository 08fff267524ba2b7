import Foundation
import StazCore
import Testing
@testable import StazDCS

/// waitForChange (v3 watch cache, v2 long poll) and endpoint failover.
@Suite("Watch and failover")
struct WatchAndFailoverTests {
    /// Makes sure the waiting client's view is current (and, for v3, its watch is live).
    static func prime(_ client: DCSClient) async throws {
        _ = try await client.loadCluster(fresh: false)
        if let v3 = client as? EtcdV3Client {
            let live = try await waitUntil(timeout: .seconds(5)) { await v3.cache.isLive }
            #expect(live != nil, "watch did not become live")
            _ = try await client.loadCluster(fresh: false)
        }
    }

    @Test("deleting the leader key wakes waitForChange; a leader refresh does not", arguments: Backend.allCases)
    func leaderDeleteWakes(backend: Backend) async throws {
        try await withCluster(backend) { cluster async throws in
            let a = cluster.client("node-a"), b = cluster.client("node-b")
            #expect(try await a.attemptToAcquireLeader())
            try await Self.prime(b)
            let start = ContinuousClock.now
            async let woken = b.waitForChange(timeout: .seconds(10))
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await a.updateLeader() != nil)          // heartbeat: same value, no wake-up
            #expect(try await a.refreshSession(holdingLeader: true) != nil)
            try await Task.sleep(for: .milliseconds(700))
            #expect(try await a.deleteLeader())
            let result = await woken
            let elapsed = ContinuousClock.now - start
            #expect(result == true)
            #expect(elapsed >= .milliseconds(900), "woke too early (\(elapsed)): the refresh counted as a change")
            #expect(elapsed < .seconds(4), "woke only after \(elapsed)")
        }
    }

    @Test("waitForChange sleeps the full timeout when nothing changes", arguments: Backend.allCases)
    func timeoutWithoutChange(backend: Backend) async throws {
        try await withCluster(backend) { cluster async throws in
            let a = cluster.client("node-a"), b = cluster.client("node-b")
            #expect(try await a.attemptToAcquireLeader())
            #expect(try await a.touchMember(object(["role": "replica"])))
            try await Self.prime(b)
            let start = ContinuousClock.now
            // An update of an existing member key is not a reason to wake the HA loop.
            async let woken = b.waitForChange(timeout: .milliseconds(1500))
            #expect(try await a.touchMember(object(["role": "primary"])))
            #expect(await woken == false)
            #expect(ContinuousClock.now - start >= .milliseconds(1400))
        }
    }

    @Test("a leader change during a cycle is known before the next wait", arguments: Backend.allCases)
    func leaderChangeKnownMidCycle(backend: Backend) async throws {
        try await withCluster(backend) { cluster async throws in
            let a = cluster.client("node-a"), b = cluster.client("node-b")
            #expect(try await a.attemptToAcquireLeader())
            try await Self.prime(b)
            #expect(await b.changedSinceLastRead() == false)
            #expect(try await a.updateLeader() != nil)  // a refresh is not a change
            try await Task.sleep(for: .milliseconds(500))
            #expect(await b.changedSinceLastRead() == false)
            #expect(try await a.deleteLeader())
            // No waitForChange in between: the HA loop asks this while it observes PostgreSQL.
            let seen = try await waitUntil(timeout: .seconds(5)) { await b.changedSinceLastRead() }
            #expect(seen != nil, "the change was not seen without a wait")
            _ = try await b.loadCluster(fresh: false)
            #expect(await b.changedSinceLastRead() == false, "a read did not consume the change")
        }
    }

    @Test("etcd v3: a member joining wakes the loop (the leader creates its slot at once)")
    func v3NewMemberWakes() async throws {
        try await withCluster(.v3) { cluster async throws in
            let a = cluster.client("node-a"), b = cluster.client("node-b")
            try await Self.prime(b)
            let start = ContinuousClock.now
            async let woken = b.waitForChange(timeout: .seconds(10))
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await a.touchMember(object(["role": "replica"])))
            #expect(await woken == true)
            // Woken by the change, not by the 10 s timeout (the bound allows a loaded machine).
            #expect(ContinuousClock.now - start < .seconds(6))
        }
    }

    @Test("etcd v3: config change wakes, and the cache sees other clients' writes")
    func v3ConfigWakesAndCacheFollows() async throws {
        try await withCluster(.v3) { cluster async throws in
            let a = cluster.client("node-a"), b = cluster.client("node-b")
            try await Self.prime(b)
            let start = ContinuousClock.now
            async let woken = b.waitForChange(timeout: .seconds(10))
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await a.setConfig(["ttl": 25], version: nil))
            #expect(await woken == true)
            // Woken by the change, not by the 10 s timeout (the bound allows a loaded machine).
            #expect(ContinuousClock.now - start < .seconds(6))
            try await a.setStatus(ClusterStatus(optime: 777).json)
            let seen = try await waitUntil(timeout: .seconds(3)) {
                try await b.loadCluster(fresh: false).status.optime == 777
            }
            #expect(seen != nil)
            #expect(try await b.loadCluster(fresh: false).config?.data["ttl"]?.intValue == 25)
        }
    }

    @Test("a dead first endpoint fails over to the second", arguments: Backend.allCases)
    func endpointFailover(backend: Backend) async throws {
        try await withCluster(backend) { cluster async throws in
            let a = cluster.client("node-a", retryTimeout: 12,
                                   endpoints: [EtcdTestServer.deadEndpoint, EtcdTestServer.endpoint])
            let start = ContinuousClock.now
            #expect(try await a.attemptToAcquireLeader())
            #expect(try await a.touchMember(object(["role": "primary"])))
            let view = try await a.loadCluster(fresh: true)
            #expect(view.leader?.name == "node-a")
            #expect(view.member(named: "node-a") != nil)
            // Waiting out the dead endpoint would cost the retry_timeout (12 s) at least once.
            #expect(ContinuousClock.now - start < .seconds(8))
        }
    }

    @Test("no reachable endpoint: DCSError.unreachable within retry_timeout", arguments: Backend.allCases)
    func unreachable(backend: Backend) async throws {
        try await withCluster(backend) { cluster async throws in
            let a = cluster.client("node-a", retryTimeout: 1, endpoints: [EtcdTestServer.deadEndpoint])
            let start = ContinuousClock.now
            await #expect {
                _ = try await a.loadCluster(fresh: true)
            } throws: { error in
                if case DCSError.unreachable = error { return true }
                return false
            }
            #expect(ContinuousClock.now - start < .milliseconds(2500))
            #expect(await a.waitForChange(timeout: .milliseconds(300)) == false)
        }
    }
}
