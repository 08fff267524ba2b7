import StazCore

/// Patroni's health-check decisions (`RestApiHandler.do_GET`, `do_GET_liveness`,
/// `_readiness`), as pure functions of the snapshot, the request and the clock.
public enum HealthChecks {
    /// Status code of the generic GET handler. Path matching is by substring and the order of
    /// the checks matters, exactly as in Patroni (`/read-only-sync` is not `/read-only`).
    public static func statusCode(for target: RequestTarget, snapshot s: NodeSnapshot,
                                  now: ContinuousClock.Instant) -> Int {
        let path = target.path == "/" ? "/primary" : target.path
        let cluster = s.freshClusterView(now: now)

        let leaderOptime = max(cluster != nil ? (s.leaderOptime ?? 0) : 0, s.latestEndLSN ?? 0)
        let maxLag = target.first("lag").flatMap(parseByteSize) ?? Int64.max
        let isLagging = leaderOptime > 0 && Double(leaderOptime) > Double(s.replayedLocation) + Double(maxLag)
        let replicaCode = !s.noLoadBalance && !isLagging && s.role == .replica && s.state == .running ? 200 : 503

        var leaderCode = 503, primaryCode = 503, standbyLeaderCode = 503
        var replicaOrStandbyCode = replicaCode
        if cluster == nil && s.pause {
            leaderCode = s.role.isLeaderRole ? 200 : 503
            primaryCode = s.role == .primary ? 200 : 503
            standbyLeaderCode = s.role == .standbyLeader ? 200 : 503
        } else if s.leaderOK(now: now) {
            leaderCode = 200
            if s.isStandbyCluster {
                primaryCode = 503
                replicaOrStandbyCode = 503
                standbyLeaderCode = s.role == .replica || s.role == .standbyLeader ? 200 : 503
            } else {
                primaryCode = 200
            }
        }

        var code = 503
        var ignoreTags = false
        if path.hasBytes("standby_leader") || path.hasBytes("standby-leader") {
            code = standbyLeaderCode; ignoreTags = true
        } else if path.hasBytes("leader") {
            code = leaderCode; ignoreTags = true
        } else if path.hasBytes("master") || path.hasBytes("primary") || path.hasBytes("read-write") {
            code = primaryCode; ignoreTags = true
        } else if path.hasBytes("replica") {
            code = replicaOrStandbyCode
        } else if path.hasBytes("read-only") && !path.hasBytes("sync") && !path.hasBytes("quorum") {
            code = primaryCode == 200 || standbyLeaderCode == 200 ? 200 : replicaOrStandbyCode
        } else if path.hasBytes("health") {
            code = s.state == .running ? 200 : 503
        } else if cluster != nil {
            let leaderLike = primaryCode == 200 || standbyLeaderCode == 200
            // Exact paths here (Patroni compares with `in (...)`/`==`, not substrings).
            if ["/sync", "/synchronous"].contains(path) && s.isSyncStandby {
                code = replicaOrStandbyCode
            } else if path == "/quorum" && s.isQuorumStandby {
                code = replicaOrStandbyCode
            } else if ["/async", "/asynchronous"].contains(path) && !s.isSyncStandby && !s.isQuorumStandby {
                code = replicaOrStandbyCode
            } else if path == "/read-only-quorum" {
                if leaderLike { code = 200 } else if s.isQuorumStandby { code = replicaOrStandbyCode }
            } else if ["/read-only-sync", "/read-only-synchronous"].contains(path) {
                if leaderLike { code = 200 } else if s.isSyncStandby { code = replicaOrStandbyCode }
            }
        }

        if !ignoreTags && code == 200 && !tagsMatch(target, tags: s.tags) { code = 503 }
        return code
    }

    /// `?tag_<key>=<value>`: every requested tag must exist with that value; non-string tag
    /// values compare as their lower-cased text (`true`, `1`).
    static func tagsMatch(_ target: RequestTarget, tags: JSONObject) -> Bool {
        var seen = Set<String>()
        for (key, wanted) in target.query where key.hasPrefix("tag_") && seen.insert(key).inserted {
            guard let value = tags[String(key.dropFirst(4))], !value.isNull else { return false }
            let text: String
            switch value {
            case .string(let str): text = str
            case .bool(let b): text = b ? "true" : "false"
            default: text = value.compactString.lowercased()
            }
            if text != wanted { return false }
        }
        return true
    }

    /// `/liveness`: the HA loop ran recently (within ttl on a running primary, 2×ttl
    /// elsewhere), or the cluster is paused.
    public static func liveness(snapshot s: NodeSnapshot, now: ContinuousClock.Instant) -> Int {
        let isRunningPrimary = s.role == .primary && s.state == .running
        let threshold = s.ttl * (isRunningPrimary ? 1 : 2)
        let nextRun = s.lastLoopInstant + s.loopWait
        return s.pause || nextRun + threshold > now ? 200 : 503
    }

    /// `/readiness[?lag=..&mode=apply|write]`: nil when ready, else the reason.
    public static func readinessFailure(for target: RequestTarget, snapshot s: NodeSnapshot,
                                        now: ContinuousClock.Instant) -> String? {
        if s.leaderOK(now: now) { return nil }
        guard s.state == .running else { return "PostgreSQL is not running" }
        guard s.replicationState == "streaming" else { return "PostgreSQL replication state is not streaming" }
        let cluster = s.freshClusterView(now: now)
        let latestEnd = s.latestEndLSN ?? 0
        if cluster == nil && latestEnd == 0 {
            return s.failsafeModeIsActive ? nil : "DCS is not accessible"
        }
        let leaderOptime = max(cluster != nil ? (s.leaderOptime ?? 0) : 0, latestEnd)
        let mode = target.first("mode") == "write" ? "write" : "apply"
        let location = mode == "write" ? s.receivedLocation : s.replayedLocation
        let lag = leaderOptime - location
        let maxLag = target.first("lag").flatMap(parseByteSize) ?? s.maximumLagOnFailover
        return lag > maxLag ? "Replication \(mode) lag \(lag) exceeds maximum allowable \(maxLag)" : nil
    }
}

extension NodeSnapshot {
    var replayedLocation: Int64 {
        if case .replica(_, let replayed, _, _)? = xlog { return replayed ?? 0 }
        return 0
    }
    var receivedLocation: Int64 {
        if case .replica(let received, _, _, _)? = xlog { return received ?? 0 }
        return 0
    }
}

extension String {
    /// Whether the UTF-8 bytes of `needle` occur in this string, for the health-check paths.
    /// Neither library search fits a per-check cost: with Foundation imported
    /// `String.contains` is NSString's Unicode-aware search, and `utf8.contains(_:)` is
    /// _StringProcessing's generic one, which instantiated generic metadata on every call (a
    /// quarter of a load-balancer check's CPU in `perf record`).
    func hasBytes(_ needle: String) -> Bool {
        var haystack = self
        var pattern = needle
        return haystack.withUTF8 { text in
            pattern.withUTF8 { wanted in
                guard !wanted.isEmpty else { return true }
                guard wanted.count <= text.count else { return false }
                var start = 0
                while start + wanted.count <= text.count {
                    var matched = 0
                    while matched < wanted.count, text[start + matched] == wanted[matched] { matched += 1 }
                    if matched == wanted.count { return true }
                    start += 1
                }
                return false
            }
        }
    }
}
