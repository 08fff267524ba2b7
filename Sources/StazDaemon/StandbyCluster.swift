import StazCore
import StazConfig
import StazHA
import StazPostgres

/// A standby cluster (`standby_cluster` in the dynamic configuration): its leader is a standby
/// leader replicating from a remote primary or a WAL archive, its replicas follow it. The HA
/// core decides when; this carries it out.
extension HAController {
    /// Where the standby cluster's WAL comes from when it streams: the remote primary, named
    /// `remote_member` in logs (Patroni's `RemoteMember`). nil: the archive alone.
    var remoteTarget: FollowTarget? {
        guard let standby = settings.standbyCluster, standby.streams else { return nil }
        // Patroni connects to `port` on the default host (localhost over TCP here: libpq's
        // default socket directory is not necessarily the remote server's).
        return FollowTarget(memberName: "remote_member", host: standby.host ?? "localhost", port: standby.port ?? 5432,
                            isLeader: true)
    }

    /// The recovery settings of a member following the remote side: the standby cluster's
    /// slot and archive settings.
    func remoteRecovery(_ upstream: FollowTarget?) -> RecoveryConfiguration {
        let standby = settings.standbyCluster
        return RecoveryConfiguration(upstream: upstream.map(upstreamTarget), slotName: standby?.primarySlotName,
                                     archive: standby?.archiveSettings ?? [:])
    }

    /// Returns whether PostgreSQL was changed on the way.
    @discardableResult
    func followRemote(asLeader: Bool, observation: PostgresObservation) async throws -> Bool {
        let target = remoteTarget
        let role: MemberRole = asLeader ? .standbyLeader : .replica
        let wasLeader = actsAsStandbyLeader
        await setActsAsStandbyLeader(asLeader)
        let (action, changed) = try await follow(target: target, observation: observation, role: role,
                                                 archiveOnly: target == nil, recovery: remoteRecovery)
        switch action {
        case .startStandby:
            break  // its start reported the role
        case .keep, .repoint, .dropUpstream:
            // Already a standby (of the remote side or of the former standby leader): only the
            // role changed.
            if asLeader, !wasLeader {
                lastRole = .standbyLeader
                callbacks.fire(config.postgresql.callbacks["on_role_change"], event: "on_role_change", role: .standbyLeader)
            }
        default:
            // Rewinding, re-cloning or keeping diverged data: not leading anything yet.
            await setActsAsStandbyLeader(wasLeader && asLeader)
        }
        return changed
    }

    /// Patroni's `bootstrap_standby_leader`: the data directory is built from the remote side
    /// (the standby cluster's `create_replica_methods`, else ours), the server starts following
    /// it, and only then do `initialize`, the configuration and the lock appear: a failed copy
    /// leaves no trace but an empty data directory.
    func bootstrapStandbyLeader() async {
        let upstream = remoteTarget
        let origin = upstream.map { "remote member \($0.host):\($0.port)" } ?? "the archive"
        do {
            logger.info("trying to bootstrap a standby leader from \(origin)")
            let methods = settings.standbyCluster?.createReplicaMethods ?? config.postgresql.createReplicaMethods
            let created = try await createReplica(from: upstream.map(upstreamTarget), methods: methods)
            await setActsAsStandbyLeader(true)
            try await startPostgres(recovery: remoteRecovery(upstream), role: .standbyLeader)
            try await publishBootstrappedCluster(builtBy: "the copy")
            lastRole = .standbyLeader
            logger.info("bootstrapped clone from \(origin) using \(created)")
        } catch {
            logger.error("failed to bootstrap clone from \(origin): \(error)")
            await setActsAsStandbyLeader(false)
            try? await dcs.cancelInitialization()
            try? await postgres.stop(mode: .immediate, checkpointFirst: false, timeout: 30)
            try? await postgres.wipeDataDirectory()
        }
    }

    /// Patroni's `demote('demote-cluster')`: the primary of a cluster that just became a standby
    /// cluster stops (fast), keeps the lock, gives the archive the WAL of its shutdown
    /// checkpoint, and comes back as the standby leader.
    func demoteToStandbyLeader() async throws {
        logger.info("Demoting self (demote-cluster)")
        forgetStandbyNames()
        let archiveCommand = archiveCommandInForce
        try await stopPostgres(mode: .fast, checkpointFirst: false,
                               timeout: archiveCommand != nil ? 3600 : DemoteMode.demoteCluster.stopTimeout(ttl: settings.ttl))
        watchdog.disable()
        await keeper.primaryStopped()
        lastRole = .demoted
        if let archiveCommand {
            _ = await postgres.archiveShutdownCheckpointWAL(archiveCommand: archiveCommand)
        } else {
            logger.info("Not archiving latest checkpoint WAL file. Archiving is not configured.")
        }
        try await followRemote(asLeader: true, observation: await postgres.observe())
    }

    /// `archive_command` when archiving is on (`archive_mode` on or always), as last written.
    var archiveCommandInForce: String? {
        let mode = writtenParameters["archive_mode"].flatMap { ConfigRendering.parameterText($0) }?.lowercased()
        guard mode == "on" || mode == "always" || mode == "true" || mode == "1" else { return nil }
        guard let command = writtenParameters["archive_command"].flatMap({ ConfigRendering.parameterText($0) }),
              !command.isEmpty else { return nil }
        return command
    }
}
