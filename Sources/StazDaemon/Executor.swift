import Foundation
import StazConfig
import StazCore
import StazDCS
import StazHA
import StazMesh
import StazPostgres

/// What carrying out a plan came to.
struct PlanOutcome {
    /// The heartbeat line.
    var message: String
    /// No executed step changed the local PostgreSQL (`HAStep.leavesPostgresAlone`): the
    /// observation the plan was decided on still describes it. False after a failed step.
    var leftPostgresAlone: Bool
}

/// Carries out a plan. Only I/O lives here; every choice was made by `decide`.
extension HAController {
    func execute(_ plan: HAPlan, cluster: ClusterView?, observation: PostgresObservation) async -> PlanOutcome {
        var leftAlone = true
        for step in plan.steps {
            // The loop watchdog gave up on this cycle: carry out nothing more of its plan.
            if Task.isCancelled {
                return PlanOutcome(message: "\(plan.message) (cycle cancelled before \(describe(step)))", leftPostgresAlone: false)
            }
            progress.enter(describe(step), allowing: allowance(for: step))
            do {
                var changed = !step.leavesPostgresAlone
                let branch = try await run(step, cluster: cluster, observation: observation, changedPostgres: &changed)
                leftAlone = leftAlone && !changed
                if let branch {
                    var outcome = await execute(branch, cluster: cluster, observation: observation)
                    outcome.leftPostgresAlone = outcome.leftPostgresAlone && leftAlone
                    return outcome
                }
            } catch {
                logger.error("\(describe(step)) failed: \(error)")
                return PlanOutcome(message: "\(plan.message) (\(describe(step)) failed: \(error))", leftPostgresAlone: false)
            }
        }
        return PlanOutcome(message: plan.message, leftPostgresAlone: leftAlone)
    }

