import Foundation
import StazAPI
import StazConcurrency
import StazConfig
import StazCore
import StazDCS
import StazHA

/// REST actions served by the daemon (Patroni's patroni/api.py `do_POST_*` handlers): requests arrive validated; this does
/// the DCS work and words the replies as Patroni does.
struct DaemonActions: APIActions {
    let ha: HAController
    var mesh: MeshRuntime? = nil

    func reload() async { await ha.reloadLocalConfiguration() }

    func refreshWALPositions() async {
        // The router asks only over a standby's snapshot; should it have changed since, the
        // positions read are dropped (`onlyOverAStandbys`).
        let (postgres, apiState) = (ha.postgres, ha.apiState)
        // Peers wait 2 s for the answer (`PeerProber`): past 1 s the last cycle's positions
        // are served rather than none.
        let observation = await withDeadline(.seconds(1)) { await postgres.liveWALObservation(timeout: 1) }
        if let observation = observation ?? nil { HAController.publishWALPositions(observation, in: apiState, onlyOverAStandbys: true) }
    }

    // MARK: switchover / failover

    func switchover(_ request: SwitchoverRequest) async -> APIResponse {
        let dcs = ha.dcs
        guard let cluster = try? await dcs.loadCluster(fresh: true) else { return .text(503, "DCS is not accessible") }
        if request.scheduledAt == nil, let problem = await failoverImpossibility(cluster, request) {
            return .text(412, problem)
        }
        let key = FailoverRequest(leader: request.leader, candidate: request.candidate, scheduledAt: request.scheduledAt?.isoformat)
        guard (try? await dcs.setFailover(key.json, version: nil)) == true else {
            return .text(503, "failed to write failover key into DCS")
        }
        ha.requestWakeup()
        let title = request.action.prefix(1).uppercased() + request.action.dropFirst()
        if request.scheduledAt != nil { return .text(202, "\(title) scheduled") }
        return await pollFailoverResult(previousLeader: cluster.leader?.name, candidate: request.candidate,
                                        action: request.action, title: title)
    }

    /// Patroni's `is_failover_possible` (REST side): the 412 texts, candidates probed over REST.
    func failoverImpossibility(_ cluster: ClusterView, _ request: SwitchoverRequest) async -> String? {
        let action = request.action
        if let leader = request.leader, cluster.leader?.name != leader { return "leader name does not match" }
        let settings = await ha.settings
        let syncActive = settings.synchronousMode != "off" && cluster.sync.leader != nil
        let candidates: [Member]
        if let candidate = request.candidate {
            if action == "switchover", syncActive, !cluster.sync.contains(candidate) {
                return "candidate name does not match with sync_standby"
            }
            candidates = cluster.members.filter { $0.name == candidate }
            if candidates.isEmpty { return "candidate does not exists" }
        } else if syncActive {
            candidates = cluster.members.filter { cluster.sync.contains($0.name) }
            if candidates.isEmpty { return "\(action) is not possible: can not find sync_standby" }
        } else {
            candidates = cluster.members.filter { cluster.leader == nil || ($0.name != cluster.leader?.name && $0.apiURL != nil) }
            if candidates.isEmpty { return "\(action) is not possible: cluster does not have members except leader" }
        }
        let prober = ha.prober
        let statuses = await withTaskGroup(of: PeerStatus.self) { group in
            for member in candidates { group.addTask { await prober.probeOne(member) } }
            var out: [PeerStatus] = []
            for await status in group { out.append(status) }
            return out
        }
        if statuses.contains(where: { $0.reachable && !$0.noFailover }) { return nil }
        return "\(action) is not possible: no good candidates have been found"
    }

