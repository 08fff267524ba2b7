import ArgumentParser
import Foundation
import StazCore

struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Disable auto failover")
    @OptionGroup var globals: GlobalOptions
    @Argument var clusterName: String?
    @Flag(help: "Wait until pause is applied on all nodes") var wait = false

    func run() async throws { try await togglePause(globals: globals, clusterName: clusterName, paused: true, wait: wait) }
}

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Resume auto failover")
    @OptionGroup var globals: GlobalOptions
    @Argument var clusterName: String?
    @Flag(help: "Wait until pause is cleared on all nodes") var wait = false

    func run() async throws { try await togglePause(globals: globals, clusterName: clusterName, paused: false, wait: wait) }
}

/// patronictl's `toggle_pause`: `PATCH /config {"pause": true|null}` on the first member that
/// answers (leader first), optionally waiting until every member reports the new state.
func togglePause(globals: GlobalOptions, clusterName: String?, paused: Bool, wait: Bool) async throws {
    try await CtlSession.run(globals, cluster: clusterName) { session in
        let view = try await session.load()
        if configFlag(view, "pause") == paused {
            throw CtlError("Cluster is \(paused ? "already" : "not") paused")
        }
        let verb = paused ? "pause" : "resume", done = paused ? "paused" : "resumed"
        for member in membersLeaderFirst(view) {
            // An unreachable member is skipped (patronictl logs it as a warning).
            guard let response = try? await session.rest.request(member, method: .PATCH, endpoint: "config",
                                                                  body: ["pause": paused ? true : nil]) else { continue }
            if response.status == 200 {
                if wait {
                    try await waitUntilPauseIsApplied(session, paused: paused, before: view)
                } else {
                    echo("Success: cluster management is \(done)")
                }
            } else {
                echo("Failed: \(verb) cluster management status code=\(response.status), (\(response.body))")
            }
            return
        }
        throw CtlError("Can not find accessible cluster member")
    }
}

/// patronictl's `wait_until_pause_is_applied`: polls the member keys every second for
/// loop_wait + 1 seconds until every member that had an API reports `pause` = `paused`.
func waitUntilPauseIsApplied(_ session: CtlSession, paused: Bool, before: ClusterView) async throws {
    echo("'\(paused ? "pause" : "resume")' request sent, waiting until it is recognized by all nodes")
    let old = Dictionary(before.members.filter { $0.apiURL != nil }.map { ($0.name, $0.version) },
                         uniquingKeysWith: { first, _ in first })
    let loopWait = before.config?.data["loop_wait"].flatMap { pythonTruthy($0) ? $0 : nil }
    let loopWaitSeconds = loopWait?.doubleValue ?? 10
    let deadline = Date().addingTimeInterval(loopWaitSeconds + 1)
    var view = before
    var allApplied = false
    while Date() < deadline {
        view = try await session.load()
        if view.members.filter({ old[$0.name] != nil }).allSatisfy({ $0.isPaused == paused }) {
            allApplied = true
            break
        }
        try await Task.sleep(for: .seconds(1))
    }
    if !allApplied {
        let remaining = view.members.filter { member in
            member.isPaused != paused && old[member.name] != nil && old[member.name]! != member.version
        }.map(\.name)
        if !remaining.isEmpty {
            echo("\(remaining.joined(separator: ", ")) members didn't recognized pause state after \(loopWait.map(pythonStr) ?? "10") seconds")
            return
        }
    }
    echo("Success: cluster management is \(paused ? "paused" : "resumed")")
}