    /// Runs one step; returns the branch to continue with for steps that ask the DCS. A follow
    /// step sets `changedPostgres` to what its rounds did.
    func run(_ step: HAStep, cluster: ClusterView?, observation: PostgresObservation,
             changedPostgres: inout Bool) async throws -> HAPlan? {
        switch step {
        case .acquireLock(let won, let lost):
            // Failsafe mode: a leader that announced itself since the decision wins over us.
            guard failsafeMemory.claimLeadership() else {
                logger.info("not racing for the leader lock: a leader confirmed itself through POST /failsafe")
                return lost
            }
            await keeper.refreshNow()
            let acquired: Bool
            do {
                acquired = try await dcs.attemptToAcquireLeader()
            } catch DCSError.unreachable {
                failsafeMemory.endClaim(leading: false)
                dcsLostDuringCycle = true
                return HAPlan("")
            } catch {
                logger.info("Could not take out TTL lock: \(error)")
                acquired = false
            }
            failsafeMemory.endClaim(leading: acquired)
            if acquired {
                raceWonAt = ContinuousClock.now
                // Patroni's `acquire_leader_lock`: what the last leader retained counts as seen now.
                retainedSlots = .inherited(cluster?.status.retainSlots ?? [], now: monotonicNow)
                await keeper.setHoldingLeader(true)
            }
            // A lost race is logged once, by the DCS client, as Patroni's does.
            return acquired ? won : lost
        case .updateLock(let held, let lost):
            let confirmed: ContinuousClock.Instant?
            do {
                confirmed = try await dcs.updateLeader()
            } catch DCSError.unreachable where !settings.pause {
                // Not a lost lock: an unknown one. The DCS-error path decides (failsafe mode may
                // keep us primary); the lease keeper fences if nothing confirms us in time. In
                // pause the `otherwise` branch below stands: keep PostgreSQL, stop leading.
                dcsLostDuringCycle = true
                return HAPlan("")
            } catch {
                confirmed = nil
            }
            if let confirmed {
                await keeper.setHoldingLeader(true, confirmedAt: confirmed)
                await publishStatus(cluster: cluster, observation: observation)
                await publishFailsafeKey(cluster: cluster)
            } else {
                logger.error("failed to update leader lock")
                // In pause the primary is left running on purpose: nothing may fence it.
                await keeper.setHoldingLeader(false, primaryMayRun: observation.isRunning && !observation.isInRecovery && !settings.pause)
            }
            return confirmed != nil ? held : lost
        case .raceInitialize(let won, let lost):
            return (try await dcs.initialize(sysid: "", createNew: true)) ? won : lost
        case .releaseLock:
            // Peers deciding who takes over read our role: say "demoted" (a stopped former
            // primary) before the key goes, not the primary we were a moment ago.
            await publishObservedState()
            await keeper.setHoldingLeader(false)
            _ = try await dcs.deleteLeader()
            await setActsAsStandbyLeader(false)
            memory.record(.lockReleased, now: monotonicNow)
        case .writeInitialize(let sysid):
            _ = try await dcs.initialize(sysid: sysid, createNew: cluster?.initialize == nil)
        case .bootstrapNewCluster(let method):
            startLongAction("bootstrap", state: .initializingNewCluster) { await $0.bootstrapNewCluster(method) }
        case .bootstrapStandbyLeader:
            startLongAction("bootstrap", state: .creatingReplica) { await $0.bootstrapStandbyLeader() }
        case .cloneFrom(let source):
            guard let member = cluster?.member(named: source), let upstream = upstreamTarget(member) else { return nil }
            startLongAction("clone", state: .creatingReplica) { await $0.cloneReplica(from: upstream) }
        case .cloneWithoutLeader:
            startLongAction("clone", state: .creatingReplica) { await $0.cloneReplica(from: nil) }
        case .startAsPrimary:
            try await startPrimaryAfterCrash()
            // A primary started after a crash takes writes from here on: say so now (REST and
            // member key), not at the cycle's end, which a loaded machine reaches much later.
            await publishObservedState()
        case .follow(let leader):
            changedPostgres = try await follow(leader: leader.flatMap { cluster?.member(named: $0) ?? failsafeLeaderMember(named: $0) },
                                               observation: observation)
        case .followRemote(let asLeader):
            changedPostgres = try await followRemote(asLeader: asLeader, observation: observation)
        case .prepareMemberSlots:
            guard let cluster else { return nil }
            await syncMemberSlots(cluster: cluster, leading: true, primary: false)
        case .promote:
            try await promote()
        case .demote(let mode) where mode.becomesStandbyLeader:
            try await demoteToStandbyLeader()
        case .demote(let mode):
            try await demote(mode)
        case .awaitStreaming(let members, let timeout):
            await awaitStreaming(from: Set(members), timeout: timeout)
        case .clearFailover:
            _ = try await dcs.setFailover(.object(JSONObject()), version: cluster?.failover?.version)
            logger.info("Cleaning up failover key")
        case .recordPromotion:
            try await recordPromotion(cluster: cluster)
        case .fatal(let message):
            logger.critical("\(message)")
            exit(1)
        case .logInfo(let line):
            logger.info("\(line)")
        case .logWarning(let line):
            logger.warning("\(line)")
        case .sleep(let seconds):
            try? await Task.sleep(for: .milliseconds(Int64(min(seconds, settings.loopWait) * 1000)))
        case .restart(let timeout):
            startRestart(timeout: timeout)
        case .cancelScheduledRestart:
            scheduledRestart = nil
        case .writeSync(let state, let version, let won, let lost):
            guard try await dcs.setSync(state.json, version: version) else { return lost }
            try await prepareStandbyNamesForPromotion(state)
            return won
        case .reportBlockedFailover(let reason):
            blockedFailoverReason = reason
        case .announceDemotion:
            lastRole = .demoted
            callbacks.fire(config.postgresql.callbacks["on_role_change"], event: "on_role_change", role: .demoted)
        case .confirmFailsafe(let members, let kept, let refused):
            return await confirmFailsafe(members) ? kept : refused
        case .armWatchdog(let armed, let refused):
            return watchdog.activate() ? armed : refused
        case .disarmWatchdog:
            watchdog.disable()
        }
        return nil
    }

    /// How long a step may take by the timeouts of its own I/O, beyond the cycle's budget.
    func allowance(for step: HAStep) -> Duration {
        let dcsRequest = settings.retryTimeout + 2
        // pg_ctl start/stop waits (including the SIGQUIT and SIGKILL escalations of a stop).
        let processControl = config.postgresql.pgCtlTimeout + max(60, settings.ttl) + 15
        let seconds: Double
        switch step {
        case .acquireLock, .updateLock, .raceInitialize, .releaseLock, .writeInitialize, .clearFailover,
             .recordPromotion, .writeSync:
            seconds = dcsRequest
        case .startAsPrimary, .follow, .followRemote, .prepareMemberSlots, .promote, .demote:
            seconds = processControl + dcsRequest
        case .confirmFailsafe:
            seconds = 10
        case .sleep(let wait):
            seconds = min(wait, settings.loopWait) + 1
        case .awaitStreaming(_, let timeout):
            seconds = timeout + 1
        case .bootstrapNewCluster, .bootstrapStandbyLeader, .cloneFrom, .cloneWithoutLeader, .restart, .fatal, .logInfo, .logWarning, .cancelScheduledRestart,
             .reportBlockedFailover, .announceDemotion, .armWatchdog, .disarmWatchdog:
            seconds = 0
        }
        return .milliseconds(Int64(seconds * 1000))
    }

