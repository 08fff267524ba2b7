import StazCore

/// The WAL position block (`xlog`) of the status JSON.
public enum XLogStatus: Sendable, Equatable {
    /// Primary: `pg_current_wal_flush_lsn()` as bytes.
    case primary(location: Int64)
    /// Replica: written/received and replayed positions, last replayed commit time, replay paused.
    case replica(receivedLocation: Int64?, replayedLocation: Int64?, replayedTimestamp: String?, paused: Bool)

    /// A standby's positions, which move between HA cycles as WAL streams in.
    public var isStandby: Bool {
        if case .replica = self { return true }
        return false
    }
}

/// Everything the REST endpoints need, kept current by the daemon. Requests only read it: no
/// SQL and no DCS call happens on a health check, so an overloaded or hung PostgreSQL/DCS can
/// never stall a load balancer probe.
public struct NodeSnapshot: Sendable, Equatable {
    // MARK: status JSON (Patroni `get_postgresql_status` + `_write_status_response`)

    public var state: MemberState = .stopped
    /// `YYYY-MM-DD HH:MM:SS.ffffff+TZ`; nil when PostgreSQL could not be queried.
    public var postmasterStartTime: String? = nil
    /// The running postmaster's pid (not in the status JSON): `APIState.live` checks it on
    /// every request, so a server that died since the last cycle is not reported running.
    public var postmasterPID: Int32? = nil
    public var role: MemberRole = .uninitialized
    public var serverVersion: Int? = nil
    public var xlog: XLogStatus? = nil
    public var isSyncStandby: Bool = false
    public var isQuorumStandby: Bool = false
    public var timeline: Int64? = nil
    /// `streaming` / `in archive recovery` (replicas).
    public var replicationState: String? = nil
    /// One object per walsender: usename, application_name, client_addr, state, sync_state, sync_priority.
    public var replication: [JSONObject] = []
    public var pause: Bool = false
    public var clusterUnlocked: Bool = true
    public var failsafeModeIsActive: Bool = false
    /// `failsafe_mode` is on in the dynamic configuration (`POST /failsafe` answers 502 otherwise).
    public var failsafeModeEnabled: Bool = false
    /// Epoch seconds of the last successful DCS read.
    public var dcsLastSeen: Int64 = 0
    /// Effective tags; also used for `?tag_<key>=<value>` filters.
    public var tags: JSONObject = JSONObject()
    public var databaseSystemIdentifier: String? = nil
    public var pendingRestart: Bool = false
    /// `{param: {old_value, new_value}}`.
    public var pendingRestartReason: JSONObject = JSONObject()
    public var scope: String
    public var name: String
    /// Already without `postmaster_start_time`, `schedule` as ISO text.
    public var scheduledRestart: JSONObject? = nil
    public var watchdogFailed: Bool = false
    /// Why this node refuses to promote although the cluster has no leader (synchronous mode,
    /// it may miss acknowledged commits); shown as `failover_blocked`.
    public var failoverBlocked: String? = nil
    /// staz extension: this replica's copies of the mesh's logical slots are ready for a
    /// failover (`logical_slots_ready`; nil: not a replica in a mesh). Peers compare it.
    public var logicalSlotsReady: Bool? = nil
    /// `GET /mesh` and the `staz_mesh_*` metrics (nil: no mesh configured).
    public var mesh: MeshStatus? = nil
    /// Keys other parts of staz add to `GET /mesh` (`slots_ready`, `divergence_reports`,
    /// `last_failover`), merged over the reconciler's report.
    public var meshExtras: JSONObject = JSONObject()
    /// `staz_mesh_*` gauges of the integrity check (divergence reports), beside the reconciler's.
    public var meshIntegritySamples: [MeshMetricSample] = []

    // MARK: health-check inputs

