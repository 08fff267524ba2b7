import Foundation
import NIOCore
import Prometheus
import StazCore

/// `GET /metrics`: Prometheus text exposition, byte for byte what Patroni 4.1.5's
/// `do_GET_metrics` writes (same metric names, `# HELP`/`# TYPE` lines, order, the extra
/// `# Values:` comment of `patroni_postgres_state`, integers without a decimal point and
/// Python's float formatting), followed by staz's own gauges.
///
/// The Patroni part is rendered by hand: swift-prometheus's registry emits its metrics in
/// dictionary order, prints every gauge as a Double (`1.0` where Patroni prints `1`), and has no
/// way to write the `# Values:` comment, so it cannot reproduce Patroni's output that
/// dashboards and golden tests compare against. staz's own metrics have no such legacy and go
/// through the registry.
enum MetricsEndpoint {
    static func response(snapshot: NodeSnapshot, now: ContinuousClock.Instant) -> APIResponse {
        APIResponse(status: .ok, contentType: "text/plain", body: ByteBuffer(string: render(snapshot)))
    }

    static func render(_ snapshot: NodeSnapshot) -> String {
        patroniMetrics(snapshot) + stazMetrics(snapshot) + MeshEndpoint.metrics(snapshot)
    }

    /// The names of Patroni's `PostgresqlState` members in the `# Values:` comment, by index.
    static func metricName(_ state: MemberState) -> String {
        switch state {
        case .initializingNewCluster: return "initdb"
        case .initdbFailed: return "initdb_failed"
        case .runningCustomBootstrap: return "custom_bootstrap"
        case .customBootstrapFailed: return "custom_bootstrap_failed"
        case .creatingReplica: return "creating_replica"
        case .running: return "running"
        case .starting: return "starting"
        case .startingAfterCustomBootstrap: return "bootstrap_starting"
        case .startFailed: return "start_failed"
        case .restarting: return "restarting"
        case .restartFailed: return "restart_failed"
        case .stopping: return "stopping"
        case .stopped: return "stopped"
        case .stopFailed: return "stop_failed"
        case .crashed: return "crashed"
        }
    }

    static func patroniMetrics(_ s: NodeSnapshot) -> String {
        let labels = "{scope=\"\(s.scope)\",name=\"\(s.name)\"}"
        var lines: [String] = []
        lines.reserveCapacity(80)
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            lines.append("\(name)\(labels) \(value)")
        }
        func flag(_ value: Bool) -> String { value ? "1" : "0" }

        var location: Int64 = 0, received: Int64 = 0, replayed: Int64 = 0
        var replayedTimestamp: String? = nil, paused = false
        switch s.xlog {
        case .primary(let l)?: location = l
        case .replica(let r, let p, let t, let isPaused)?:
            received = r ?? 0; replayed = p ?? 0; replayedTimestamp = t; paused = isPaused
        case nil: break
        }

        metric("patroni_version", "gauge", "Patroni semver without periods.", paddedSemver(StazVersion.patroniCompatible))
        metric("patroni_postgres_running", "gauge", "Value is 1 if Postgres is running, 0 otherwise.", flag(s.state == .running))
        metric("patroni_postmaster_start_time", "gauge", "Epoch seconds since Postgres started.",
               s.postmasterStartTime.flatMap(epochSeconds) ?? "0")
        metric("patroni_primary", "gauge", "Value is 1 if this node is the leader, 0 otherwise.", flag(s.role == .primary))
        metric("patroni_xlog_location", "counter",
               "Current location of the Postgres transaction log, 0 if this node is not the leader.", String(location))
        metric("patroni_standby_leader", "gauge", "Value is 1 if this node is the standby_leader, 0 otherwise.",
               flag(s.role == .standbyLeader))
        metric("patroni_replica", "gauge", "Value is 1 if this node is a replica, 0 otherwise.", flag(s.role == .replica))
        // Patroni's status has either `quorum_standby` or `sync_standby`, never both.
        metric("patroni_sync_standby", "gauge", "Value is 1 if this node is a sync standby, 0 otherwise.",
               flag(s.isSyncStandby && !s.isQuorumStandby))
        metric("patroni_quorum_standby", "gauge", "Value is 1 if this node is a quorum standby, 0 otherwise.",
               flag(s.isQuorumStandby))
        metric("patroni_xlog_received_location", "counter",
               "Current location of the received Postgres transaction log, 0 if this node is not a replica.", String(received))
        metric("patroni_xlog_replayed_location", "counter",
               "Current location of the replayed Postgres transaction log, 0 if this node is not a replica.", String(replayed))
        metric("patroni_xlog_replayed_timestamp", "gauge",
               "Current timestamp of the replayed Postgres transaction log, 0 if null.",
               replayedTimestamp.flatMap(epochSeconds) ?? "0")
        metric("patroni_xlog_paused", "gauge", "Value is 1 if the Postgres xlog is paused, 0 otherwise.", flag(paused))
        if (s.serverVersion ?? 0) >= 90600 {
            metric("patroni_postgres_streaming", "gauge", "Value is 1 if Postgres is streaming, 0 otherwise.",
                   flag(s.replicationState == "streaming"))
            metric("patroni_postgres_in_archive_recovery", "gauge",
                   "Value is 1 if Postgres is replicating from archive, 0 otherwise.",
                   flag(s.replicationState == "in archive recovery"))
        }
        metric("patroni_postgres_server_version", "gauge", "Version of Postgres (if running), 0 otherwise.",
               String(s.serverVersion ?? 0))
        metric("patroni_cluster_unlocked", "gauge", "Value is 1 if the cluster is unlocked, 0 if locked.",
               flag(s.clusterUnlocked))
        metric("patroni_failsafe_mode_is_active", "gauge", "Value is 1 if failsafe mode is active, 0 if inactive.",
               flag(s.failsafeModeIsActive))
        metric("patroni_postgres_timeline", "gauge", "Postgres timeline of this node (if running), 0 otherwise.",
               String(s.timeline ?? 0))
        metric("patroni_dcs_last_seen", "gauge", "Epoch timestamp when DCS was last contacted successfully by Patroni.",
               String(s.dcsLastSeen))
        metric("patroni_pending_restart", "gauge", "Value is 1 if the node needs a restart, 0 otherwise.",
               flag(s.pendingRestart || !s.pendingRestartReason.isEmpty))
        metric("patroni_is_paused", "gauge", "Value is 1 if auto failover is disabled, 0 otherwise.", flag(s.pause))