    func describe(_ step: HAStep) -> String {
        switch step {
        case .acquireLock: return "acquiring the leader lock"
        case .updateLock: return "updating the leader lock"
        case .raceInitialize: return "racing for the initialize key"
        case .releaseLock: return "releasing the leader lock"
        case .writeInitialize: return "writing the initialize key"
        case .bootstrapNewCluster: return "bootstrap"
        case .bootstrapStandbyLeader: return "bootstrap of the standby leader"
        case .cloneFrom, .cloneWithoutLeader: return "clone"
        case .startAsPrimary: return "starting PostgreSQL as primary"
        case .follow: return "following the leader"
        case .followRemote: return "following the standby cluster's remote side"
        case .prepareMemberSlots: return "creating the members' replication slots"
        case .promote: return "promote"
        case .demote(let mode): return "demote (\(mode.rawValue))"
        case .clearFailover: return "clearing the failover key"
        case .recordPromotion: return "recording the timeline history"
        case .fatal: return "exit"
        case .logInfo, .logWarning: return "logging"
        case .sleep: return "waiting for the scheduled time"
        case .awaitStreaming: return "waiting for the successor to stream"
        case .restart: return "restart"
        case .cancelScheduledRestart: return "cancelling the scheduled restart"
        case .writeSync: return "writing the sync key"
        case .reportBlockedFailover: return "reporting a blocked failover"
        case .announceDemotion: return "announcing the demotion"
        case .confirmFailsafe: return "asking the members to confirm failsafe mode"
        case .armWatchdog: return "activating the watchdog"
        case .disarmWatchdog: return "disabling the watchdog"
        }
    }

    // MARK: background actions

    func startLongAction(_ name: String, state: MemberState, _ body: @escaping @Sendable (HAController) async -> Void) {
        let generation = beginLongAction(name, state: state)
        longActionTask = Task {
            await body(self)
            await self.finishLongAction(generation)
        }
    }

    /// Marks a long action as running (the decision then only keeps the lock) and returns its
    /// generation for `finishLongAction`.
    func beginLongAction(_ name: String, state: MemberState) -> Int {
        longActionGeneration += 1
        memory.record(.longActionStarted(name), now: monotonicNow)
        stateOverride = state
        return longActionGeneration
    }

    func finishLongAction(_ generation: Int) async {
        guard generation == longActionGeneration else { return }
        memory.record(.longActionEnded, now: monotonicNow)
        stateOverride = nil
        longActionTask = nil
        wakeup.signal()
    }

    func bootstrapNewCluster(_ method: BootstrapMethod) async {
        do {
            switch method {
            case .custom:
                try await restoreNewCluster(config.bootstrap.methodSettings ?? JSONObject())
            case .initdb:
                try await postgres.initdb(arguments: config.bootstrap.initdbArguments)
                try appendBootstrapHBA()
                try await startPostgres(recovery: nil, callback: nil)
            }
            try await postgres.createRoles()
            if let script = config.bootstrap.postBootstrap {
                logger.info("running post_bootstrap")
                try await postgres.runPostBootstrap(script: script)
            }
            try await publishBootstrappedCluster(builtBy: "initdb")
            startCallbackDone = true
            callbacks.fire(config.postgresql.callbacks["on_start"], event: "on_start", role: .primary)
            logger.info("initialized a new cluster")
        } catch {
            logger.critical("Failed to bootstrap cluster: \(error)")
            try? await dcs.cancelInitialization()
            try? await postgres.stop(mode: .immediate, checkpointFirst: false, timeout: 30)
            let failed = config.postgresql.dataDir + ".failed"
            try? FileManager.default.removeItem(atPath: failed)
            try? FileManager.default.moveItem(atPath: config.postgresql.dataDir, toPath: failed)
            exit(1)
        }
    }

