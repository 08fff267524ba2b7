import Foundation
import StazCore
import StazHA
import StazPostgres

/// The leader's synchronous-replication step (Patroni's `Ha.process_sync_replication`): asks the pure planner for the
/// next action, performs it, re-reads, and repeats until stable (bounded per cycle).
extension HAController {
    func processSyncReplication(cluster: ClusterView, observation: PostgresObservation) async {
        guard observation.isRunning, observation.isAcceptingConnections, !observation.isInRecovery,
              memory.longAction == nil, await keeper.holdingLeader else {
            walSenders = []
            return
        }
        let mode = SyncMode(settings)
        if mode == .off, managingStandbyNames {
            // Give the user's own synchronous_standby_names back.
            forgetStandbyNames()
            await rewriteConfigurationAndReload()
        }
        var view = cluster
        do {
            for _ in 0..<8 {
                walSenders = try await postgres.replicationConnections()
                if mode == .off && view.sync.version == nil && view.sync.leader == nil { return }
                let input = SyncPlannerInput(me: me, settings: settings, members: view.members, sync: view.sync,
                                             walSenders: walSenders.map(Self.walSender), standbyNames: standbyNames,
                                             standbyNamesAppliedAt: standbyNamesAppliedAt,
                                             primaryLSN: walSenders.first?.primaryFlushLSN)
                reportStrictModeStarvation(input)
                guard let action = nextSyncAction(input) else { return }
                switch action {
                case .deleteSync(let log):
                    guard try await dcs.deleteSync(version: view.sync.version) else { return }
                    logger.info("\(log)")
                case .writeSync(let state, let log):
                    guard try await dcs.setSync(state.json, version: view.sync.version) else {
                        logger.info("Synchronous replication key updated by someone else.")
                        return
                    }
                    logger.info("\(log)")
                case .setStandbyNames(let names, let log):
                    logger.info("\(log)")
                    standbyNames = names
                    standbyNamesChosen = true
                    await rewriteConfigurationAndReload()
                    standbyNamesAppliedAt = try await postgres.currentFlushLSN()
                    await waitUntilSynchronous(names)
                }
                view = try await dcs.loadCluster(fresh: true)
            }
        } catch {
            logger.warning("synchronous replication maintenance failed: \(error)")
        }
    }

    /// Patroni's warning, word for word (tools and its acceptance features look for it), once
    /// each time strict mode is left without a standby that could confirm commits.
    func reportStrictModeStarvation(_ input: SyncPlannerInput) {
        guard strictModeIsStarved(input) else {
            strictModeStarvedReported = false
            return
        }
        guard !strictModeStarvedReported else { return }
        strictModeStarvedReported = true
        logger.warning("No active replication connections from Patroni members and synchronous_mode_strict is requested. Commits will be delayed.")
    }

    static func walSender(_ row: ReplicationConnection) -> WalSender {
        let lsn: LSN?
        switch WalSender.position(for: row.synchronousCommit) {
        case .replay: lsn = row.replayLSN
        case .write: lsn = row.writeLSN
        case .flush: lsn = row.flushLSN
        }
        return WalSender(applicationName: row.applicationName, state: row.state, syncState: row.syncState, lsn: lsn)
    }

    /// After a parameter change PostgreSQL re-reads it on reload; give the standbys up to 2 s
    /// (Patroni sleeps 2 s) to show up as synchronous before `/sync` is updated.
    func waitUntilSynchronous(_ names: StandbyNames?) async {
        guard let names, !names.names.contains(strictSyncPlaceholder) else { return }
        let wanted = Set(names.names.map { $0.lowercased() })
        let deadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(200))
            guard let rows = try? await postgres.replicationConnections() else { continue }
            walSenders = rows
            let synchronous = rows.filter { wanted.contains($0.applicationName.lowercased()) && ($0.syncState == "sync" || $0.syncState == "quorum") }
            if synchronous.count >= min(names.count, wanted.count) || synchronous.count == wanted.count { return }
        }
    }

    func rewriteConfigurationAndReload() async {
        do {
            // Only the running primary manages the parameter.
            try await writePostgresConfiguration(recovery: nil)
            try await postgres.reload()
        } catch {
            logger.error("could not apply synchronous_standby_names: \(error)")
        }
    }

    /// The `synchronous_standby_names` staz imposes (nil: synchronous mode off, the user's
    /// value applies). A primary without a decision yet starts from `/sync` (its standbys hold
    /// every acknowledged commit) or, in strict mode, the placeholder, never from "async".
    func managedStandbyNamesText(primary: Bool) -> String? {
        let mode = SyncMode(settings)
        guard mode != .off else {
            managingStandbyNames = false
            return nil
        }
        managingStandbyNames = true
        // initdb's primary creates roles before any standby exists: nothing to wait for yet.
        if memory.longAction == "bootstrap" { return "" }
        if let standbyNames { return standbyNames.text }
        // Chosen empty: not the fallback below, which reads a `/sync` this cycle may just have
        // emptied (the planner then asked for "nobody" again and again, and the parameter kept
        // naming a standby that had gone until the next cycle).
        if standbyNamesChosen { return "" }
        if primary {
            let sync = lastCluster?.sync ?? SyncState()
            let fallback = StandbyNames.initial(mode: mode, strict: settings.synchronousModeStrict, sync: sync.leader == me ? sync : SyncState())
            standbyNames = fallback
            return fallback?.text ?? ""
        }
        return settings.synchronousModeStrict ? strictSyncPlaceholder : ""
    }

    /// Right after claiming `/sync` and before `pg_ctl promote`: the parameter the new primary
    /// must start with, so no commit is acknowledged asynchronously in between.
    func prepareStandbyNamesForPromotion(_ claimed: SyncState) async throws {
        let mode = SyncMode(settings)
        guard mode != .off, postgres.isRunning() else { return }
        standbyNames = StandbyNames.initial(mode: mode, strict: settings.synchronousModeStrict, sync: claimed)
        standbyNamesAppliedAt = nil
        let observation = await postgres.observe()
        try await writePostgresConfiguration(recovery: observation.isInRecovery ? recoveryForRunningStandby(observation) : nil)
        try await postgres.reload()
    }
}

extension HAController {
    /// Forgets the `synchronous_standby_names` staz chose: a demoted primary, or one whose
    /// synchronous mode was switched off, has none to manage.
    func forgetStandbyNames() {
        standbyNames = nil
        standbyNamesChosen = false
        standbyNamesAppliedAt = nil
    }
}
