import AsyncHTTPClient
import Foundation
import Logging
import StazAPI
import StazConcurrency
import StazConfig
import StazCore
import StazDCS
import StazHA
import StazPostgres
import StazWatchdog

/// Runs the HA loop: observe (DCS + PostgreSQL + peers) → `decide` → execute → publish.
/// One actor owns all loop state; long PostgreSQL work (bootstrap, clone) runs in background
/// tasks so the loop keeps its lock refreshed meanwhile, and the lease keeper runs apart from it.
actor HAController {
    var config: StazConfiguration {
        didSet { settingsResolvedFrom = nil }
    }
    let dcs: DCSClient
    let postgres: PostgresController
    let keeper: LeaseKeeper
    /// Armed and disarmed by the plan's steps; kept alive by the lease keeper.
    let watchdog: Watchdog
    let apiState: APIState
    let prober: PeerProber
    let logger: Logger
    let wakeup = SignalWaiters()
    /// The step the current cycle is in, readable while the actor is busy (loop watchdog).
    let progress = LoopProgress()

    var settings: DynamicSettings
    var memory = HAMemory()
    var lastLockedMembers: [String] = []
    var lastCluster: ClusterView?
    var lastObservation = PostgresObservation(dataDirectoryEmpty: true, isRunning: false)
    /// What the other members answered this cycle (a promotion takes a timeline above theirs).
    var lastPeers: [PeerStatus] = []
    /// Member `state` published in the DCS and REST (`running`, `creating replica`, ...).
    var stateOverride: MemberState?
    var lastRole = MemberRole.uninitialized
    /// We lead a standby cluster: PostgreSQL follows the remote side and we hold the lock.
    /// Set when a `followRemote` as leader completes, cleared by every other role change.
    private(set) var actsAsStandbyLeader = false
    /// What `patroni.dynamic.json` holds (nil: not written by this process yet).
    var cachedDynamicConfiguration: JSONObject?
    /// The DCS configuration `settings` were last resolved from (nil: resolve again, as after
    /// a reload). Resolving validates every parameter: once per change, not once per cycle.
    var settingsResolvedFrom: ResolvedFrom?
    struct ResolvedFrom { var dcsConfig: JSONObject? }
    var longActionTask: Task<Void, Never>?
    var checkpointAfterPromotePending = false
    /// Spock's apply gate is in the configuration (only during a promotion; every later write
    /// of the configuration drops it).
    var spockApplyGateClosed = false
    var stopping = false
    var reloadHook: (@Sendable (StazConfiguration) -> Void)?
    /// When this member won a leader race, to measure how long the promotion took (metrics).
    var raceWonAt: ContinuousClock.Instant?
    /// The recovery settings PostgreSQL was last configured with (nil: primary).
    var currentRecovery: RecoveryConfiguration?
    /// Bumped by every long action, so a cancelled (forced-over) one cannot end its successor.
    var longActionGeneration = 0
    /// `POST /restart` with a schedule, and the request as published in the member key.
    var scheduledRestart: ScheduledRestart?
    var scheduledRestartPublished: JSONObject?
    let callbacks: CallbackRunner
    /// Patroni runs `on_reload` on its own executor, so it never kills a role-change callback.
    let reloadCallbacks: CallbackRunner
    /// `on_start` ran (or a role change replaced it) since the daemon started.
    var startCallbackDone = false
    /// Command-line parameters changed by a reload but not applied until a restart.
    var commandLinePending = JSONObject()
    /// `synchronous_standby_names` staz applied (synchronous mode), and the primary's flush
    /// LSN at that moment; `managingStandbyNames` until the user's value was restored.
    var standbyNames: StandbyNames?
    /// The planner chose `standbyNames` (nil then means "nobody"), as opposed to nothing chosen
    /// yet since this node became primary (nil: start from `/sync`).
    var standbyNamesChosen = false
    var standbyNamesAppliedAt: LSN?
    var managingStandbyNames = false
    /// Strict synchronous mode with no standby to confirm commits was reported (once per
    /// episode, as Patroni's `_synchronous_strict_mode_activated`).
    var strictModeStarvedReported = false
    /// Why this node refuses to promote (double fault in synchronous mode), for `/patroni`.
    var blockedFailoverReason: String?
    /// The primary's walsenders as last seen by the synchronous-replication step.
    var walSenders: [ReplicationConnection] = []
    /// Logical slot failover of the mesh (LogicalSlotFailover.swift).
    var slotFailover = SlotFailoverState()
    /// Slot problems of the configuration already logged (once each).
    var slotProblemsReported = Set<String>()
    /// The leader's `status.retain_slots` bookkeeping (reset when it wins the lock).
    var retainedSlots = RetainedSlots()
    /// DCS failsafe mode: what the loop wrote and confirmed (Failsafe.swift), and what this
    /// member promised by answering `POST /failsafe` (shared with the REST handler).
    var failsafe = FailsafeLoopState()
    let failsafeMemory: FailsafeMemory
    /// A DCS request of the executor found the DCS unreachable: the rest of the cycle takes the
    /// DCS-error path (Patroni's `DCSError` → `_handle_dcs_error`).
    var dcsLostDuringCycle = false
    /// Cycles the watchdog cancelled because they exceeded `cycleBound` (metrics, tests).
    var stuckCycles = 0
    /// DCS values staz cannot use (`ClusterView.problems`), logged rate-limited.
    var dcsProblemWarnings = RateLimitedWarnings()
    /// PostgreSQL parameters as last written to postgresql.conf: the last good values kept when
    /// the DCS holds one the server would refuse (`ParameterGuard`), whose errors are logged
    /// rate-limited.
    var writtenParameters = JSONObject()
    /// While a restored cluster recovers: the settings pg_control requires at least.
    var recoveryParameterFloor: [String: Int64] = [:]
    /// Settings raised to pg_control's values at the last configuration write, as pending a
    /// restart (`{name: {old_value, new_value}}`).
    var recoveryFloorPending = JSONObject()
    var parameterRejectionErrors = RateLimitedWarnings()

    init(config: StazConfiguration, dcs: DCSClient, postgres: PostgresController, keeper: LeaseKeeper, watchdog: Watchdog,
         apiState: APIState, http: HTTPClient, settings: DynamicSettings, logger: Logger) {
        self.config = config; self.dcs = dcs; self.postgres = postgres; self.keeper = keeper; self.watchdog = watchdog
        self.apiState = apiState; self.settings = settings; self.logger = logger
        prober = PeerProber(http: http, timeout: .seconds(2))
        callbacks = CallbackRunner(scope: config.scope, logger: logger)
        reloadCallbacks = CallbackRunner(scope: config.scope, logger: logger)
        failsafeMemory = FailsafeMemory(promiseFile: FailsafePromiseFile(dataDirectory: config.postgresql.dataDir, logger: logger))
        // Before the first cycle can race: a promise our previous process made still binds.
        if let promise = failsafeMemory.restorePromise(ttl: settings.ttl) {
            logger.warning("the previous staz process promised \(promise.leader) through POST /failsafe not to race for the leader lock; keeping that promise")
        }
    }

    var me: String { config.name }

    /// The loop: one cycle every `loop_wait`, woken early by DCS changes and finished actions.
    /// Each cycle is bounded (`cycleBound`): a cycle stuck past it is logged as CRITICAL with the
    /// step it is stuck in, cancelled, and the next cycle starts, so one hung request can never
    /// stop the loop (the lease keeper runs apart and fences if leadership is not confirmed).
    func run() async {
        while !Task.isCancelled && !stopping {
            let started = ContinuousClock.now
            let bound = cycleBound
            progress.begin(bound: bound)
            let progress = self.progress
            if let message = await withWatchdog(every: .milliseconds(100), grace: .seconds(1),
                                                isOverdue: { progress.isOverdue }, { await self.runCycle() }) {
                logger.info("\(message)")
            } else if !Task.isCancelled {
                logger.critical("HA loop stuck while \(progress.step) (cycle budget \(seconds(bound)) s): cancelled the cycle, starting the next one")
                stuckCycles += 1
            }
            let loopDuration = ContinuousClock.now - started
            apiState.update { $0.lastLoopDuration = loopDuration }
            let remaining = settings.loopWait - seconds(loopDuration)
            if remaining <= 0 {
                logger.warning("Loop time exceeded, rescheduling immediately.")
                continue
            }
            progress.enter("sleeping")
            await sleep(upTo: .milliseconds(Int64(remaining * 1000)))
        }
    }

    /// The budget of one cycle: 3 × loop_wait or ttl, whichever is less, but at least 5 s so a
    /// loaded machine's slow but progressing cycle is not cut. Steps bounded by longer timeouts
    /// of their own (PostgreSQL stops and starts, DCS retries) extend it while they run.
    var cycleBound: Duration {
        .milliseconds(Int64(max(5, min(3 * settings.loopWait, settings.ttl)) * 1000))
    }

    /// Sleeps until a DCS change, a wake-up signal or `limit`, whichever comes first. Neither
    /// wait can hold the loop past `limit`, whatever it does with cancellation.
    func sleep(upTo limit: Duration) async {
        let dcs = self.dcs
        let wakeup = self.wakeup
        await firstToFinish(within: limit, [
            { _ = await dcs.waitForChange(timeout: limit) },
            { _ = await wakeup.wait(timeout: limit) },
        ])
    }

    func runCycle() async -> String {
        // The actor is re-entered while this cycle awaits I/O (a background action may finish
        // meanwhile): decide on the memory as it was when the DCS view was read.
        let memoryAtStart = memory
        let longActionsAtStart = longActionGeneration
        var cluster: ClusterView?
        progress.enter("reading the cluster from the DCS")
        do {
            let asked = ContinuousClock.now
            cluster = try await dcs.loadCluster(fresh: false)
            let took = ContinuousClock.now - asked
            apiState.update { $0.lastDCSRequestDuration = took }
        } catch {
            logger.error("Error communicating with DCS: \(error)")
        }
        if let cluster { await adopt(cluster) }
        progress.enter("observing PostgreSQL")
        let observation = withCommandLinePending(await postgres.observe())
        lastObservation = observation
        // The leader key (or `config`, `failover`) changed while PostgreSQL answered: decide on
        // the watch's newer view, not one a leader race may already have moved past.
        if cluster != nil, await dcs.changedSinceLastRead(), let newer = try? await dcs.loadCluster(fresh: false) {
            cluster = newer
            await adopt(newer)
        }
        publishWALPositions(observation)
        await updateFailsafeMemory(observation)
        let downtime = primaryDowntime(cluster: cluster, observation: observation)
        let downtimeSeen = monotonicNow
        memory.record(downtime, now: downtimeSeen)
        // Our member key expired (e.g. we were partitioned away): announce ourselves before
        // acting, so the leader recreates our replication slot while we rewind, instead of
        // after PostgreSQL started and its walreceiver began waiting 5 s between retries.
        if let cluster, cluster.member(named: me) == nil, !observation.dataDirectoryEmpty {
            await publishMember(observation)
        }

        var peers: [PeerStatus] = []
        if let cluster, needsPeerStatus(cluster, observation) {
            var members = cluster.members
            for name in lastLockedMembers where !members.contains(where: { $0.name == name }) {
                if let old = lastCluster?.member(named: name) { members.append(old) }
            }
            // Failsafe mode: members listed in `failsafe` compete even when their key expired.
            for listed in (settings.failsafeMode ? FailsafeMember.list(cluster.failsafe) : nil) ?? []
            where !members.contains(where: { $0.name == listed.name }) {
                members.append(Member(name: listed.name, data: JSONObject([("api_url", .string(listed.apiURL))])))
            }
            progress.enter("asking the other members for their status")
            peers = await prober.probe(members, excluding: me)
        }
        lastPeers = peers
        var decisionMemory = memoryAtStart
        decisionMemory.record(downtime, now: downtimeSeen)
        var input = HAInput(node: nodeIdentity, cluster: cluster, lastLockedMembers: lastLockedMembers,
                            postgres: observation, settings: settings, peers: peers, memory: decisionMemory,
                            now: seconds(ContinuousClock.now - processStart), wallClock: Date().timeIntervalSince1970,
                            scheduledFailoverAt: cluster?.failover?.scheduledAt.flatMap(ISOTimestamp.parse)
                                .flatMap { $0.hasTimeZone ? $0.epochSeconds : nil },
                            scheduledRestart: scheduledRestart)
        input.failsafe = failsafeInput()
        input.failsafe.lockInDoubt = await keeper.lockInDoubt(updateMayTake: lockUpdateBound)
        input.logicalSlotsReady = slotFailover.ready
        input.watchdog = watchdog.state
        input.watchdogUsable = watchdog.isHealthy
        input.actsAsStandbyLeader = actsAsStandbyLeader
        input.bootstrapMethod = config.bootstrap.methodSettings != nil && config.bootstrap.method != "initdb"
            ? .custom(config.bootstrap.method) : .initdb
        let plan = decide(input)
        let previouslyBlocked = blockedFailoverReason
        blockedFailoverReason = nil
        dcsLostDuringCycle = false
        var outcome = await execute(plan, cluster: cluster, observation: observation)
        // The loop watchdog gave up on this cycle and a new one takes over: publish nothing.
        if Task.isCancelled { return outcome.message }
        if dcsLostDuringCycle {
            // Decided on a view (possibly the watch cache) the DCS can no longer confirm.
            dcsLostDuringCycle = false
            logger.error("Error communicating with DCS: not accessible during the cycle")
            cluster = nil
            input.cluster = nil
            let retried = await execute(decide(input), cluster: nil, observation: observation)
            outcome = PlanOutcome(message: retried.message,
                                  leftPostgresAlone: outcome.leftPostgresAlone && retried.leftPostgresAlone)
        }
        // Patroni: once the DCS answers again the leader no longer runs on failsafe.
        if cluster != nil { failsafe.confirmedAt = nil }
        if let blocked = blockedFailoverReason, blocked != previouslyBlocked { logger.warning("\(blocked)") }
        // A daemon that died during a promotion may have left Spock's apply gate in
        // postgresql.conf: the first configuration written by this one drops it.
        if memory.firstCycle, memoryAtStart.longAction == nil, config.mesh?.provider == .spock, observation.isRunning {
            await rewritePostgresConfiguration()
        }
        if memoryAtStart.longAction == nil { memory.record(.cycleCompleted, now: monotonicNow) }

        // One query a cycle is enough for most cycles (a replica following, a leader keeping
        // the lock); see `observationStillHolds`.
        let after: PostgresObservation
        if observationStillHolds(planLeftPostgresAlone: outcome.leftPostgresAlone,
                                 serverAnswered: observation.isAcceptingConnections,
                                 longActionRan: memoryAtStart.longAction != nil || longActionGeneration != longActionsAtStart) {
            after = observation
        } else {
            progress.enter("observing PostgreSQL after the actions")
            after = withCommandLinePending(await postgres.observe())
            lastObservation = after
        }
        if after.isRunning { memory.record(.postgresRunning, now: monotonicNow) }
        await updateFailsafeMemory(after)
        fireFirstStartCallback(after)
        if let cluster {
            progress.enter("publishing the member key")
            await publishMember(after)
            // A replica whose view changed meanwhile leaves its slot upkeep to the next cycle,
            // which starts at once: a leader race must not wait behind slot copies (up to a
            // tenth of a second on a loaded machine, enough for another member to win a race
            // this one never saw).
            let holding = await keeper.holdingLeader
            let viewChanged = await dcs.changedSinceLastRead()
            if cluster.leader?.name == me || holding || !viewChanged {
                progress.enter("maintaining the leader's keys and slots")
                await maintainLeaderState(cluster: cluster, observation: after)
                await processSyncReplication(cluster: cluster, observation: after)
                await maintainLogicalSlotFailover(cluster: cluster, observation: after)
            }
        } else {
            progress.enter("following the failsafe leader's slots")
            await syncSlotsFromFailsafeLeader(observation: after)
        }
        await publishSnapshot(cluster: cluster, observation: after)
        return outcome.message
    }

    /// Takes `cluster` as this cycle's view of the DCS.
    func adopt(_ cluster: ClusterView) async {
        for problem in dcsProblemWarnings.due(cluster.problems) { logger.warning("DCS value not usable: \(problem)") }
        // Keep the keeper's notion of leadership in line with the DCS: a member that lost
        // the lock by any path (fence, expiry, another member's takeover) must not go on
        // refreshing "as leader", or a later acquire would start from a stale confirmation.
        if cluster.leader?.name != me, await keeper.holdingLeader {
            // In pause the primary is left running on purpose: nothing may fence it.
            await keeper.setHoldingLeader(false, primaryMayRun: lastObservation.isRunning && !lastObservation.isInRecovery
                                              && !settings.pause)
        }
        lastCluster = cluster
        if cluster.isLocked { lastLockedMembers = cluster.members.map(\.name) }
        await applyDynamicConfig(cluster)
    }

    var nodeIdentity: NodeIdentity {
        NodeIdentity(name: me, noFailover: config.tags.noFailover, failoverPriority: config.tags.failoverPriority,
                     cloneFrom: config.tags.cloneFrom, canBootstrap: true, replicateFrom: config.tags.replicateFrom)
            .with(canCloneWithoutLeader: config.postgresql.createReplicaMethods.contains {
                ReplicaMethods.worksWithoutLeader($0, settings: config.postgresql.replicaMethodSettings)
            })
    }

    /// Peers are asked only when their answers can change the decision: a leader race, or the
    /// leader checking that a switchover target is healthy.
    func needsPeerStatus(_ cluster: ClusterView, _ observation: PostgresObservation) -> Bool {
        if !cluster.isLocked { return observation.isRunning }
        return cluster.leader?.name == me && (cluster.failover != nil || !observation.isRunning)
    }

    /// Whether this cycle finds the lock holder's (our) PostgreSQL down: the start timeout runs.
    func primaryDowntime(cluster: ClusterView?, observation: PostgresObservation) -> HAEvent {
        cluster?.leader?.name == me && !observation.isRunning ? .postgresDownWhileLeading : .postgresNotDownWhileLeading
    }

    func applyDynamicConfig(_ cluster: ClusterView) async {
        let dcsConfig = cluster.config?.data
        if let dcsConfig { await cacheDynamicConfiguration(dcsConfig) }
        if let last = settingsResolvedFrom, last.dcsConfig == dcsConfig { return }
        let (resolved, warnings) = DynamicSettings.resolve(dcsConfig: dcsConfig, bootstrapDCS: config.bootstrap.dcs, local: config)
        settingsResolvedFrom = ResolvedFrom(dcsConfig: dcsConfig)
        guard resolved != settings else { return }
        for warning in warnings { logger.warning("\(warning)") }
        let postgresChanged = resolved.parameters != settings.parameters || resolved.pgHBA != settings.pgHBA
            || Self.roleParameterSources(resolved) != Self.roleParameterSources(settings)
        let timingChanged = resolved.ttl != settings.ttl || resolved.loopWait != settings.loopWait || resolved.retryTimeout != settings.retryTimeout
        settings = resolved
        if timingChanged {
            await dcs.setTimeouts(ttl: resolved.ttl, loopWait: resolved.loopWait, retryTimeout: resolved.retryTimeout)
            await keeper.setTimeouts(ttl: resolved.ttl, loopWait: resolved.loopWait)
        }
        if postgresChanged && !memory.firstCycle { await applyPostgresConfiguration() }
    }

    /// Work the leader does every cycle besides the decision: config key, member slots, status.
    /// A replica keeps the slots of members cascading from it (`replicatefrom`), which the
    /// leader then does not need.
    func maintainLeaderState(cluster: ClusterView, observation: PostgresObservation) async {
        guard observation.isRunning, observation.isAcceptingConnections, memory.longAction == nil else { return }
        let holding = await keeper.holdingLeader
        // A standby cluster's leader runs in recovery, yet keeps its members' slots and
        // publishes the configuration like a primary.
        let leading = (cluster.leader?.name == me || holding) && (!observation.isInRecovery || settings.standbyCluster != nil)
        if leading, cluster.config == nil {
            _ = try? await dcs.setConfig(.object(config.bootstrap.dcs), version: nil)
        }
        guard settings.useSlots, leading || observation.isInRecovery else { return }
        await syncMemberSlots(cluster: cluster, leading: leading, primary: !observation.isInRecovery)
    }

    /// This member's slots (`SlotPlanner`: members' physical slots, retained and permanent ones)
    /// brought into place (`SlotRules`). `leading`: primary, or being promoted.
    func syncMemberSlots(cluster: ClusterView, leading: Bool, primary: Bool) async {
        let desired = desiredSlots(cluster: cluster, leading: leading)
        for problem in desired.problems where slotProblemsReported.insert(problem).inserted { logger.error("\(problem)") }
        // Patroni keeps a stale xmin only while nobody leads, or while the leader is still a standby.
        let clean = cluster.leader != nil && (cluster.leader?.name != me || primary)
        let context = SlotRuleContext(managedElsewhere: postgres.ownedLogicalSlotCopies(), ignore: settings.ignoreSlotMatchers,
                                      primary: primary, cleanInactiveWithXmin: clean, paused: settings.pause)
        do { try await postgres.syncSlots(desired: desired, context: context) } catch { logger.warning("could not sync replication slots: \(error)") }
    }

    func desiredSlots(cluster: ClusterView, leading: Bool) -> DesiredSlots {
        SlotPlanner.desired(SlotPlannerInput(cluster: cluster, me: me, leading: leading, noFailover: config.tags.noFailover,
                                             noStream: config.tags.noStream, useSlots: settings.useSlots,
                                             memberSlotsTTL: settings.memberSlotsTTL, permanent: settings.permanentSlotList))
    }

    func publishMember(_ observation: PostgresObservation) async {
        let holds = await keeper.holdingLeader
        let data = MemberRecord.build(config: config, state: memberState(observation), role: memberRole(observation),
                                      observation: observation, paused: settings.pause,
                                      checkpointAfterPromotePending: checkpointAfterPromotePending, holdsLock: holds,
                                      scheduledRestart: scheduledRestartPublished, logicalSlotsReady: slotFailover.ready)
        do { _ = try await dcs.touchMember(data) } catch { logger.warning("failed to update member key: \(error)") }
    }

    func memberState(_ observation: PostgresObservation) -> MemberState {
        if let stateOverride { return stateOverride }
        if observation.isRunning { return observation.isAcceptingConnections ? .running : .starting }
        return .stopped
    }

    func memberRole(_ observation: PostgresObservation) -> MemberRole {
        if observation.dataDirectoryEmpty { lastRole = .uninitialized; return lastRole }
        if observation.isRunning && observation.isAcceptingConnections {
            lastRole = observation.isInRecovery ? (actsAsStandbyLeader ? .standbyLeader : .replica) : .primary
        } else if !observation.isRunning && lastRole == .primary {
            lastRole = .demoted
        }
        return lastRole
    }

    /// Seconds since the daemon started: the clock of `HAInput.now` and the loop memory.
    var monotonicNow: Double { seconds(ContinuousClock.now - processStart) }

    func seconds(_ d: Duration) -> Double {
        d.secondsValue
    }

    /// Graceful shutdown (SIGTERM): stop PostgreSQL, then give up the lock at once so a replica
    /// takes over without waiting for the TTL. Paused clusters keep PostgreSQL and the lock.
    func shutdown() async {
        stopping = true
        longActionTask?.cancel()
        await refreshPauseForShutdown()
        if settings.pause {
            logger.info("Leaving PostgreSQL running because the cluster is paused")
            watchdog.disable()
            return
        }
        let holding = await keeper.holdingLeader
        stateOverride = .stopping
        do {
            let wasRunning = postgres.isRunning()
            try await stopPostgres(mode: .fast, checkpointFirst: false, timeout: settings.primaryStopTimeout > 0 ? settings.primaryStopTimeout : 60)
            if wasRunning { callbacks.fire(config.postgresql.callbacks["on_stop"], event: "on_stop", role: lastRole) }
        } catch {
            logger.error("failed to stop PostgreSQL: \(error)")
            if holding { return }
        }
        stateOverride = .stopped
        watchdog.disable()
        // PostgreSQL is down: we lead no more (`/primary` answers 503 from here on), while the
        // key stays ours until we delete it below.
        await keeper.setHoldingLeader(false)
        let observation = await postgres.observe()
        await publishSnapshot(cluster: nil, observation: observation)
        if holding {
            if let lsn = lastObservation.walPosition {
                var status = lastCluster?.status ?? .empty
                status.optime = Int64(lsn.value)
                try? await dcs.setStatus(status.json)
            }
            await dcs.releaseLeaderKey(logger: logger)
        }
        await publishMember(observation)
    }

    /// Whether to leave PostgreSQL running is decided on the cluster's pause flag as the DCS
    /// has it now, not as the last cycle saw it: a `resume` and a SIGTERM a moment apart left
    /// PostgreSQL running unmanaged (etcd v2 wakes the loop only for the leader key, so the
    /// last cycle can be `loop_wait` old). Bounded; an unreachable DCS keeps the last view.
    func refreshPauseForShutdown() async {
        let dcs = self.dcs
        guard let fresh = await withDeadline(.seconds(2), { try? await dcs.loadCluster(fresh: true) }), let cluster = fresh else { return }
        let (resolved, _) = DynamicSettings.resolve(dcsConfig: cluster.config?.data, bootstrapDCS: config.bootstrap.dcs, local: config)
        if resolved.pause != settings.pause {
            logger.info("the cluster is \(resolved.pause ? "paused" : "no longer paused") in the DCS: shutting down accordingly")
            settings.pause = resolved.pause
        }
    }
}