    /// The end of every bootstrap, once PostgreSQL runs: `initialize` names its system, the
    /// configuration is `bootstrap.dcs`, and we take the lock. The "initializing" state ends
    /// first: from the moment the leader key names us, `/patroni` and the member key say
    /// `running` (Patroni's state is `running` from the start of PostgreSQL); left to the end
    /// of the long action, a client that saw the leader key could read the bootstrap state.
    func publishBootstrappedCluster(builtBy what: String) async throws {
        guard let sysid = await postgres.systemIdentifier() else {
            throw PostgresControlError.invalidDataDirectory("no system identifier after \(what)")
        }
        stateOverride = nil
        await publishObservedState()
        _ = try await dcs.initialize(sysid: sysid, createNew: false)
        _ = try await dcs.setConfig(.object(config.bootstrap.dcs), version: nil)
        await keeper.refreshNow()
        _ = try await dcs.takeLeader()
        await keeper.setHoldingLeader(true)
    }

    /// A custom bootstrap method: its command fills the data directory, PostgreSQL starts with the
    /// method's recovery and is waited for until it runs as a primary (a point-in-time restore
    /// can take long: the wait ends when recovery does, when the postmaster dies or when the
    /// bootstrap is cancelled), like Patroni's "waiting for end of recovery after bootstrap".
    func restoreNewCluster(_ method: JSONObject) async throws {
        try await postgres.stop(mode: .immediate, checkpointFirst: false, timeout: 30)
        try await postgres.runCustomBootstrap(method)
        recoveryParameterFloor = await postgres.controlData()?.recoveryParameterFloor ?? [:]
        try appendBootstrapHBA()
        do {
            try await startPostgres(recovery: nil, callback: nil)
        } catch PostgresControlError.timedOut {
            logger.info("PostgreSQL is still recovering the restored cluster; waiting")
        }
        var lastReport = ContinuousClock.now
        while true {
            try Task.checkCancellation()
            let observation = await postgres.observe()
            if observation.isRunning, observation.isAcceptingConnections, !observation.isInRecovery { break }
            guard postgres.isRunning() else {
                throw PostgresControlError.startFailed("PostgreSQL stopped before the restored cluster finished recovery")
            }
            if ContinuousClock.now - lastReport >= .seconds(10) {
                logger.info("waiting for end of recovery after bootstrap")
                lastReport = .now
            }
            try await Task.sleep(for: .seconds(1))
        }
        await postgres.endBootstrapRecovery()
        recoveryParameterFloor = [:]
        // The recovery settings and signal files of the restore are gone from now on.
        try await writePostgresConfiguration(recovery: nil)
        logger.info("the restored cluster finished recovery and runs as a primary")
    }