    /// Our leader lock is held until this instant. `leader_ok` = now < leaseValidUntil, so when
    /// the lease keeper stops confirming the lease `/primary` turns 503 on its own. Written only
    /// by the lease keeper (its one owner): a snapshot taken a moment earlier must never put back
    /// an instant the keeper has since withdrawn.
    public var leaseValidUntil: ContinuousClock.Instant? = nil
    /// `status.optime` of the cluster (leader's last known WAL position) for lag checks.
    public var leaderOptime: Int64? = nil
    /// walreceiver `latest_end_lsn` (replicas), also counted as leader position.
    public var latestEndLSN: Int64? = nil
    public var noLoadBalance: Bool = false
    public var isStandbyCluster: Bool = false
    /// Last DCS view and when it was read; older than `ttl` counts as "no DCS view".
    public var clusterView: ClusterView? = nil
    public var clusterViewTime: ContinuousClock.Instant? = nil
    public var ttl: Duration = .seconds(30)
    public var loopWait: Duration = .seconds(10)
    /// Start of the last HA cycle (initially the creation time, as Patroni's `next_run`).
    public var lastLoopInstant: ContinuousClock.Instant = .now
    public var maximumLagOnFailover: Int64 = 1_048_576

    // MARK: staz's own metrics (`GET /metrics`), filled by the daemon; nil = not measured yet

    /// Wall time of the last complete HA cycle (DCS read, decision, actions).
    public var lastLoopDuration: Duration? = nil
    /// Round trip of the last DCS cluster read.
    public var lastDCSRequestDuration: Duration? = nil
    /// The last failover/switchover this node won: from the decision to take the lock to
    /// PostgreSQL accepting writes as primary.
    public var lastFailoverDuration: Duration? = nil

    public init(scope: String, name: String) {
        self.scope = scope
        self.name = name
    }

    /// Patroni's `ha.is_leader()`: our own, non-expired lock.
    public func leaderOK(now: ContinuousClock.Instant) -> Bool {
        guard let leaseValidUntil else { return false }
        return now < leaseValidUntil
    }

    /// Patroni's `dcs.cluster` truthiness: a DCS view not older than `ttl`.
    public func freshClusterView(now: ContinuousClock.Instant) -> ClusterView? {
        guard let clusterView, let clusterViewTime, now - clusterViewTime < ttl else { return nil }
        return clusterView
    }

    /// The status JSON with Patroni's field names and order.
    public var statusJSON: JSONObject {
        var o = JSONObject()
        o["state"] = .string(state.rawValue)
        if let postmasterStartTime { o["postmaster_start_time"] = .string(postmasterStartTime) }
        o["role"] = .string(role.rawValue)
        if let serverVersion { o["server_version"] = .int(Int64(serverVersion)) }
        switch xlog {
        case .primary(let location)?:
            o["xlog"] = .object(JSONObject([("location", .int(location))]))
        case .replica(let received, let replayed, let replayedTimestamp, let paused)?:
            o["xlog"] = .object(JSONObject([
                ("received_location", received.map { .int($0) } ?? .null),
                ("replayed_location", replayed.map { .int($0) } ?? .null),
                ("replayed_timestamp", replayedTimestamp.map { .string($0) } ?? .null),
                ("paused", .bool(paused)),
            ]))
        case nil: break
        }
        if isQuorumStandby { o["quorum_standby"] = true } else if isSyncStandby { o["sync_standby"] = true }
        if let timeline { o["timeline"] = .int(timeline) }
        if let replicationState { o["replication_state"] = .string(replicationState) }
        if !replication.isEmpty { o["replication"] = .array(replication.map { .object($0) }) }
        if pause { o["pause"] = true }
        if clusterUnlocked { o["cluster_unlocked"] = true }
        if failsafeModeIsActive { o["failsafe_mode_is_active"] = true }
        o["dcs_last_seen"] = .int(dcsLastSeen)
        if !tags.isEmpty { o["tags"] = .object(tags) }
        if let databaseSystemIdentifier { o["database_system_identifier"] = .string(databaseSystemIdentifier) }
        if pendingRestart || !pendingRestartReason.isEmpty {
            o["pending_restart"] = true
            if !pendingRestartReason.isEmpty { o["pending_restart_reason"] = .object(pendingRestartReason) }
        }
        o["patroni"] = .object(JSONObject([
            ("version", .string(StazVersion.patroniCompatible)), ("scope", .string(scope)), ("name", .string(name)),
        ]))
        if let scheduledRestart { o["scheduled_restart"] = .object(scheduledRestart) }
        if watchdogFailed { o["watchdog_failed"] = true }
        if let failoverBlocked { o["failover_blocked"] = .string(failoverBlocked) }
        if let logicalSlotsReady { o["logical_slots_ready"] = .bool(logicalSlotsReady) }
        return o
    }
}
