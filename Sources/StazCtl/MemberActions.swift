import StazCore

/// Prints the member table as patronictl's `output_members` does before acting on members.
func echoClusterTable(_ view: ClusterView, name: String) {
    CtlIO.current.write(renderClusterList(view, name: name))
}

/// `-r/--role` value: one of patronictl's role names; click's message otherwise.
func parseRoleOption(_ text: String) throws -> MemberRoleFilter {
    guard let role = MemberRoleFilter(rawValue: text) else {
        throw CtlError("Invalid value for '--role' / '-r': '\(text)' is not one of "
                       + MemberRoleFilter.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ") + ".")
    }
    return role
}

/// patronictl's `get_members`: the members matching `role` and `memberNames`, after showing
/// the table; asks which member when none is named (unless forced), and for confirmation.
/// `roleDescription` is Python's `repr(role)` in "No ... among provided members": `'any'`
/// for a role from the command line, `replica` for reinit's built-in role.
func selectMembers(_ view: ClusterView, clusterName: String, memberNames: [String], role: MemberRoleFilter,
                   roleDescription: String, force: Bool, action: String,
                   askConfirmation: Bool = true) throws -> [Member] {
    let candidates = members(of: view, role: role)
    let candidateNames = candidates.map(\.name)
    // patronictl tests `not force or role`; the role is always set, so this always runs.
    if memberNames.isEmpty && candidates.isEmpty {
        throw CtlError("\(clusterName) cluster doesn't have any members")
    }
    echoClusterTable(view, name: clusterName)

    var chosen: [String]
    if !memberNames.isEmpty {
        chosen = memberNames.filter { candidateNames.contains($0) }
        if chosen.isEmpty { throw CtlError("No \(roleDescription) among provided members") }
    } else if action != "reinitialize" {
        chosen = candidateNames
    } else {
        chosen = []
    }
    if chosen.isEmpty && !force {
        chosen = [try prompt("Which member do you want to \(action) [\(candidateNames.joined(separator: ", "))]?",
                             default: "")]
    }
    for name in chosen where !candidateNames.contains(name) {
        throw CtlError("\(name) is not a member of cluster")
    }
    let selected = candidates.filter { chosen.contains($0.name) }
    if askConfirmation {
        try confirmMembersAction(selected, force: force, action: action)
    }
    return selected
}

/// patronictl's `confirm_members_action`.
func confirmMembersAction(_ members: [Member], force: Bool, action: String,
                          scheduledAt: ScheduledTime? = nil, pending: Bool = false) throws {
    guard !force else { return }
    let names = members.map(\.name).joined(separator: ", ")
    if let scheduledAt {
        let question = pending
            ? "The nodes needing a restart will be identified at the scheduled time, and might be different from "
              + "the ones showing pending restart right now. Is this fine?"
            : "Are you sure you want to schedule \(action) of members \(names) at \(scheduledAt.pythonString)?"
        if !(try confirm(question)) { throw CtlError("Aborted scheduled \(action)") }
    } else if !(try confirm("Are you sure you want to \(action) members \(names)?")) {
        throw CtlError("Aborted \(action)")
    }
}

/// patronictl's `check_response`: `Failed: ...` for status >= 400, else `Success: ...`
/// (unless silent). Returns whether the call succeeded.
@discardableResult
func checkResponse(_ response: RESTResponse, memberName: String, action: String, silentSuccess: Bool = false) -> Bool {
    if response.status >= 400 {
        echo("Failed: \(action) for member \(memberName), status code=\(response.status), (\(response.body))")
        return false
    }
    if !silentSuccess { echo("Success: \(action) for member \(memberName)") }
    return true
}

/// patronictl's `get_all_members_leader_first`: members with an `api_url`, leader first.
func membersLeaderFirst(_ view: ClusterView) -> [Member] {
    let leader = view.leaderMember.flatMap { $0.apiURL != nil ? $0 : nil }
    return (leader.map { [$0] } ?? []) + view.members.filter { $0.apiURL != nil && $0.name != leader?.name }
}

/// A value of the DCS `config` key as Python prints it (`str(value)`), e.g. for loop_wait.
func configValueText(_ view: ClusterView, _ key: String) -> String? {
    guard let value = view.config?.data[key], pythonTruthy(value) else { return nil }
    return pythonStr(value)
}

/// Patroni's `global_config.check_mode`: `parse_bool` of a config key.
func configFlag(_ view: ClusterView, _ key: String) -> Bool {
    view.config?.data[key]?.boolValue ?? false
}
