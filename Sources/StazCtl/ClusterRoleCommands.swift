import ArgumentParser
import Foundation
import StazCore

struct DemoteClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demote-cluster", abstract: "Demote cluster to a standby cluster")
    @OptionGroup var globals: GlobalOptions
    @Argument var clusterName: String?
    @Flag(help: "Do not ask for confirmation at any point") var force = false
    @Option(help: "Address of the remote node") var host: String?
    @Option(help: "Port of the remote node") var port: Int?
    @Option(name: .customLong("restore-command"), help: "Command to restore WAL records from the remote primary")
    var restoreCommand: String?
    @Option(name: .customLong("primary-slot-name"), help: "Name of the slot on the remote node to use for replication")
    var primarySlotName: String?

    func run() async throws {
        var standby = JSONObject()
        if let host, !host.isEmpty { standby["host"] = .string(host) }
        if let port, port != 0 { standby["port"] = .int(Int64(port)) }
        if let primarySlotName, !primarySlotName.isEmpty { standby["primary_slot_name"] = .string(primarySlotName) }
        if let restoreCommand, !restoreCommand.isEmpty { standby["restore_command"] = .string(restoreCommand) }
        guard standby["host"] != nil || standby["port"] != nil || standby["restore_command"] != nil else {
            throw CtlError("At least --host, --port or --restore-command should be specified")
        }
        try await changeClusterRole(globals: globals, clusterName: clusterName, force: force, standby: standby)
    }
}

struct PromoteClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "promote-cluster", abstract: "Promote cluster, make it run standalone")
    @OptionGroup var globals: GlobalOptions
    @Argument var clusterName: String?
    @Flag(help: "Do not ask for confirmation at any point") var force = false

    func run() async throws {
        try await changeClusterRole(globals: globals, clusterName: clusterName, force: force, standby: nil)
    }
}

/// patronictl's `change_cluster_role`: `PATCH /config {"standby_cluster": ...}` on the leader
/// (null to promote), then report every second until the leader runs in the new role (and,
/// demoting, the former leader runs again).
func changeClusterRole(globals: GlobalOptions, clusterName: String?, force: Bool, standby: JSONObject?) async throws {
    try await CtlSession.run(globals, cluster: clusterName) { session in
        let name = session.clusterName
        let demote = standby != nil
        let action = demote ? "demot" : "promot"
        let targetRole = demote ? "standby_leader" : "primary"
        let view = try await session.load()
        guard let leader = view.leaderMember, let leaderName = view.leader?.name else {
            throw CtlError("Cluster has no leader, \(action)ion is not possible")
        }
        if leader.role == targetRole { throw CtlError("Cluster is already in the required state") }
        echo("Current cluster topology")
        echoClusterTable(view, name: name)
        if !force, !(try confirm("Are you sure you want to \(action)e \(name) cluster?")) {
            throw CtlError("Aborted cluster \(action)ion")
        }
        let response: RESTResponse
        do {
            response = try await session.rest.request(leader, method: .PATCH, endpoint: "config",
                                                      body: .object(JSONObject([("standby_cluster", standby.map { .object($0) } ?? .null)])))
        } catch {
            throw CtlError("Failed to \(action)e \(name) cluster: \(error)")
        }
        guard response.status == 200 else {
            throw CtlError("Failed to \(action)e \(name) cluster: /config PATCH status code=\(response.status), (\(response.body))")
        }
        var current = view
        while true {
            current = try await session.load()
            let newLeader = current.leaderMember
            let formerState = current.member(named: leaderName)?.state
            if let newLeader, newLeader.role == targetRole, newLeader.state == "running", !demote || formerState == "running" {
                echo("\(ctlTimestamp(precision: 0)) cluster is successfully \(action)ed")
                break
            }
            var parts = ["\(ctlTimestamp(precision: 0)) cluster is unlocked: \(current.leader == nil ? "True" : "False")",
                         "leader role: \(newLeader?.role ?? "None")", "leader state: \(newLeader?.state ?? "None")"]
            if demote, let newLeader, newLeader.name != leaderName, let formerState {
                parts.append("previous leader state: '\(formerState)'")
            }
            echo(parts.joined(separator: ", "))
            try await Task.sleep(for: .seconds(1))
        }
        echoClusterTable(current, name: name)
    }
}
