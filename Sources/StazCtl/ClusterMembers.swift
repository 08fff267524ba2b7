import StazCore

/// The member list of Patroni's `cluster_as_json`, which `patronictl list` formats. (The REST
/// API's `/cluster` has the same logic in StazAPI; stazctl cannot depend on the server module.)
func clusterMembersJSON(_ cluster: ClusterView) -> (members: [JSONObject], paused: Bool) {
    let config = cluster.config?.data
    let paused = config?["pause"]?.boolValue ?? false
    let standby = config?["standby_cluster"]?.objectValue.map { s in
        ["host", "port", "restore_command"].contains { s[$0].map(pythonTruthy) ?? false }
    } ?? false
    let mode = config?["synchronous_mode"]
    let quorum = mode?.stringValue?.lowercased() == "quorum"
    let synchronous = (quorum || mode?.boolValue == true) && !standby
    let leaderName = cluster.leader?.name
    let clusterLSN = cluster.status.optime ?? 0

    var members: [JSONObject] = []
    for m in cluster.members {
        let role: String
        if m.name == leaderName {
            role = standby ? "standby_leader" : "leader"
        } else if synchronous && cluster.sync.leader != nil && cluster.sync.contains(m.name) {
            role = quorum ? "quorum_standby" : "sync_standby"
        } else {
            role = "replica"
        }
        let replicationState = role != "leader" ? (m.data["replication_state"]?.stringValue ?? "") : ""
        var o = JSONObject([("name", .string(m.name)), ("role", .string(role)),
                            ("state", .string(replicationState.isEmpty ? (m.state ?? "") : replicationState)),
                            ("api_url", m.apiURL.map { .string($0) } ?? .null)])
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
                o[lagKey] = .int(clusterLSN >= lsn ? clusterLSN - lsn : 0)
                o[lsnKey] = .string(LSN(UInt64(bitPattern: lsn)).description)
            }
        }
        members.append(o)
    }
    members.sort { ($0["name"]?.stringValue ?? "") < ($1["name"]?.stringValue ?? "") }
    return (members, paused)
}

/// patronictl's `topology_sort`: leader first, then replicas depth-first under the member
/// named by their `replicatefrom` tag (if that is another replica), names indented `+ `.
func topologySorted(_ members: [JSONObject]) -> [JSONObject] {
    func isLeader(_ m: JSONObject) -> Bool { (m["role"]?.stringValue ?? "").hasSuffix("leader") }
    let leaderName = members.first(where: isLeader)?["name"]?.stringValue
    let replicas = Set(members.filter { !isLeader($0) }.compactMap { $0["name"]?.stringValue })
    var children: [String?: [JSONObject]] = [:]
    for m in members where !isLeader(m) {
        let parent = m["tags"]?["replicatefrom"]?.stringValue
        let name = m["name"]?.stringValue
        let key = parent.flatMap { $0 != name && replicas.contains($0) ? $0 : nil } ?? leaderName
        children[key, default: []].append(m)
    }
    var out: [JSONObject] = []
    func visit(_ member: JSONObject?, name: String?, level: Int) {
        let kids = children[name] ?? []
        if var member {
            if level > 0 {
                member["name"] = .string(String(repeating: " ", count: (level - 1) * 2) + "+ " + (name ?? ""))
            }
            out.append(member)
        }
        for kid in kids { visit(kid, name: kid["name"]?.stringValue, level: level + 1) }
    }
    visit(members.first(where: isLeader), name: leaderName, level: 0)
    return out
}
