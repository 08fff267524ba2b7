import Foundation
import StazCore
import Testing
@testable import StazDCS

/// The leader lock protocol against a real etcd, for both APIs.
@Suite("Leader lock")
struct LeaderLockTests {
    @Test("only one of two racing clients acquires the leader key", arguments: Backend.allCases)
    func acquireRace(backend: Backend) async throws {
        try await withCluster(backend) { cluster async throws in
            let a = cluster.client("node-a"), b = cluster.client("node-b")
            async let wonA = a.attemptToAcquireLeader()
            async let wonB = b.attemptToAcquireLeader()
            let results = try await [wonA, wonB]
            #expect(results.filter { $0 }.count == 1)
            let winner = results[0] ? "node-a" : "node-b"
            let view = try await cluster.client(nil).loadCluster(fresh: true)
            #expect(view.leader?.name == winner)
            // A second attempt by the loser still fails while the key exists.
            #expect(try await (results[0] ? b : a).attemptToAcquireLeader() == false)
        }
    }

    @Test("etcd v3: racing for a key that already names us on our lease is a won race")
    func acquiringOurOwnKeyWins() async throws {
        // A cluster view older than our own write (a range read answered late after an etcd
        // freeze) once made a leader race for its own key, lose, and demote.
        try await withCluster(.v3) { cluster async throws in
            let a = cluster.client("node-a"), b = cluster.client("node-b")
            #expect(try await a.attemptToAcquireLeader())
            #expect(try await a.attemptToAcquireLeader())
            #expect(try await b.attemptToAcquireLeader() == false)
            #expect(try await cluster.client(nil).loadCluster(fresh: true).leader?.name == "node-a")
            #expect(try await a.updateLeader() != nil)
        }
    }

    @Test("update and delete succeed only for the holder", arguments: Backend.allCases)
    func onlyHolderUpdatesAndDeletes(backend: Backend) async throws {
        try await withCluster(backend) { cluster async throws in
            let a = cluster.client("node-a"), b = cluster.client("node-b"), reader = cluster.client(nil)
            #expect(try await a.attemptToAcquireLeader())
            #expect(try await b.updateLeader() == nil)
            #expect(try await b.deleteLeader() == false)
            #expect(try await reader.loadCluster(fresh: true).leader?.name == "node-a")
            #expect(try await a.updateLeader() != nil)
            #expect(try await a.deleteLeader())
            #expect(try await reader.loadCluster(fresh: true).leader == nil)
            #expect(try await b.attemptToAcquireLeader())
            #expect(try await reader.loadCluster(fresh: true).leader?.name == "node-b")
        }
    }

    @Test("a renewal within the renewal interval answers updateLeader; an older one does not", arguments: Backend.allCases)
    func updateReusesARecentRenewal(backend: Backend) async throws {
        try await withCluster(backend) { cluster async throws in
            let a = cluster.client("node-a", ttl: 4, loopWait: 1, retryTimeout: 1)
            #expect(try await a.attemptToAcquireLeader())
            let renewed = try #require(try await a.refreshSession(holdingLeader: true))
            let asked = ContinuousClock.now
            let reused = try #require(try await a.updateLeader())
            // The lease keeper's renewal is the confirmation: nothing was sent after `asked`.
            #expect(reused >= renewed && reused <= asked, "\(renewed) \(reused) \(asked)")
            try await Task.sleep(for: LeaseRenewal.confirmationWindow(ttl: 4, loopWait: 1) + .milliseconds(100))
            let later = ContinuousClock.now
            let fresh = try #require(try await a.updateLeader())
            #expect(fresh >= later, "a renewal older than the confirmation window must not confirm the lock")
        }
    }

    @Test("the leader key expires after ttl when its holder stops refreshing", arguments: Backend.allCases)
    func leaderExpires(backend: Backend) async throws {
        try await withCluster(backend) { cluster async throws in
            let a = cluster.client("node-a", ttl: 3, loopWait: 1, retryTimeout: 1)
            let reader = cluster.client(nil)
            // The lease is granted (or last refreshed) by one of the two requests below, so it
            // cannot expire before `sent + ttl`; timing from after them undercounted by however
            // long they took on a busy machine.
            let sent = ContinuousClock.now
            #expect(try await a.touchMember(object(["role": "primary"])))
            #expect(try await a.attemptToAcquireLeader())
            await a.close()   // a crash: nothing is deleted, nothing refreshed
            let gone = try await waitUntil(timeout: .seconds(9)) {
                try await reader.loadCluster(fresh: true).leader == nil
            }
            let elapsed = ContinuousClock.now - sent
            #expect(gone != nil, "leader key still present \(elapsed) after acquisition with ttl 3")
            #expect(elapsed >= .milliseconds(2500), "leader key vanished \(elapsed) after the lease was asked for, under its ttl of 3 s")
            #expect(try await reader.loadCluster(fresh: true).member(named: "node-a") == nil)
        }
    }

    @Test("takeLeader overwrites, refreshSession confirms only a held key", arguments: Backend.allCases)
    func takeAndRefresh(backend: Backend) async throws {
        try await withCluster(backend) { cluster async throws in
            let a = cluster.client("node-a"), b = cluster.client("node-b")
            #expect(try await a.attemptToAcquireLeader())
            #expect(try await b.takeLeader())
            let view = try await cluster.client(nil).loadCluster(fresh: true)
            #expect(view.leader?.name == "node-b")
            let before = ContinuousClock.now
            let confirmed = try await b.refreshSession(holdingLeader: true)
            #expect(confirmed != nil && confirmed! >= before)
            #expect(try await a.refreshSession(holdingLeader: true) == nil)
            #expect(try await a.refreshSession(holdingLeader: false) != nil)
        }
    }

    @Test("a read-only client never takes part in the lock", arguments: Backend.allCases)
    func readOnlyClient(backend: Backend) async throws {
        try await withCluster(backend) { cluster async throws in
            let reader = cluster.client(nil)
            #expect(try await reader.attemptToAcquireLeader() == false)
            #expect(try await reader.touchMember(object(["role": "replica"])) == false)
            #expect(try await reader.refreshSession(holdingLeader: false) == nil)
            #expect(try await reader.loadCluster(fresh: true).leader == nil)
            #expect(try await reader.loadCluster(fresh: true).members.isEmpty)
        }
    }

    @Test("etcd v3: losing the lease of the leader key is reported, the lock is re-taken by updateLeader")
    func v3LeaseLoss() async throws {
        try await withCluster(.v3) { cluster async throws in
            let a = try #require(cluster.client("node-a") as? EtcdV3Client)
            #expect(try await a.attemptToAcquireLeader())
            let lease = try #require(try await a.loadCluster(fresh: true).leader?.session)
            #expect(try await a.loadCluster(fresh: true).leader?.session == lease)
            // Revoke the lease behind our back: the leader key goes with it.
            let revoked = try await a.call("/v3/lease/revoke", ["ID": .string(lease)], "revoke")
            #expect(revoked["header"] != nil)
            #expect(try await a.refreshSession(holdingLeader: true) == nil)
            #expect(try await a.loadCluster(fresh: true).leader == nil)
            // Patroni's update: nobody holds the key, so it is created again with the new lease.
            #expect(try await a.updateLeader() != nil)
            let leader = try #require(try await a.loadCluster(fresh: true).leader)
            #expect(leader.name == "node-a" && leader.session != lease && leader.session != nil)
            #expect(try await a.refreshSession(holdingLeader: true) != nil)
        }
    }
}