        lines.append("# HELP patroni_postgres_state Numeric representation of Postgres state.")
        lines.append("# Values: " + MemberState.allCases.map { "\($0.index)=\(metricName($0))" }.joined(separator: ", "))
        lines.append("# TYPE patroni_postgres_state gauge")
        lines.append("patroni_postgres_state\(labels) \(s.state.index)")
        // Not in Patroni 4.1.5 (added later upstream); appended last so 4.1.5's lines stay intact.
        metric("patroni_failover_priority", "gauge", "Failover priority of this node, 0 if it never becomes the leader.",
               String(failoverPriority(tags: s.tags)))
        return lines.joined(separator: "\n") + "\n"
    }

    /// `4.1.5` → `040105` (each part zero-padded to two digits).
    static func paddedSemver(_ version: String) -> String {
        version.split(separator: ".").map { part in part.count >= 2 ? String(part) : "0" + part }.joined()
    }

    /// `nofailover: true` → 0, else `failover_priority` (default 1), as the member's tags say
    /// (the one rule, `Member.failoverPriority`).
    static func failoverPriority(tags: JSONObject) -> Int64 {
        max(0, Member(name: "", data: JSONObject([("tags", .object(tags))])).failoverPriority)
    }

    /// `2024-06-10 12:34:56.123456+00:00` → `1718022896.123456`, formatted like Python's
    /// `timedelta.total_seconds()` (always with a decimal point). nil if unparsable.
    static func epochSeconds(_ timestamp: String) -> String? {
        guard let micros = epochMicroseconds(timestamp) else { return nil }
        return String(Double(micros) / 1_000_000)
    }

    static func epochMicroseconds(_ text: String) -> Int64? {
        let chars = Array(text.utf8)
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= chars.count else { return nil }
            var value = 0
            for c in chars[start..<start + count] {
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int(c - 48)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) else { return nil }
        var index = 19
        var micros = 0
        if index < chars.count, chars[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < chars.count, chars[index] >= 48, chars[index] <= 57 {
                if digits < 6 { micros = micros * 10 + Int(chars[index] - 48) }
                digits += 1; index += 1
            }
            for _ in min(digits, 6)..<6 { micros *= 10 }
        }
        var offsetSeconds = 0
        if index < chars.count, chars[index] == UInt8(ascii: "+") || chars[index] == UInt8(ascii: "-") {
            let sign = chars[index] == UInt8(ascii: "-") ? -1 : 1
            guard let hours = number(index + 1, 2) else { return nil }
            let minutes = index + 3 < chars.count ? (number(index + 4, 2) ?? number(index + 3, 2) ?? 0) : 0
            offsetSeconds = sign * (hours * 3600 + minutes * 60)
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900); parts.tm_mon = Int32(month - 1); parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour); parts.tm_min = Int32(minute); parts.tm_sec = Int32(second)
        let seconds = Int64(timegm(&parts)) - Int64(offsetSeconds)
        return seconds * 1_000_000 + Int64(micros)
    }

    /// staz's own gauges, through swift-prometheus (a fresh registry per scrape: the values live
    /// in the snapshot, and a scrape every few seconds costs microseconds).
    static func stazMetrics(_ s: NodeSnapshot) -> String {
        let registry = PrometheusCollectorRegistry()
        let labels = [("scope", s.scope), ("name", s.name)]
        let gauges: [(String, String, Duration?)] = [
            ("staz_loop_duration_seconds", "Duration of the last HA cycle in seconds.", s.lastLoopDuration),
            ("staz_dcs_request_duration_seconds", "Duration of the last DCS cluster read in seconds.",
             s.lastDCSRequestDuration),
            ("staz_last_failover_duration_seconds",
             "Seconds from taking the leader lock to accepting writes in the last promotion of this node.",
             s.lastFailoverDuration),
        ]
        for (name, help, value) in gauges {
            guard let value else { continue }
            registry.makeGauge(name: name, labels: labels, help: help).set(value.secondsValue)
        }
        return registry.emitToString()
    }
}
