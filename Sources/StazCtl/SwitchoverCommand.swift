import ArgumentParser
import Foundation
import StazCore

struct SwitchoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "switchover", abstract: "Switchover to a replica")
    @OptionGroup var globals: GlobalOptions
    @Argument var clusterName: String?
    @Option(name: [.customLong("leader"), .customLong("primary")], help: "The name of the current leader") var leader: String?
    @Option(help: "The name of the candidate") var candidate: String?
    @Option(help: "Timestamp of a scheduled switchover in unambiguous format (e.g. ISO 8601)") var scheduled: String?
    @Flag(help: "Do not ask for confirmation at any point") var force = false

    func run() async throws {
        try await runFailoverOrSwitchover(action: "switchover", globals: globals, clusterName: clusterName,
                                          candidate: candidate, force: force, switchoverLeader: leader,
                                          scheduled: scheduled)
    }
}

struct FailoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "failover", abstract: "Failover to a replica")
    @OptionGroup var globals: GlobalOptions
    @Argument var clusterName: String?
    @Option(help: "The name of the candidate") var candidate: String?
    @Flag(help: "Do not ask for confirmation at any point") var force = false

    func run() async throws {
        try await runFailoverOrSwitchover(action: "failover", globals: globals, clusterName: clusterName,
                                          candidate: candidate, force: force, switchoverLeader: nil, scheduled: nil)
    }
}

/// patronictl's `_do_failover_or_switchover`: checks and prompts, then `POST /<action>` to the
/// leader (the candidate when there is none), `/failover` again on a 501 from an old server,
/// and writing the `failover` key directly when no member can be asked.
func runFailoverOrSwitchover(action: String, globals: GlobalOptions, clusterName: String?, candidate: String?,
                             force: Bool, switchoverLeader: String?, scheduled: String?) async throws {
    try await CtlSession.run(globals, cluster: clusterName) { session in
        let name = session.clusterName
        var view = try await session.load()
        echo("Current cluster topology")
        echoClusterTable(view, name: name)
        let plan = try planFailover(view, action: action, clusterName: name, candidate: candidate, force: force,
                                    switchoverLeader: switchoverLeader, scheduled: scheduled)
        let target = view.leaderMember ?? (plan.candidate.flatMap { view.member(named: $0) })
        do {
            guard let target else { throw RESTUnreachable(description: "no member to ask") }
            var response = try await session.rest.request(target, method: .POST, endpoint: action, body: plan.requestBody)
            // An old server without /switchover.
            if response.status == 501 && action == "switchover" && response.body.contains("Server does not support this operation") {
                response = try await session.rest.request(target, method: .POST, endpoint: "failover", body: plan.requestBody)
            }
            guard response.status == 200 || response.status == 202 else {
                echo("\(action.prefix(1).uppercased() + action.dropFirst()) failed, details: \(response.status), \(response.body)")
                return
            }
            view = (try? await session.load()) ?? view
            echo("\(ctlTimestamp()) \(response.body)")
        } catch is RESTUnreachable {
            echo("\(ctlTimestamp()) Could not \(action) using Patroni api, falling back to DCS")
            _ = try await session.dcs.setFailover(plan.dcsValue, version: nil)
        }
        echoClusterTable(view, name: name)
    }
}

/// What a failover/switchover request will ask for, after the checks and prompts.
struct FailoverPlan: Equatable {
    var action = "switchover"
    var candidate: String?
    var leader: String?
    var scheduledAt: ScheduledTime?

    /// `{"candidate": ..., "leader": ..., "scheduled_at": ...}` as patronictl posts it.
    var requestBody: JSONValue {
        var body = JSONObject([("candidate", candidate.map { .string($0) } ?? .null)])
        if action == "switchover" { body["leader"] = leader.map { .string($0) } ?? .null }
        if let scheduledAt { body["scheduled_at"] = .string(scheduledAt.isoFormat) }
        return .object(body)
    }

    /// The DCS `failover` value of patronictl's `manual_failover` fallback.
    var dcsValue: JSONValue {
        var value = JSONObject()
        if let leader, !leader.isEmpty { value["leader"] = .string(leader) }
        if let candidate, !candidate.isEmpty { value["member"] = .string(candidate) }
        if let scheduledAt { value["scheduled_at"] = .string(scheduledAt.isoFormat) }
        return .object(value)
    }
}

