import StazAPI
import StazCore

enum Fixtures {
    /// The instant pure health-check tests evaluate at. Tests that serve a snapshot over a real
    /// server pass `at: .now` instead: the server compares with the real clock, and a lease
    /// anchored at process start had expired when a long suite reached them.
    static let now = ContinuousClock.now

    static func leader(leaseLeft: Duration = .seconds(20), at anchor: ContinuousClock.Instant = now) -> NodeSnapshot {
        var s = NodeSnapshot(scope: "demo", name: "node1")
        s.state = .running
        s.postmasterStartTime = "2025-01-02 10:00:00.123456+00:00"
        s.role = .primary
        s.serverVersion = 150004
        s.xlog = .primary(location: 50_331_648)
        s.timeline = 1
        s.clusterUnlocked = false
        s.dcsLastSeen = 1_735_812_000
        s.databaseSystemIdentifier = "7455059393830273421"
        s.leaseValidUntil = anchor + leaseLeft
        s.leaderOptime = 50_331_648
        s.clusterView = ClusterView(leader: Leader(name: "node1"))
        s.clusterViewTime = anchor
        return s
    }

    static func replica(replayed: Int64 = 50_331_648, leaderOptime: Int64 = 50_331_648,
                        at anchor: ContinuousClock.Instant = now) -> NodeSnapshot {
        var s = NodeSnapshot(scope: "demo", name: "node2")
        s.state = .running
        s.postmasterStartTime = "2025-01-02 10:00:05.5+00:00"
        s.role = .replica
        s.serverVersion = 150004
        s.xlog = .replica(receivedLocation: replayed, replayedLocation: replayed, replayedTimestamp: nil, paused: false)
        s.timeline = 1
        s.replicationState = "streaming"
        s.clusterUnlocked = false
        s.dcsLastSeen = 1_735_812_000
        s.tags = obj(["dc": "east", "nofailover": false])
        s.leaderOptime = leaderOptime
        s.clusterView = ClusterView(leader: Leader(name: "node1"))
        s.clusterViewTime = anchor
        return s
    }
}

/// Builds a JSONObject from a dictionary literal (key order kept).
func obj(_ value: JSONValue) -> JSONObject { value.objectValue ?? JSONObject() }
