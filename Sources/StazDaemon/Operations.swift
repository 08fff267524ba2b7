import Foundation
import StazAPI
import StazConfig
import StazCore
import StazHA
import StazPostgres

enum OperationError: Error, CustomStringConvertible {
    case prePromoteFailed
    var description: String {
        switch self {
        case .prePromoteFailed: return "the pre_promote script failed, promotion cancelled"
        }
    }
}

/// Restart, reinitialize and the per-role configuration pieces the REST operations rely on.
extension HAController {
    // MARK: restart (POST /restart, scheduled restarts)

    /// `POST /restart`: scheduled → remembered (202/409); immediate → restart now and wait.
    func restartRequested(_ request: RestartRequest) async -> APIResponse {
        let conditions = RestartConditions(role: request.role, postgresVersion: request.postgresVersion,
                                           requirePendingRestart: request.restartPending, timeout: request.timeout)
        if let schedule = request.schedule {
            guard scheduledRestart == nil else { return .text(409, "Another restart is already scheduled") }
            let startTime = await postgres.observe().postmasterStartTime
            var published = request.published
            published["postmaster_start_time"] = startTime.map { .string($0) } ?? .null
            scheduledRestart = ScheduledRestart(at: schedule.epochSeconds, atText: schedule.isoformat,
                                                postmasterStartTime: startTime, conditions: conditions)
            scheduledRestartPublished = published
            await publishScheduledRestart()
            return .text(202, "Restart scheduled")
        }
        let observation = withCommandLinePending(await postgres.observe())
        let role = observation.isRunning && observation.isAcceptingConnections && !observation.isInRecovery ? MemberRole.primary : .replica
        if let reason = conditions.blocker(currentRole: role, serverVersion: observation.serverVersion,
                                           pendingRestart: observation.pendingRestart) {
            logger.info("not proceeding with the restart: \(reason)")
            return .text(503, "restart conditions are not satisfied")
        }
        if let action = memory.longAction { return .text(503, "\(action) already in progress") }
        let generation = beginLongAction("restart", state: .restarting)
        let outcome = await restartPostgres(timeout: conditions.timeout, observation: observation)
        await finishLongAction(generation)
        guard let succeeded = outcome else { return .text(503, "postgres is still starting") }
        return succeeded ? .text(200, "restarted successfully") : .text(503, "restart failed")
    }

    /// `DELETE /restart`.
    func deleteScheduledRestart() async -> Bool {
        guard scheduledRestart != nil else { return false }
        scheduledRestart = nil
        scheduledRestartPublished = nil
        await publishScheduledRestart()
        return true
    }

    func publishScheduledRestart() async {
        var visible = scheduledRestartPublished
        visible?["postmaster_start_time"] = nil
        apiState.update { $0.scheduledRestart = visible }
        if lastCluster != nil { await publishMember(lastObservation) }
    }

    /// The `.restart` step of a scheduled restart: runs in the background like Patroni's.
    func startRestart(timeout: Double?) {
        startLongAction("restart", state: .restarting) { ha in
            _ = await ha.restartPostgres(timeout: timeout, observation: await ha.postgres.observe())
        }
    }

    /// Fast stop, then start with freshly written configuration in the same role (which also
    /// applies pending_restart parameters). true: up; nil: still starting; false: failed.
    func restartPostgres(timeout: Double?, observation: PostgresObservation) async -> Bool? {
        let recovery = observation.isInRecovery ? recoveryForRunningStandby(observation) : nil
        do {
            try await stopPostgres(mode: .fast, checkpointFirst: false, timeout: 60)
            try await startPostgres(recovery: recovery, timeout: timeout, callback: "on_restart")
            return true
        } catch PostgresControlError.timedOut(let detail) {
            logger.warning("restart: \(detail)")
            return nil
        } catch {
            logger.error("restart failed: \(error)")
            return false
        }
    }

    /// The recovery settings of a running standby: what we configured, else (after a daemon
    /// restart) its current upstream among the members, else the leader.
    func recoveryForRunningStandby(_ observation: PostgresObservation) -> RecoveryConfiguration {
        if let currentRecovery { return currentRecovery }
        let members = lastCluster?.members ?? []
        let current = members.first { member in
            guard let hp = member.connHostPort else { return false }
            return hp.host == observation.upstreamHost && hp.port == observation.upstreamPort
        }
        let upstream = (current ?? lastCluster?.leaderMember).flatMap { $0.name == me ? nil : upstreamTarget($0) }
        return RecoveryConfiguration(upstream: upstream, slotName: mySlot)
    }

    // MARK: reinitialize (POST /reinitialize)

    /// nil when started, else Patroni's refusal text.
    func reinitialize(force: Bool, fromLeader: Bool) async -> String? {
        guard let cluster = try? await dcs.loadCluster(fresh: true) else { return "DCS is not accessible" }
        guard let leader = cluster.leader else { return "Cluster has no leader, can not reinitialize" }
        let holding = await keeper.holdingLeader
        if leader.name == me || holding { return "I am the leader, can not reinitialize" }
        if force, memory.longAction != nil {
            logger.warning("reinitialize: cancelling \(memory.longAction ?? "")")
            longActionTask?.cancel()
            longActionTask = nil
            memory.record(.longActionEnded, now: monotonicNow)
        }
        if let action = memory.longAction { return "\(action) already in progress" }
        let cloneable = cluster.members.filter { $0.cloneFrom && $0.name != me && $0.name != leader.name && $0.memberState == .running }
        let source = fromLeader ? cluster.leaderMember : (cloneable.randomElement() ?? cluster.leaderMember)
        guard let source, let upstream = upstreamTarget(source) else { return "Cluster has no leader, can not reinitialize" }
        startLongAction("reinitialize", state: .creatingReplica) { ha in
            do {
                try await ha.stopPostgres(mode: .immediate, checkpointFirst: false, timeout: 30)
                try await ha.postgres.wipeDataDirectory()
            } catch {
                ha.logger.error("reinitialize: could not remove the old data directory: \(error)")
                return
            }
            await ha.cloneReplica(from: upstream)
        }
        return nil
    }

    // MARK: role-specific parameters and callbacks

    /// `postgresql.parameters_primary|parameters_replica` from the dynamic configuration.
    static func roleParameterSources(_ settings: DynamicSettings) -> [JSONObject] {
        let section = settings.source["postgresql"]?.objectValue
        return ["parameters_primary", "parameters_replica"].map { section?[$0]?.objectValue ?? JSONObject() }
    }

    /// The dynamic settings with the role's parameters merged over `parameters` (they may not
    /// change the parameters staz owns, as in Patroni).
    func settingsWithRoleParameters(primary: Bool) -> DynamicSettings {
        var merged = settings
        let role = Self.roleParameterSources(settings)[primary ? 0 : 1]
        for (name, value) in role.pairs where !PostgresParameterRules.isCommandLineOption(name) {
            merged.parameters[name] = value
        }
        return merged
    }

    /// Patroni calls `on_start` on the first cycle that finds PostgreSQL running when no
    /// start happened through the daemon yet.
    func fireFirstStartCallback(_ observation: PostgresObservation) {
        guard !startCallbackDone, memory.longAction == nil, observation.isRunning, observation.isAcceptingConnections else { return }
        startCallbackDone = true
        callbacks.fire(config.postgresql.callbacks["on_start"], event: "on_start",
                       role: observation.isInRecovery ? .replica : .primary)
    }
}
