import StazCore

/// The few dynamic-config flags `cluster_as_json` needs, read the way Patroni's `global_config` does.
public struct DynamicFlags {
    public var isPaused = false
    public var isStandbyCluster = false
    public var isSynchronousMode = false
    public var isQuorumCommitMode = false

    public init(_ config: JSONObject?) {
        guard let config else { return }
        isPaused = config["pause"]?.boolValue ?? false
        if let standby = config["standby_cluster"]?.objectValue {
            isStandbyCluster = ["host", "port", "restore_command"].contains { key in
                guard let v = standby[key] else { return false }
                switch v {
                case .null: return false
                case .string(let s): return !s.isEmpty
                case .bool(let b): return b
                case .int(let i): return i != 0
                default: return true
                }
            }
        }
        let mode = config["synchronous_mode"]
        isQuorumCommitMode = mode?.stringValue?.lowercased() == "quorum" && !isStandbyCluster
        isSynchronousMode = (isQuorumCommitMode || mode?.boolValue == true) && !isStandbyCluster
    }
}

/// Patroni's `utils.cluster_as_json`: the body of `GET /cluster` (plus `scope`) and the rows
/// `patronictl list` formats. One implementation for the REST API and stazctl.
public func clusterAsJSON(_ cluster: ClusterView) -> JSONObject {
    let flags = DynamicFlags(cluster.config?.data)
    let leaderName = cluster.leader?.name
    let clusterLSN = cluster.status.optime ?? 0
    var members: [JSONObject] = []
    for m in cluster.members {
        let role: String
        if m.name == leaderName {
            role = flags.isStandbyCluster ? "standby_leader" : "leader"
        } else if flags.isSynchronousMode && cluster.sync.leader != nil && cluster.sync.contains(m.name) {
            role = flags.isQuorumCommitMode ? "quorum_standby" : "sync_standby"
        } else {
            role = "replica"
        }
        let replicationState = role != "leader" ? (m.data["replication_state"]?.stringValue ?? "") : ""
        var o = JSONObject()
        o["name"] = .string(m.name)
        o["role"] = .string(role)
        o["state"] = .string(replicationState.isEmpty ? (m.state ?? "") : replicationState)
        o["api_url"] = m.apiURL.map { .string($0) } ?? .null
        if let hostPort = m.connHostPort, !hostPort.host.isEmpty {
            o["host"] = .string(hostPort.host)
            o["port"] = .int(Int64(hostPort.port))
        }
        for key in ["timeline", "pending_restart", "pending_restart_reason", "scheduled_restart", "tags"] {
            if let v = m.data[key] { o[key] = v }
        }
        if m.name != leaderName {
            for (lsnKey, lagKey, dataKey) in [("receive_lsn", "receive_lag", "receive_lsn"),
                                              ("replay_lsn", "replay_lag", "replay_lsn"),
                                              ("lsn", "lag", "xlog_location")] {
                guard let lsn = m.data[dataKey]?.intValue, lsn != 0 else {
                    o[lsnKey] = "unknown"; o[lagKey] = "unknown"; continue
                }
                // Patroni assigns the lag first, so it precedes the LSN in the object.
                o[lagKey] = .int(clusterLSN >= lsn ? clusterLSN - lsn : 0)
                o[lsnKey] = .string(LSN(UInt64(bitPattern: lsn)).description)
            }
        }
        members.append(o)
    }
    members.sort { ($0["name"]?.stringValue ?? "") < ($1["name"]?.stringValue ?? "") }
    var result = JSONObject([("members", .array(members.map { .object($0) }))])
    if flags.isPaused { result["pause"] = true }
    if let failover = cluster.failover, let at = failover.scheduledAt {
        var scheduled = JSONObject([("at", .string(at))])
        if let from = failover.leader { scheduled["from"] = .string(from) }
        if let to = failover.candidate { scheduled["to"] = .string(to) }
        result["scheduled_switchover"] = .object(scheduled)
    }
    return result
}
