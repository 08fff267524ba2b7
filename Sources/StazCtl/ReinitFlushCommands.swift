import ArgumentParser
import Foundation
import StazCore

struct ReinitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reinit", abstract: "Reinitialize cluster member")
    @OptionGroup var globals: GlobalOptions
    @Argument var clusterName: String
    @Argument var memberNames: [String] = []
    @Flag(help: "Do not ask for confirmation at any point") var force = false
    @Flag(name: .customLong("from-leader"), help: "Get basebackup from leader") var fromLeader = false
    @Flag(help: "Wait until reinitialization completes") var wait = false

    func run() async throws {
        try await CtlSession.run(globals, cluster: clusterName) { session in
            let view = try await session.load()
            let members = try selectMembers(view, clusterName: clusterName, memberNames: memberNames, role: .replica,
                                            roleDescription: "replica", force: force, action: "reinitialize")
            var waitOn: [Member] = []
            for member in members {
                var forceBody = force
                var started = false
                while true {
                    let body: JSONValue = ["force": .bool(forceBody), "from_leader": .bool(fromLeader)]
                    let response = try await session.rest.request(member, method: .POST, endpoint: "reinitialize", body: body)
                    started = checkResponse(response, memberName: member.name, action: "reinitialize")
                    if !started && response.body.hasSuffix(" already in progress") && !force,
                       try confirm("Do you want to cancel it and reinitialize anyway?") {
                        forceBody = true
                        continue
                    }
                    break
                }
                if started && wait { waitOn.append(member) }
            }
            var lastDisplayed: [String] = []
            while !waitOn.isEmpty {
                let names = waitOn.map(\.name)
                if names != lastDisplayed {
                    echo("Waiting for reinitialize to complete on: " + names.joined(separator: ", "))
                    lastDisplayed = names
                }
                try await Task.sleep(for: .seconds(2))
                for member in waitOn {
                    let response = try await session.rest.request(member, endpoint: "patroni")
                    let state = (try? JSONValue.parse(response.body))?["state"]?.stringValue
                    if state != "creating replica" {
                        echo("Reinitialize is completed on: \(member.name)")
                        waitOn.removeAll { $0.name == member.name }
                    }
                }
            }
        }
    }
}

struct FlushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flush", abstract: "Discard scheduled events",
        usage: "stazctl flush CLUSTER_NAME [MEMBER_NAMES]... {restart|switchover}")
    @OptionGroup var globals: GlobalOptions
    @Argument(help: "CLUSTER_NAME [MEMBER_NAMES]... {restart|switchover}") var arguments: [String] = []
    @Option(name: [.customShort("r"), .customLong("role")], help: "Flush only members with this role")
    var role: String = "any"
    @Flag(help: "Do not ask for confirmation at any point") var force = false

    func run() async throws {
        guard arguments.count >= 2 else {
            throw CtlError(arguments.isEmpty ? "Missing argument 'CLUSTER_NAME'." : "Missing argument '{restart|switchover}'.")
        }
        let clusterName = arguments[0], target = arguments[arguments.count - 1]
        let memberNames = Array(arguments.dropFirst().dropLast())
        guard target == "restart" || target == "switchover" else {
            throw CtlError("Invalid value for '{restart|switchover}': '\(target)' is not one of 'restart', 'switchover'.")
        }
        let roleFilter = try parseRoleOption(role)
        try await CtlSession.run(globals, cluster: clusterName) { session in
            let view = try await session.load()
            if target == "restart" {
                let members = try selectMembers(view, clusterName: clusterName, memberNames: memberNames, role: roleFilter,
                                                roleDescription: "'\(role)'", force: force, action: "flush")
                for member in members {
                    if member.data["scheduled_restart"].map(pythonTruthy) == true {
                        let response = try await session.rest.request(member, method: .DELETE, endpoint: "restart")
                        checkResponse(response, memberName: member.name, action: "flush scheduled restart")
                    } else {
                        echo("No scheduled restart for member \(member.name)")
                    }
                }
                return
            }
            guard let failover = view.failover, let scheduledAt = failover.scheduledAt, !scheduledAt.isEmpty else {
                echo("No pending scheduled switchover")
                return
            }
            for member in membersLeaderFirst(view) {
                guard let response = try? await session.rest.request(member, method: .DELETE, endpoint: "switchover") else {
                    continue  // patronictl logs "Member X is not accessible" at WARNING on stderr
                }
                if response.status == 200 || response.status == 404 {
                    echo((response.status == 200 ? "Success: " : "Failed: ") + response.body)
                    return
                }
                echo("Failed: member=\(member.name), status_code=\(response.status), (\(response.body))")
            }
            echo("\(ctlTimestamp()) Could not find any accessible member of cluster \(clusterName)")
            _ = try await session.dcs.setFailover(.object(JSONObject()), version: failover.version)
        }
    }
}