    /// Patroni appends `bootstrap.pg_hba` to initdb's pg_hba.conf unless `postgresql.pg_hba` manages it.
    func appendBootstrapHBA() throws {
        guard config.postgresql.pgHBA == nil, settings.pgHBA == nil, !config.bootstrap.pgHBA.isEmpty else { return }
        let path = config.postgresql.effectiveConfigDir + "/pg_hba.conf"
        let existing = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let text = existing + (existing.hasSuffix("\n") || existing.isEmpty ? "" : "\n") + config.bootstrap.pgHBA.joined(separator: "\n") + "\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Patroni's `Ha.clone`: the replica methods in order until one succeeds, then start as a
    /// replica of `upstream` (nil: no member to copy from, only `no_leader` methods; the
    /// replica starts with no upstream and follows once a leader appears).
    func cloneReplica(from upstream: UpstreamTarget?) async {
        let origin = upstream.map { "from '\($0.memberName)'" } ?? "(without leader)"
        do {
            logger.info("trying to bootstrap \(origin)")
            let created = try await createReplica(from: upstream, methods: config.postgresql.createReplicaMethods)
            // `nostream`: cloned from the leader, then fed from the archive only.
            try await startPostgres(recovery: standbyRecovery(upstream: config.tags.noStream ? nil : upstream, slotName: mySlot))
            logger.info("replica has been created using \(created)")
        } catch {
            logger.error("failed to bootstrap \(origin): \(error)")
            try? await postgres.stop(mode: .immediate, checkpointFirst: false, timeout: 30)
            try? await postgres.wipeDataDirectory()
        }
    }

    /// Fills the data directory with the first of `methods` that works (Patroni's
    /// `create_replica_methods` order); returns its name.
    func createReplica(from upstream: UpstreamTarget?, methods configured: [String]) async throws -> String {
        let methods = ReplicaMethods.toTry(configured, settings: config.postgresql.replicaMethodSettings, hasSource: upstream != nil)
        // A postmaster whose data directory was deleted under it still holds the port.
        try await postgres.stop(mode: .immediate, checkpointFirst: false, timeout: 30)
        for method in methods where !Task.isCancelled {
            do {
                if method == ReplicaMethods.basebackup, let upstream {
                    try await postgres.createReplica(from: upstream, extraArguments: config.postgresql.basebackupArguments)
                } else {
                    try await postgres.createReplica(using: method, upstream: upstream)
                }
                return method
            } catch {
                logger.error("Error creating replica using method \(method): \(error)")
            }
        }
        throw PostgresControlError.startFailed("no replica method succeeded (tried \(methods.joined(separator: ", ")))")
    }

    // MARK: PostgreSQL role changes

    var mySlot: String? { settings.useSlots ? slotName(forMember: me) : nil }

    func upstreamTarget(_ member: Member) -> UpstreamTarget? {
        guard let hp = member.connHostPort else { return nil }
        return UpstreamTarget(host: hp.host, port: hp.port, memberName: member.name)
    }

    /// Starts PostgreSQL with freshly written configuration; `callback` (`on_start` unless the
    /// caller reports the event itself) runs once it is up.
    func startPostgres(recovery: RecoveryConfiguration?, timeout: Double? = nil, callback: String? = "on_start",
                       role: MemberRole? = nil) async throws {
        do {
            try await startPostgresOnce(recovery: recovery, timeout: timeout, callback: callback,
                                        role: role ?? (recovery == nil ? .primary : .replica))
        } catch {
            // An outcome the next cycles act on (they start it again, DCS or not).
            memory.record(.startFailed, now: monotonicNow)
            throw error
        }
    }

    private func startPostgresOnce(recovery: RecoveryConfiguration?, timeout: Double?, callback: String?, role: MemberRole) async throws {
        let parameters = try await writePostgresConfiguration(recovery: recovery)
        // A standby may need WAL from its upstream (and its replication slot there) before it
        // accepts connections. Never hold the HA loop for that: our member key and the leader's
        // slot for us depend on the loop running. Later cycles see it "starting".
        let wait = recovery == nil ? (timeout ?? config.postgresql.pgCtlTimeout)
                                   : min(timeout ?? config.postgresql.pgCtlTimeout, max(2, settings.loopWait))
        do {
            try await postgres.start(commandLineParameters: commandLineParameters(parameters), timeout: wait)
        } catch PostgresControlError.timedOut where recovery != nil {
            logger.info("PostgreSQL is still starting up as a standby; continuing")
        }
        commandLinePending = JSONObject()
        if let callback {
            startCallbackDone = true
            callbacks.fire(config.postgresql.callbacks[callback], event: callback, role: role)
        }
    }

    /// Every stop goes through here: the `before_stop` hook runs first (exit code ignored).
    func stopPostgres(mode: StopMode, checkpointFirst: Bool, timeout: Double) async throws {
        if postgres.isRunning() {
            _ = await Hooks.run(config.postgresql.beforeStop, name: "before_stop", timeout: 30, logger: logger)
        }
        try await postgres.stop(mode: mode, checkpointFirst: checkpointFirst, timeout: timeout)
    }

    /// Rewrites postgresql.conf / pg_hba.conf / standby.signal for the current settings.
    @discardableResult
    func writePostgresConfiguration(recovery: RecoveryConfiguration?) async throws -> JSONObject {
        var parameters = effectivePostgresParameters(local: config, dynamic: settingsWithRoleParameters(primary: recovery == nil),
                                                     majorVersion: postgres.dataDirectoryMajorVersion() ?? 15,
                                                     knownParameters: config.mesh == nil ? nil : await postgres.serverParameterNames())
        if let managed = managedStandbyNamesText(primary: recovery == nil) {
            parameters["synchronous_standby_names"] = .string(managed)
        }
        applySlotFailoverParameters(to: &parameters, primary: recovery == nil)
        if spockApplyGateClosed { parameters[SpockApplyGate.parameter] = .string(SpockApplyGate.closedValue) }
        parameters = await withoutRefusedValues(parameters)
        raiseToRecoveryFloor(&parameters, floor: await recoveryFloor(standby: recovery != nil))
        try await postgres.writeConfiguration(parameters: parameters, hba: settings.pgHBA ?? config.postgresql.pgHBA, recovery: recovery)
        currentRecovery = recovery
        writtenParameters = parameters
        return parameters
    }

    /// A restored cluster's floor while its custom bootstrap recovers, else pg_control's for a
    /// standby; a primary has none.
    func recoveryFloor(standby: Bool) async -> [String: Int64] {
        if !recoveryParameterFloor.isEmpty || !standby { return recoveryParameterFloor }
        return await postgres.controlData()?.recoveryParameterFloor ?? [:]
    }

    /// Patroni's `ConfigHandler.effective_configuration`: a server in recovery needs the settings
    /// PostgreSQL checks against the WAL's origin at least as high as pg_control records them
    /// (the primary's values as replayed, or a restored backup's), or it refuses to start, say
    /// after `max_connections` was lowered and the replica has not replayed that yet. Raised
    /// values are reported as pending a restart, as Patroni does.
    func raiseToRecoveryFloor(_ parameters: inout JSONObject, floor: [String: Int64]) {
        var raised = JSONObject()
        for (name, required) in floor.sorted(by: { $0.key < $1.key }) {
            let configured = parameters[name].flatMap { ConfigRendering.parameterText($0) }.flatMap { Int64($0) }
                ?? ControlData.recoveryParameterDefaults[name] ?? 0
            guard configured < required else { continue }
            parameters[name] = .int(required)
            raised[name] = .object(JSONObject([("old_value", .string(String(required))), ("new_value", .string(String(configured)))]))
            if recoveryFloorPending[name] == nil {
                logger.info("\(name) value in pg_controldata: \(required), in the global configuration: \(configured). pg_controldata value will be used. Setting 'Pending restart' flag")
            }
        }
        recoveryFloorPending = raised
    }

    /// Closes Spock's apply gate on this standby (`SpockApplyGate`): written, reloaded and seen
    /// by a session, so every worker the postmaster starts from now on has it. False (logged)
    /// when it is not in effect; the hand-off then races the workers.
    private func closeSpockApplyGate(_ handoff: OriginHandoff?) async -> Bool {
        guard let handoff else { return false }
        spockApplyGateClosed = true
        do {
            _ = try await writePostgresConfiguration(recovery: recoveryForRunningStandby(lastObservation))
            try await postgres.reload()
        } catch {
            logger.warning("mesh: cannot close Spock's apply gate before the promotion: \(error)")
        }
        if await handoff.waitForGate(closed: true, within: .seconds(3)) { return true }
        logger.warning("mesh: Spock's apply gate is not in effect: an apply worker may start before its origin has moved")
        return false
    }

    /// Opens the gate again (a no-op when it is not closed) and waits until the hand-off's
    /// sessions see it open, so nobody is refused a write once the promotion is published.
    private func openSpockApplyGate(_ handoff: OriginHandoff?, recovery: RecoveryConfiguration?) async {
        defer { handoff?.close() }
        guard spockApplyGateClosed else { return }
        spockApplyGateClosed = false
        do {
            _ = try await writePostgresConfiguration(recovery: recovery)
            try await postgres.reload()
        } catch {
            logger.error("mesh: cannot open Spock's apply gate: \(error)")
            return
        }
        if let handoff, await !handoff.waitForGate(closed: false, within: .seconds(3)) {
            logger.error("mesh: Spock's apply gate is still closed 3 s after the reload")
        }
    }

    /// `parameters` with every value the server would refuse replaced by the last good one
    /// (`ParameterGuard`), each refusal logged as an ERROR naming the key.
    private func withoutRefusedValues(_ parameters: JSONObject) async -> JSONObject {
        guard let catalog = await postgres.parameterCatalog() else { return parameters }
        let (accepted, rejections) = ParameterGuard.apply(parameters, catalog: catalog, lastGood: writtenParameters)
        for text in parameterRejectionErrors.due(rejections.map(\.description)) { logger.error("\(text)") }
        return accepted
    }

    /// Starts a primary that went down without us. On Spock, crash recovery moves only the
    /// node-numbered origins (applied commits carry the provider's node id), so each apply
    /// worker's slot-named origin is back where the last checkpoint left it, and a provider whose
    /// slot is behind too (a held copy put in its place) would send those changes again. The
    /// promotion's hand-off fixes it: start behind the closed gate, move the slot-named origins
    /// up to what recovery replayed, open the gate.
    func startPrimaryAfterCrash() async throws {
        guard config.mesh?.provider == .spock else { return try await startPostgres(recovery: nil) }
        spockApplyGateClosed = true
        do {
            try await startPostgres(recovery: nil)
        } catch {
            // The gate written into postgresql.conf goes with the next configuration written.
            spockApplyGateClosed = false
            throw error
        }
        let handoff = await OriginHandoff.prepare(mesh: config.mesh, connector: MeshRuntime.localConnector(config: config, logger: logger),
                                                  logger: logger, environment: ProcessInfo.processInfo.environment)
        if let handoff, await !handoff.settle(within: .seconds(10), gated: true) {
            logger.warning("mesh: some origins did not catch up with what crash recovery replayed")
        }
        await openSpockApplyGate(handoff, recovery: nil)
    }

    func promote() async throws {
        guard await Hooks.run(config.postgresql.prePromote, name: "pre_promote", timeout: max(30, settings.ttl), logger: logger) else {
            memory.record(.prePromoteFailed, now: monotonicNow)
            wakeup.signal()
            throw OperationError.prePromoteFailed
        }
        // A promoted standby leader takes writes: the lease keeper fences it from now on.
        await setActsAsStandbyLeader(false)
        // Spock: the subscriptions' origins must catch up with what we replayed before any
        // apply worker applies a change (StazMesh `OriginHandoff`): behind a closed gate.
        let handoff = await OriginHandoff.prepare(mesh: config.mesh, connector: MeshRuntime.localConnector(config: config, logger: logger),
                                                  logger: logger, environment: ProcessInfo.processInfo.environment)
        let skipped = try await claimPromotionTimeline()
        let gated = await closeSpockApplyGate(handoff)
        let settling = handoff.map { handoff in Task { await handoff.settle(within: .seconds(10), gated: gated) } }
        do {
            try await postgres.promote(skipping: skipped)
        } catch {
            settling?.cancel()
            _ = await settling?.value
            await openSpockApplyGate(handoff, recovery: recoveryForRunningStandby(lastObservation))
            throw error
        }
        _ = await settling?.value
        await openSpockApplyGate(handoff, recovery: nil)
        // From here on PostgreSQL takes writes: say so (REST and member key) before the
        // post-promote work below, which can take long (a checkpoint of a large cluster). Until
        // that checkpoint, pg_control still names the old timeline, and a rewind against us
        // would wrongly find nothing to do: the member key says `checkpoint_after_promote: false`.
        checkpointAfterPromotePending = true
        lastRole = .primary
        await publishObservedState()
        if let won = raceWonAt {
            let took = ContinuousClock.now - won
            apiState.update { $0.lastFailoverDuration = took }
            raceWonAt = nil
        }
        // The primary's configuration (`parameters_primary`, ...) takes effect now.
        _ = try? await writePostgresConfiguration(recovery: nil)
        try? await postgres.reload()
        startCallbackDone = true
        callbacks.fire(config.postgresql.callbacks["on_role_change"], event: "on_role_change", role: .primary)
        // pg_rewind on the old primary reads our timeline from pg_control, which only changes
        // at the next checkpoint: run it now so a rejoin never sees "same timeline".
        do { try await postgres.checkpoint() } catch { logger.warning("post-promote checkpoint failed: \(error)") }
        checkpointAfterPromotePending = false
    }

    /// Records in `status` the timeline this promotion takes (`PromotionTimeline`) before
    /// PostgreSQL is asked, so that no member that misses the promotion picks the same number.
    /// Returns the numbers below it that PostgreSQL must skip. Without the record, no promotion:
    /// the lock is renewed or lost in the next cycle, which decides again.
    func claimPromotionTimeline() async throws -> [Int64] {
        let current = lastObservation.timeline ?? 0
        let target = PromotionTimeline.target(current: current, cluster: lastCluster, peers: lastPeers)
        var status = lastCluster?.status ?? .empty
        status.stazTimeline = max(status.stazTimeline ?? 0, target)
        try await dcs.setStatus(status.json)
        if var cluster = lastCluster { cluster.status = status; lastCluster = cluster }
        let skipped = Array((current + 1)..<target)
        if !skipped.isEmpty {
            logger.warning("timeline(s) \(skipped.map(String.init).joined(separator: ", ")) were taken by other members' promotions: promoting to timeline \(target)")
        }
        return skipped
    }

    /// Stops being a primary as `mode` says, then starts read-only with no upstream (Patroni's
    /// `follow(None)`); the next cycles point it at the new leader, rewinding first if its WAL
    /// diverged.
    /// Polls `pg_stat_replication` every 100 ms until one of `members` streams, or `timeout`.
    func awaitStreaming(from members: Set<String>, timeout: Double) async {
        guard !members.isEmpty else { return }
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        while true {
            let connections = (try? await postgres.replicationConnections()) ?? []
            if connections.contains(where: { members.contains($0.applicationName) && $0.state == "streaming" }) { return }
            guard ContinuousClock.now < deadline, !Task.isCancelled else {
                logger.warning("none of \(members.sorted().joined(separator: ", ")) streams from us after \(timeout) s: stopping anyway")
                return
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    func demote(_ mode: DemoteMode) async throws {
        forgetStandbyNames()
        // Without the lock (lost, or the DCS unreachable) the deadline stays armed until the
        // server is down. With it, nobody can promote before we delete the key after the stop,
        // and a long checkpoint-first stop must not meet a deadline the keeper no longer moves.
        await keeper.setHoldingLeader(false, primaryMayRun: !mode.releasesLock)
        try await stopPostgres(mode: mode.stopsImmediately ? .immediate : .fast, checkpointFirst: mode.checkpointsFirst,
                               timeout: mode.stopTimeout(ttl: settings.ttl))
        // Patroni's safe point: the server takes no more writes, the watchdog has nothing to guard.
        watchdog.disable()
        await keeper.primaryStopped()
        if mode.releasesLock { await dcs.releaseLeaderKey(logger: logger) }
        lastRole = .demoted
        await setActsAsStandbyLeader(false)
        // Staying down, the start that follows the leader reports the role change.
        guard mode.restartsReadOnly else { return }
        try await startPostgres(recovery: RecoveryConfiguration(upstream: nil, slotName: mode.keepsSlotName ? mySlot : nil),
                                callback: nil)
        callbacks.fire(config.postgresql.callbacks["on_role_change"], event: "on_role_change", role: .replica)
    }

    /// Writes `history` from the new timeline's history file, keeping earlier lines' details.
    func recordPromotion(cluster: ClusterView?) async throws {
        let observation = await postgres.observe()
        guard let timeline = observation.timeline, timeline > 1 else { return }
        let file = config.postgresql.dataDir + "/pg_wal/" + String(format: "%08X", timeline) + ".history"
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return }
        let existing = cluster?.history ?? []
        var entries: [TimelineHistoryEntry] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "\t", maxSplits: 2).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count >= 2, let tl = Int64(fields[0]), let lsn = LSN(text: fields[1]) else { continue }
            if let known = existing.first(where: { $0.timeline == tl }) {
                entries.append(known)
            } else {
                let isNewest = tl == timeline - 1
                entries.append(TimelineHistoryEntry(timeline: tl, lsn: Int64(lsn.value), reason: fields.count > 2 ? fields[2] : "",
                                                    timestamp: isNewest ? Timestamps.isoNow() : nil, newLeader: isNewest ? me : nil))
            }
        }
        entries = PromotionTimeline.history(entries, current: timeline)
        guard entries != existing, !entries.isEmpty else { return }
        try await dcs.setHistory(.array(entries.map(\.json)))
    }

    func publishStatus(cluster: ClusterView?, observation: PostgresObservation) async {
        guard observation.isRunning, !observation.isInRecovery, let wal = observation.walPosition else { return }
        var status = cluster?.status ?? .empty
        let previous = status
        status.optime = Int64(wal.value)
        // Keep the newest timeline known to the DCS at least ours (see `PromotionTimeline`).
        if let timeline = observation.timeline { status.stazTimeline = max(status.stazTimeline ?? 0, timeline) }
        var slotNames = Set<String>()
        if let slots = try? await postgres.replicationSlots() {
            // Our own name at our position too (Patroni's `Postgresql.slots`): the replicas keep
            // a slot for us, advanced there, for when we come back as one of them.
            var positions = publishedSlotPositions(slots)
            let own = slotName(forMember: me)
            if settings.useSlots, !positions.contains(where: { $0.0 == own }) { positions.append((own, Int64(wal.value))) }
            status.slots = positions
            slotNames = Set(positions.map(\.0))
        }
        let permanentPhysical = Set(settings.permanentSlotList.filter { $0.kind == .physical }.map(\.name))
        let expired = retainedSlots.update(slots: slotNames, members: cluster?.members ?? [], me: me, permanentPhysical: permanentPhysical,
                                           ttl: settings.memberSlotsTTL, now: monotonicNow)
        for name in expired { logger.info("Replication slot '\(name)' for absent cluster member is expired after \(Int(settings.memberSlotsTTL)) sec.") }
        status.retainSlots = retainedSlots.names
        guard status != previous else { return }
        try? await dcs.setStatus(status.json)
    }
}

/// The parameters Patroni passes on the postmaster command line (`--name=value`): they beat
/// `ALTER SYSTEM`, so nobody can break replication by editing `postgresql.auto.conf`.
func commandLineParameters(_ parameters: JSONObject) -> [(String, String)] {
    parameters.pairs.compactMap { name, value in
        isPostmasterCommandLineParameter(name) ? (name, PostgresParameterRules.parameterText(value)) : nil
    }
}
