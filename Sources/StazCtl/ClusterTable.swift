import Foundation
import StazCore

/// patronictl's `output_members`: the member table of `list` / `topology` in any format.
public func renderClusterList(_ cluster: ClusterView, name: String, extended: Bool = false,
                              format: OutputFormat = .pretty) -> String {
    let (members, paused) = clusterMembersJSON(cluster)
    let initialize = cluster.initialize.map { $0.isEmpty ? "initializing" : $0 } ?? "uninitialized"
    var columns = ["Cluster", "Member", "Host", "Role", "State", "TL",
                   "Receive LSN", "Receive Lag", "Replay LSN", "Replay Lag"]
    let withHost = members.filter { $0["host"] != nil }
    for column in ["Pending restart", "Pending restart reason", "Scheduled restart", "Tags"] {
        let key = column.lowercased().replacingOccurrences(of: " ", with: "_")
        if extended || withHost.contains(where: { $0[key].map(pythonTruthy) ?? false }) { columns.append(column) }
    }
    let hosts = withHost.compactMap { $0["host"]?.stringValue }
    let appendPort = withHost.contains { ($0["port"]?.intValue).map { $0 != 5432 } ?? false }
        || Set(hosts).count < withHost.count

    let ordered = format == .topology ? topologySorted(members) : members
    let rows: [[JSONValue]] = ordered.map { member in
        memberRow(member, cluster: name, columns: columns, appendPort: appendPort,
                  hideLongReasons: format == .pretty || format == .topology)
    }
    if format == .pretty || format == .topology {
        columns = columns.map { $0 == "Receive Lag" || $0 == "Replay Lag" ? "Lag" : $0 }
    }
    var text = renderOutput(columns: columns, rows: rows, rightAligned: ["Receive LSN", "Replay LSN", "Lag", "TL"],
                            format: format, header: " Cluster: \(name) (\(initialize)) ")
    if format == .pretty || format == .topology {
        let info = serviceInfo(cluster, paused: paused)
        if !info.isEmpty { text += " " + info.joined(separator: "\n ") + "\n" }
    }
    return text
}

/// One table row for a `cluster_as_json` member, cells in `columns` order.
func memberRow(_ member: JSONObject, cluster: String, columns: [String], appendPort: Bool,
               hideLongReasons: Bool) -> [JSONValue] {
    var m = member
    let reasons = (member["pending_restart_reason"]?.objectValue?.pairs ?? []).map { param, values -> String in
        let full = param + ": " + pythonStr(values["old_value"] ?? "") + "->" + pythonStr(values["new_value"] ?? "")
        return !hideLongReasons || full.count <= 50 ? full : param + ": [hidden - too long]"
    }
    var receiveLag = member["receive_lag"] ?? "", replayLag = member["replay_lag"] ?? ""
    var receiveLSN = member["receive_lsn"] ?? "", replayLSN = member["replay_lsn"] ?? ""
    // Members written by old Patroni versions only have `lsn`/`lag`.
    let lsn = member["lsn"] ?? ""
    if receiveLSN == "unknown" && replayLSN == "unknown" && pythonTruthy(lsn) && lsn != "unknown" {
        if member["state"] == "streaming" {
            receiveLag = member["lag"] ?? ""; receiveLSN = lsn
        } else {
            replayLag = member["lag"] ?? ""; replayLSN = lsn
        }
    }
    func megabytes(_ lag: JSONValue) -> JSONValue {
        if case .int(let bytes) = lag {
            return .int(Int64((Double(bytes) / 1024 / 1024).rounded(.toNearestOrEven)))
        }
        return lag == "unknown" ? "" : lag
    }
    let role = (member["role"]?.stringValue ?? "").replacingOccurrences(of: "_", with: " ")
        .split(separator: " ").map { $0.prefix(1).uppercased() + $0.dropFirst().lowercased() }.joined(separator: " ")
    var host = member["host"] ?? ""
    if appendPort, let h = host.stringValue, !h.isEmpty, let port = member["port"], pythonTruthy(port) {
        host = .string(h + ":" + pythonStr(port))
    }
    m["cluster"] = .string(cluster)
    m["member"] = member["name"] ?? ""
    m["host"] = host
    m["tl"] = member["timeline"] ?? ""
    m["role"] = .string(role)
    m["receive_lag"] = megabytes(receiveLag)
    m["replay_lag"] = megabytes(replayLag)
    m["receive_lsn"] = receiveLSN
    m["replay_lsn"] = replayLSN
    m["pending_restart"] = (member["pending_restart"].map(pythonTruthy) ?? false) ? "*" : ""
    m["pending_restart_reason"] = .string(reasons.joined(separator: "\n"))
    if let scheduled = member["scheduled_restart"] {
        var value = pythonStr(scheduled["schedule"] ?? "")
        if let version = scheduled["postgres_version"] { value += " if version < " + pythonStr(version) }
        m["scheduled_restart"] = .string(value)
    }
    return columns.map { m[$0.lowercased().replacingOccurrences(of: " ", with: "_")] ?? "" }
}

/// Footer lines: maintenance mode and a scheduled switchover.
func serviceInfo(_ cluster: ClusterView, paused: Bool) -> [String] {
    var info: [String] = []
    if paused { info.append("Maintenance mode: on") }
    if let failover = cluster.failover, let at = failover.scheduledAt {
        var text = "Switchover scheduled at: " + at
        if let from = failover.leader { text += "\n" + String(repeating: " ", count: 20) + "from: " + from }
        if let to = failover.candidate { text += "\n" + String(repeating: " ", count: 22) + "to: " + to }
        info.append(text)
    }
    return info
}

/// `history`: TL, LSN, Reason, Timestamp, New Leader.
public func renderHistory(_ cluster: ClusterView, format: OutputFormat = .pretty) -> String {
    let rows: [[JSONValue]] = (cluster.history ?? []).map { line in
        [.int(line.timeline), .int(line.lsn), .string(line.reason),
         .string(line.timestamp ?? ""), .string(line.newLeader ?? "")]
    }
    return renderOutput(columns: ["TL", "LSN", "Reason", "Timestamp", "New Leader"], rows: rows,
                        rightAligned: ["TL", "LSN"], format: format)
}

/// `show-config`: the DCS config as YAML (nothing when there is no config key).
public func renderShowConfig(_ cluster: ClusterView) -> String {
    guard let config = cluster.config else { return "" }
    return pythonYAML(.object(config.data)) + "\n"
}