    /// Patroni's `poll_failover_result`: up to 2×max(10, loop_wait) s for a new leader. Checked
    /// every 0.25 s (Patroni: 1 s) so a fast switchover is reported fast.
    func pollFailoverResult(previousLeader: String?, candidate: String?, action: String, title: String) async -> APIResponse {
        let loopWait = await ha.settings.loopWait
        let limit = 2 * max(10, Int(loopWait))
        let deadline = ContinuousClock.now + .seconds(limit)
        let past = action.dropLast(4)  // "switch" / "fail"
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(250))
            guard let view = try? await ha.dcs.loadCluster(fresh: true) else { continue }
            if let leader = view.leader?.name, leader != previousLeader {
                if candidate == nil || candidate == leader {
                    return .text(200, "Successfully \(past)ed over to \"\(leader)\"")
                }
                return .text(200, "\(past.prefix(1).uppercased() + past.dropFirst())ed over to \"\(leader)\" instead of \"\(candidate!)\"")
            }
            if view.failover == nil { return .text(503, "\(title) failed") }
        }
        return .text(503, "\(title) status unknown after \(limit) seconds; operation may still be in progress")
    }

    func deleteScheduledSwitchover() async -> APIResponse {
        guard let cluster = try? await ha.dcs.loadCluster(fresh: true) else { return .httpError(503) }
        guard let failover = cluster.failover, failover.scheduledAt != nil else {
            return .text(404, "no switchover is scheduled")
        }
        guard (try? await ha.dcs.setFailover(.object(JSONObject()), version: failover.version)) == true else {
            return .httpError(409)
        }
        return .text(200, "scheduled switchover deleted")
    }

    // MARK: restart / reinitialize

    func restart(_ request: RestartRequest) async -> APIResponse { await ha.restartRequested(request) }

    func deleteScheduledRestart() async -> APIResponse {
        await ha.deleteScheduledRestart()
            ? .text(200, "scheduled restart deleted")
            : .text(404, "no restarts are scheduled")
    }

    func reinitialize(force: Bool, fromLeader: Bool) async -> APIResponse {
        if let refusal = await ha.reinitialize(force: force, fromLeader: fromLeader) { return .text(503, refusal) }
        return .text(200, "reinitialize started")
    }

    // MARK: dynamic configuration

    func patchConfig(_ patch: JSONObject) async -> APIResponse {
        guard let cluster = try? await ha.dcs.loadCluster(fresh: true), let config = cluster.config,
              let version = config.version, version != "0" else { return .httpError(503) }
        var data = config.data
        if ConfigPatch.apply(patch, to: &data) {
            if let refusal = await refusal(of: data, replacing: config.data) { return refusal }
            guard (try? await ha.dcs.setConfig(.object(data), version: version)) == true else { return .httpError(409) }
        }
        ha.requestWakeup()
        return .json(200, JSONValue.object(data))
    }

    func replaceConfig(_ config: JSONObject) async -> APIResponse {
        let current = try? await ha.dcs.loadCluster(fresh: true).config
        if current?.data != config {
            if let refusal = await refusal(of: config, replacing: current?.data ?? JSONObject()) { return refusal }
            guard (try? await ha.dcs.setConfig(.object(config), version: nil)) == true else { return .httpError(502) }
        }
        ha.requestWakeup()
        return .json(200, JSONValue.object(config))
    }

    func checkConfig(_ config: JSONObject) async -> APIResponse {
        let current = (try? await ha.dcs.loadCluster(fresh: true).config?.data) ?? JSONObject()
        return await refusal(of: config, replacing: current) ?? .text(200, "configuration is valid")
    }

    /// 400 naming each key of `proposed` that staz or this member's PostgreSQL would refuse
    /// (and `current` did not already have), so nothing invalid is ever written.
    private func refusal(of proposed: JSONObject, replacing current: JSONObject) async -> APIResponse? {
        let issues = DynamicConfigValidation.newIssues(proposed: proposed, current: current,
                                                       catalog: await ha.postgres.parameterCatalog())
        guard !issues.isEmpty else { return nil }
        return .text(400, "invalid configuration, nothing was changed:\n" + issues.map(\.description).joined(separator: "\n"))
    }
}