let processStart = ContinuousClock.now

extension HAController {
    /// How long a lock update may take before the failsafe round behind it goes out: its whole
    /// `retry_timeout`, and a second for the round's answers (members answer in milliseconds).
    var lockUpdateBound: Duration { .seconds(settings.retryTimeout) + .seconds(1) }

    /// The one place the standby-leader role changes: the lease keeper fences PostgreSQL only
    /// while it may take writes.
    func setActsAsStandbyLeader(_ leads: Bool) async {
        // Every replica's cycle clears it: no hop to the keeper when nothing changes.
        guard leads != actsAsStandbyLeader else { return }
        actsAsStandbyLeader = leads
        await keeper.setLeadsStandbyCluster(leads)
    }

    /// `patroni.dynamic.json` in the data directory: the last dynamic configuration seen in the
    /// DCS, as Patroni's `Config.save_cache` keeps it. Tools and Patroni's own tests read or
    /// remove it (removing it makes a member forget an old cluster's settings).
    func cacheDynamicConfiguration(_ data: JSONObject) async {
        guard data != cachedDynamicConfiguration,
              FileManager.default.fileExists(atPath: config.postgresql.dataDir + "/PG_VERSION") else { return }
        do {
            try await postgres.writeDataFile("patroni.dynamic.json", contents: JSONValue.object(data).compactString)
            cachedDynamicConfiguration = data
        } catch {
            logger.warning("could not write patroni.dynamic.json: \(error)")
        }
    }
}
