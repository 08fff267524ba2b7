import StazCore
import StazHA
import StazPostgres

/// Carries out a `follow` step: `planFollow` chooses, this only does what it says and reports
/// what it found (rewind verdicts, outcomes) back for the next round.
extension HAController {
    /// Returns whether PostgreSQL was changed on the way.
    func follow(leader: Member?, observation: PostgresObservation) async throws -> Bool {
        await setActsAsStandbyLeader(false)
        return try await follow(target: leader.flatMap(followTarget), observation: observation, role: .replica) {
            self.standbyRecovery(upstream: $0.map(self.upstreamTarget), slotName: self.mySlot)
        }.changedPostgres
    }

    /// Follows `target` (nil: no upstream) with the recovery settings `recovery` gives for it;
    /// `archiveOnly`: the WAL archive alone feeds us, an upstream still configured is dropped.
    /// Returns the action that ended the step, and whether any round changed PostgreSQL.
    @discardableResult
    func follow(target: FollowTarget?, observation: PostgresObservation, role: MemberRole, archiveOnly: Bool = false,
                recovery: (FollowTarget?) -> RecoveryConfiguration) async throws -> (last: FollowAction, changedPostgres: Bool) {
        var findings = FollowFindings()
        var changed = false
        // Each round answers one question or finishes; the longest chain (check needed, check
        // possible, stop, rewind, check the leader, clone or keep) takes six rounds.
        for _ in 0..<8 {
            var input = followInput(target: target, observation: observation, findings: findings)
            input.archiveOnly = archiveOnly
            // Only a standby cluster's settings change without the upstream changing.
            input.recoveryOutdated = archiveOnly || role == .standbyLeader || settings.standbyCluster != nil
                ? currentRecovery != nil && currentRecovery != recovery(target) : false
            let action = planFollow(input)
            // Set before the round runs: a round that fails half-way may have changed it.
            changed = changed || action.changesPostgres
            switch action {
            case .keep:
                return (action, changed)
            case .startStandby(let upstream, let event):
                try await startPostgres(recovery: recovery(upstream), callback: event.rawValue, role: role)
                return (action, changed)
            case .repoint(let upstream):
                try await writePostgresConfiguration(recovery: recovery(upstream))
                try await postgres.reload()
                return (action, changed)
            case .dropUpstream:
                try await writePostgresConfiguration(recovery: recovery(nil))
                try await postgres.reload()
                return (action, changed)
            case .checkRewindNeeded(let leader):
                findings.rewindNeeded = await postgres.needsRewind(leader: upstreamTarget(leader)) == .needed
            case .checkRewindPossible:
                findings.rewindPossible = await postgres.canRewind(usePgRewind: settings.usePgRewind)
            case .stopForRewind:
                try await stopPostgres(mode: .fast, checkpointFirst: false, timeout: 60)
                findings.stopped = true
            case .waitForCheckpoint(let name):
                logger.info("Waiting for checkpoint on \(name) before rewind")
                return (action, changed)
            case .rewind(let upstream):
                do {
                    logger.info("running pg_rewind from \(upstream.memberName)")
                    try await postgres.rewind(from: upstreamTarget(upstream))
                    await postgres.writeWALRecord(on: upstreamTarget(upstream))
                    findings.rewound = true
                } catch {
                    logger.error("pg_rewind from \(upstream.memberName) failed: \(error)")
                    findings.rewindFailed = true
                }
            case .checkLeaderHealthy(let leader):
                findings.leaderHealthy = await postgres.isRunningPrimary(upstreamTarget(leader))
            case .reclone(let upstream, let reason):
                switch reason {
                case .rewindImpossible:
                    logger.warning("timelines diverged and pg_rewind is not possible: remove_data_directory_on_diverged_timelines is set, reinitializing from the leader")
                case .rewindFailed:
                    logger.warning("pg_rewind failed: remove_data_directory_on_\(settingsAllowWipeOnRewindFailure ? "rewind_failure" : "diverged_timelines") is set, reinitializing from the leader")
                }
                try await stopPostgres(mode: .immediate, checkpointFirst: false, timeout: 30)
                try await postgres.wipeDataDirectory()
                let source = upstreamTarget(upstream)
                startLongAction("clone", state: .creatingReplica) { await $0.cloneReplica(from: source) }
                return (action, changed)
            case .keepData(let kept):
                if memory.keptData != kept {
                    logger.error("not following \(kept.leader) and keeping the data directory: \(kept.reason); stazctl reinit replaces it with a copy of the leader's (what this member wrote after the fork is then gone)")
                }
                memory.record(.dataKept(kept), now: monotonicNow)
                return (action, changed)
            }
        }
        logger.error("following \(target?.memberName ?? "nobody") did not settle; trying again next cycle")
        return (.keep, changed)
    }

    /// Recovery settings for following `upstream`: in a standby cluster every member also gets
    /// its archive settings (Patroni's `_get_node_to_follow` passes them on).
    func standbyRecovery(upstream: UpstreamTarget?, slotName: String?) -> RecoveryConfiguration {
        var archive = settings.standbyCluster?.archiveSettings ?? [:]
        archive["recovery_min_apply_delay"] = nil
        return RecoveryConfiguration(upstream: upstream, slotName: slotName, archive: archive)
    }

    var settingsAllowWipeOnRewindFailure: Bool { config.postgresql.removeDataDirectoryOnRewindFailure }

    func followTarget(_ member: Member) -> FollowTarget? {
        guard member.name != me, let hp = member.connHostPort else { return nil }
        return FollowTarget(memberName: member.name, host: hp.host, port: hp.port,
                            isLeader: member.name == lastCluster?.leader?.name, timeline: member.timeline,
                            checkpointAfterPromote: member.data["checkpoint_after_promote"]?.boolValue)
    }

    func upstreamTarget(_ target: FollowTarget) -> UpstreamTarget {
        UpstreamTarget(host: target.host, port: target.port, memberName: target.memberName)
    }

    private func followInput(target: FollowTarget?, observation: PostgresObservation, findings: FollowFindings) -> FollowInput {
        let upstream = observation.upstreamHost.flatMap { host in observation.upstreamPort.map { (host: host, port: $0) } }
        let configured = currentRecovery?.upstream.map { (host: $0.host, port: $0.port) }
        return FollowInput(target: target, isRunning: observation.isRunning,
                           isAcceptingConnections: observation.isAcceptingConnections,
                           isInRecovery: observation.isInRecovery, isStreaming: observation.isStreaming,
                           timeline: observation.timeline, serverUpstream: upstream, configuredUpstream: configured,
                           paused: settings.pause, findings: findings,
                           wipeOnRewindFailure: settingsAllowWipeOnRewindFailure,
                           wipeOnDivergedTimelines: config.postgresql.removeDataDirectoryOnDivergedTimelines,
                           keptData: memory.keptData, noStream: config.tags.noStream)
    }
}
