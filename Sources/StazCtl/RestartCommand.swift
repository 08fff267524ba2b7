import ArgumentParser
import Foundation
import StazCore

struct RestartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "restart", abstract: "Restart cluster member")
    @OptionGroup var globals: GlobalOptions
    @Argument var clusterName: String
    @Argument var memberNames: [String] = []
    @Option(name: [.customShort("r"), .customLong("role")], help: "Restart only members with this role")
    var role: String = "any"
    @Flag(name: .customLong("any"), help: "Restart a single member only") var any = false
    @Option(help: "Timestamp of a scheduled restart in unambiguous format (e.g. ISO 8601)") var scheduled: String?
    @Option(name: .customLong("pg-version"), help: "Restart if the PostgreSQL version is less than provided (e.g. 9.5.2)")
    var pgVersion: String?
    @Flag(help: "Restart if pending") var pending = false
    @Option(help: "Return error and fail over if necessary when restarting takes longer than this.") var timeout: String?
    @Flag(help: "Do not ask for confirmation at any point") var force = false

    func run() async throws {
        let roleFilter = try parseRoleOption(role)
        try await CtlSession.run(globals, cluster: clusterName) { session in
            let view = try await session.load()
            var members = try selectMembers(view, clusterName: clusterName, memberNames: memberNames, role: roleFilter,
                                            roleDescription: "'\(role)'", force: force, action: "restart",
                                            askConfirmation: false)
            var scheduled = self.scheduled
            if scheduled == nil && !force {
                scheduled = try prompt("When should the restart take place (e.g. \(nextHourExample())) ", default: "now")
            }
            let scheduledAt = try ScheduledTime.parse(scheduled)

            var content = JSONObject()
            if pending {
                content["restart_pending"] = true
                // A scheduled restart decides at its time which members still need it.
                if scheduledAt == nil { members = members.filter(\.pendingRestart) }
            }
            if any { members = Array(members.shuffled().prefix(1)) }
            try confirmMembersAction(members, force: force, action: "restart", scheduledAt: scheduledAt, pending: pending)

            var version = pgVersion
            if version == nil && !force {
                version = try prompt("Restart if the PostgreSQL version is less than provided (e.g. 9.5.2) ", default: "")
            }
            if let version, !version.isEmpty {
                try validatePostgresVersion(version)
                content["postgres_version"] = .string(version)
            }
            if let scheduledAt {
                if configFlag(view, "pause") { throw CtlError("Can't schedule restart in the paused state") }
                content["schedule"] = .string(scheduledAt.isoFormat)
            }
            if let timeout { content["timeout"] = .string(timeout) }

            for member in members {
                if content["schedule"] != nil && force && member.data["scheduled_restart"].map(pythonTruthy) == true {
                    let flushed = try await session.rest.request(member, method: .DELETE, endpoint: "restart")
                    checkResponse(flushed, memberName: member.name, action: "flush scheduled restart", silentSuccess: true)
                }
                let response = try await session.rest.request(member, method: .POST, endpoint: "restart", body: .object(content))
                echo(restartOutcome(response, member: member.name))
            }
        }
    }
}

/// The line patronictl prints for a member's `POST /restart` answer.
func restartOutcome(_ response: RESTResponse, member: String) -> String {
    switch response.status {
    case 200: return "Success: restart on member \(member)"
    case 202: return "Success: restart scheduled on member \(member)"
    case 409: return "Failed: another restart is already scheduled on member \(member)"
    default: return "Failed: restart for member \(member), status code=\(response.status), (\(response.body))"
    }
}

/// The example in the "When should ... take place" prompts: local time one hour ahead.
func nextHourExample(now: Date = Date()) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyy-MM-dd'T'HH:mm"
    return formatter.string(from: now.addingTimeInterval(3600))
}

struct ReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reload", abstract: "Reload cluster member configuration")
    @OptionGroup var globals: GlobalOptions
    @Argument var clusterName: String
    @Argument var memberNames: [String] = []
    @Option(name: [.customShort("r"), .customLong("role")], help: "Reload only members with this role")
    var role: String = "any"
    @Flag(help: "Do not ask for confirmation at any point") var force = false

    func run() async throws {
        let roleFilter = try parseRoleOption(role)
        try await CtlSession.run(globals, cluster: clusterName) { session in
            let view = try await session.load()
            let members = try selectMembers(view, clusterName: clusterName, memberNames: memberNames, role: roleFilter,
                                            roleDescription: "'\(role)'", force: force, action: "reload")
            for member in members {
                let response = try await session.rest.request(member, method: .POST, endpoint: "reload")
                echo(reloadOutcome(response, member: member.name, loopWait: configValueText(view, "loop_wait") ?? "10"))
            }
        }
    }
}

/// The line patronictl prints for a member's `POST /reload` answer.
func reloadOutcome(_ response: RESTResponse, member: String, loopWait: String) -> String {
    switch response.status {
    case 200: return "No changes to apply on member \(member)"
    case 202: return "Reload request received for member \(member) and will be processed within \(loopWait) seconds"
    default: return "Failed: reload for member \(member), status code=\(response.status), (\(response.body))"
    }
}
