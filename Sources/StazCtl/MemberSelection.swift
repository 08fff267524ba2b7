import StazCore

/// patronictl's role filter (`-r/--role`).
public enum MemberRoleFilter: String, Sendable, CaseIterable {
    case leader, primary, standbyLeader = "standby-leader", replica, standby, any
}

/// patronictl's `get_all_members`: the leader for leader-ish roles, else members in name order.
public func members(of cluster: ClusterView, role: MemberRoleFilter) -> [Member] {
    switch role {
    case .leader, .primary, .standbyLeader:
        guard let leader = cluster.leaderMember else { return [] }
        let dataRole = leader.role
        switch role {
        case .leader: return [leader]
        case .standbyLeader: return dataRole != "primary" && dataRole != "master" ? [leader] : []
        default: return dataRole != "standby_leader" ? [leader] : []
        }
    case .any: return cluster.members
    case .replica, .standby: return cluster.members.filter { $0.name != cluster.leader?.name }
    }
}

/// `dsn`: `host=H port=P` of the chosen member (leader by default).
public func renderDSN(_ cluster: ClusterView, role: MemberRoleFilter?, member: String?) throws -> String {
    if member != nil && role != nil { throw CtlError("--role and --member are mutually exclusive options") }
    let candidates = members(of: cluster, role: member != nil ? .any : (role ?? .leader))
    guard let chosen = candidates.first(where: { member == nil || $0.name == member }),
          let hostPort = chosen.connHostPort else {
        throw CtlError("Can not find a suitable member")
    }
    return "host=\(hostPort.host) port=\(hostPort.port)"
}
