import Foundation
import StazCore
import Testing
@testable import StazDCS

/// Member keys, compare-and-set keys, initialize, byte compatibility (checked with etcdctl).
@Suite("Cluster keys")
struct ClusterKeysTests {
    static let memberData: JSONObject = object([
        "conn_url": "postgres://127.0.0.1:5432/postgres", "api_url": "http://127.0.0.1:8008/patroni",
        "state": "running", "role": "primary", "version": "4.1.5", "xlog_location": 50331648, "timeline": 1,
    ])

    @Test("member keys appear in loadCluster with their data", arguments: Backend.allCases)
    func membersAppear(backend: Backend) async throws {
        try await withCluster(backend) { cluster async throws in
            let a = cluster.client("node-a"), b = cluster.client("node-b")
            var replica = Self.memberData
            replica["role"] = "replica"
            #expect(try await a.touchMember(Self.memberData))
            #expect(try await b.touchMember(replica))
            let view = try await cluster.client(nil).loadCluster(fresh: true)
            #expect(view.members.map(\.name) == ["node-a", "node-b"])
            #expect(view.member(named: "node-a")?.data == Self.memberData)
            #expect(view.member(named: "node-b")?.role == "replica")
            #expect(view.member(named: "node-a")?.version != nil)
            if backend == .v3 {
                // Both member keys live on their owner's lease.
                #expect(view.member(named: "node-a")?.session != nil)
                #expect(view.member(named: "node-a")?.session != view.member(named: "node-b")?.session)
            }
        }
    }

    @Test("compare-and-set on config, failover and sync refuses stale versions", arguments: Backend.allCases)
    func compareAndSet(backend: Backend) async throws {
        try await withCluster(backend) { cluster async throws in
            let a = cluster.client("node-a"), reader = cluster.client(nil)
            #expect(try await a.setConfig(["ttl": 30, "loop_wait": 10], version: nil))
            let first = try #require(try await reader.loadCluster(fresh: true).config)
            let version = try #require(first.version)
            #expect(first.data["ttl"]?.intValue == 30)
            #expect(try await a.setConfig(["ttl": 20], version: version))
            #expect(try await a.setConfig(["ttl": 99], version: version) == false)
            let second = try #require(try await reader.loadCluster(fresh: true).config)
            #expect(second.data["ttl"]?.intValue == 20)
            #expect(second.version != version)

            #expect(try await a.setFailover(["leader": "node-a", "member": "node-b"], version: nil))
            let failover = try #require(try await reader.loadCluster(fresh: true).failover)
            #expect(failover.candidate == "node-b")
            #expect(try await a.setFailover([:], version: failover.version))
            #expect(try await a.setFailover(["member": "x"], version: failover.version) == false)
            #expect(try await reader.loadCluster(fresh: true).failover == nil)

            #expect(try await a.setSync(SyncState(leader: "node-a", syncStandbys: ["node-b"]).json, version: nil))
            let sync = try await reader.loadCluster(fresh: true).sync
            #expect(sync.leader == "node-a" && sync.syncStandbys == ["node-b"])
            let syncVersion = try #require(sync.version)
            #expect(try await a.setSync(SyncState(leader: "node-a").json, version: syncVersion))
            #expect(try await a.deleteSync(version: syncVersion) == false)
            let current = try #require(try await reader.loadCluster(fresh: true).sync.version)
            #expect(try await a.deleteSync(version: current))
            #expect(try await reader.loadCluster(fresh: true).sync.version == nil)
            await #expect(throws: DCSError.self) { try await a.setConfig([:], version: "not-a-number") }
        }
    }

    @Test("initialize races once, cancel and deleteCluster remove keys", arguments: Backend.allCases)
    func initializeAndRemove(backend: Backend) async throws {
        try await withCluster(backend) { cluster async throws in
            let a = cluster.client("node-a"), b = cluster.client("node-b"), reader = cluster.client(nil)
            #expect(try await a.initialize(sysid: "", createNew: true))
            #expect(try await b.initialize(sysid: "", createNew: true) == false)
            #expect(try await reader.loadCluster(fresh: true).initialize == "")
            #expect(try await a.initialize(sysid: "7212345678901234567", createNew: false))
            #expect(try await reader.loadCluster(fresh: true).initialize == "7212345678901234567")
            try await a.cancelInitialization()
            #expect(try await reader.loadCluster(fresh: true).initialize == nil)

            try await a.setStatus(ClusterStatus(optime: 123).json)
            try await a.setHistory([[1, 100, "no recovery target specified", "2024-01-01T00:00:00+00:00", "node-a"]])
            try await a.setFailsafe(["node-a": "http://127.0.0.1:8008/patroni"])
            try await a.setMesh(["checked_timelines": ["zone2": 3]])
            #expect(try await a.touchMember(Self.memberData))
            let view = try await reader.loadCluster(fresh: true)
            #expect(view.status.optime == 123)
            #expect(view.timeline == 2)
            #expect(view.failsafe?["node-a"]?.stringValue == "http://127.0.0.1:8008/patroni")
            #expect(view.mesh == #"{"checked_timelines":{"zone2":3}}"#)
            try await reader.deleteCluster()
            #expect(try await reader.loadCluster(fresh: true) == ClusterView.empty)
        }
    }

    @Test("values are stored byte for byte as Patroni writes them (read back with etcdctl)", arguments: Backend.allCases)
    func byteCompatibility(backend: Backend) async throws {
        try await withCluster(backend) { cluster async throws in
            let a = cluster.client("node-a")
            let config: JSONValue = ["ttl": 30, "postgresql": ["parameters": ["max_connections": 100]], "name": "é"]
            #expect(try await a.touchMember(Self.memberData))
            #expect(try await a.attemptToAcquireLeader())
            #expect(try await a.setConfig(config, version: nil))
            try await a.setStatus(ClusterStatus(optime: 67108864, slots: [("node_b", 67108864)], retainSlots: ["node_b"]).json)
            let keys = ["members/node-a", "leader", "config", "status"]
            let stored = try cluster.etcdctlValues(keys: keys)
            #expect(stored["members/node-a"] == JSONValue.object(Self.memberData).compactString)
            #expect(stored["leader"] == "node-a")
            #expect(stored["config"] == #"{"ttl":30,"postgresql":{"parameters":{"max_connections":100}},"name":"\u00e9"}"#)
            #expect(stored["status"] == #"{"optime":67108864,"slots":{"node_b":67108864},"retain_slots":["node_b"]}"#)
        }
    }
}