/// The checks, prompts and confirmation of `_do_failover_or_switchover`, before any request.
func planFailover(_ view: ClusterView, action: String, clusterName: String, candidate: String?, force: Bool,
                  switchoverLeader: String?, scheduled: String?) throws -> FailoverPlan {
    var plan = FailoverPlan(action: action, candidate: candidate, leader: switchoverLeader)
    let clusterLeader = view.leader?.name
    if action == "switchover" {
        guard let clusterLeader, !clusterLeader.isEmpty else { throw CtlError("This cluster has no leader") }
        if plan.leader == nil {
            plan.leader = force ? clusterLeader
                : try prompt(isStandbyCluster(view) ? "Standby Leader" : "Primary", default: clusterLeader)
        }
        if plan.leader != clusterLeader {
            throw CtlError("Member \(plan.leader ?? "None") is not the leader of cluster \(clusterName)")
        }
    }
    let candidateNames = view.members.filter { $0.name != clusterLeader && !$0.noFailover }.map(\.name).sorted()
    if candidateNames.isEmpty { throw CtlError("No candidates found to \(action) to") }
    if plan.candidate == nil && !force {
        plan.candidate = try prompt("Candidate " + pythonListRepr(candidateNames), default: "")
    }
    if action == "failover" && (plan.candidate ?? "").isEmpty {
        throw CtlError("Failover could be performed only to a specific candidate")
    }
    if let chosen = plan.candidate, !chosen.isEmpty, !candidateNames.contains(chosen) {
        if chosen == clusterLeader { throw CtlError("Member \(chosen) is already the leader of cluster \(clusterName)") }
        throw CtlError("Member \(chosen) does not exist in cluster \(clusterName) or is tagged as nofailover")
    }
    if !force && action == "failover" && isSynchronousMode(view), let syncLeader = view.sync.leader, !syncLeader.isEmpty {
        let chosen = plan.candidate ?? ""
        let matches = chosen.lowercased() == syncLeader.lowercased()
            || view.sync.syncStandbys.contains { $0.lowercased() == chosen.lowercased() }
        if !matches, !(try confirm("Are you sure you want to failover to the asynchronous node \(chosen)?")) {
            throw CtlError("Aborting " + action)
        }
    }
    if action == "switchover" {
        var when = scheduled
        if when == nil && !force {
            when = try prompt("When should the switchover take place (e.g. \(nextHourExample()) ) ", default: "now")
        }
        plan.scheduledAt = try ScheduledTime.parse(when)
        if plan.scheduledAt != nil && configFlag(view, "pause") {
            throw CtlError("Can't schedule switchover in the paused state")
        }
    }
    if !force {
        let demote = clusterLeader.map { ", demoting current leader \($0)" } ?? ""
        if let at = plan.scheduledAt {
            if !(try confirm("Are you sure you want to schedule switchover of cluster \(clusterName) at \(at.isoFormat)\(demote)?")) {
                throw CtlError("Aborting scheduled " + action)
            }
        } else if !(try confirm("Are you sure you want to \(action) cluster \(clusterName)\(demote)?")) {
            throw CtlError("Aborting " + action)
        }
    }
    return plan
}

/// Python's `str(list_of_str)`: `['a', 'b']`.
func pythonListRepr(_ items: [String]) -> String {
    "[" + items.map { "'" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'" }
        .joined(separator: ", ") + "]"
}

/// Patroni's `is_standby_cluster`: a `standby_cluster` section with host, port or restore_command.
func isStandbyCluster(_ view: ClusterView) -> Bool {
    guard let section = view.config?.data["standby_cluster"]?.objectValue else { return false }
    return ["host", "port", "restore_command"].contains { section[$0].map(pythonTruthy) ?? false }
}

/// Patroni's `is_synchronous_mode`: `synchronous_mode` on (or `quorum`) outside a standby cluster.
func isSynchronousMode(_ view: ClusterView) -> Bool {
    let mode = view.config?.data["synchronous_mode"]
    let quorum = mode.map { pythonStr($0).lowercased() == "quorum" } ?? false
    return (configFlag(view, "synchronous_mode") || quorum) && !isStandbyCluster(view)
}
