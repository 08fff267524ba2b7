import Foundation
import StazConfig
import StazCore
import StazPostgres
import StazSystem

/// Which logical slots fail over with the zone: those of the mesh provider's output plugin
/// (the other zones' subscriptions) and the permanent logical slots of the dynamic
/// configuration (Patroni's `slots`). The one place that decides it.
struct SlotFailoverSelection: Sendable, Equatable {
    /// The mesh provider (nil: no mesh).
    var provider: MeshProviderKind? = nil
    /// Permanent logical slots by name.
    var permanent: [String: DesiredLogicalSlot] = [:]

    init(provider: MeshProviderKind? = nil, permanent: [PermanentSlot] = []) {
        self.provider = provider
        for slot in permanent {
            if case .logical(let database, let plugin) = slot.kind {
                self.permanent[slot.name] = DesiredLogicalSlot(name: slot.name, database: database, plugin: plugin)
            }
        }
    }

    /// nil when there is nothing to fail over (no mesh, no permanent logical slot).
    static func make(provider: MeshProviderKind?, permanent: [PermanentSlot]) -> SlotFailoverSelection? {
        let selection = SlotFailoverSelection(provider: provider, permanent: permanent)
        return provider == nil && selection.permanent.isEmpty ? nil : selection
    }

    var plugins: Set<String> { Set(permanent.values.map(\.plugin)).union(provider.map { [$0.outputPlugin] } ?? []) }

    func selects(_ slot: ReplicationSlotInfo) -> Bool {
        guard slot.type == "logical", slot.walStatus != "lost" else { return false }
        if let provider, slot.plugin == provider.outputPlugin { return true }
        guard let wanted = permanent[slot.name] else { return false }
        return slot.plugin == wanted.plugin && slot.database == wanted.database
    }

    /// The leader's `status.slots` map: physical slots at restart_lsn (Patroni's member slots)
    /// and the logical slots that fail over at confirmed_flush_lsn, what their subscriber
    /// confirmed. Other logical slots are not published (nil selection: none are), nor
    /// temporary ones (pg_basebackup's), which no replica could keep.
    static func publishedPositions(_ slots: [ReplicationSlotInfo], selection: SlotFailoverSelection?) -> [(String, Int64)] {
        slots.compactMap { slot in
            if slot.temporary { return nil }
            if slot.type == "logical" {
                guard let selection, selection.selects(slot), let lsn = slot.confirmedFlushLSN else { return nil }
                return (slot.name, Int64(lsn.value))
            }
            return slot.restartLSN.map { (slot.name, Int64($0.value)) }
        }
    }

    /// `GET /mesh` `slots_ready`: every replica of the zone with its `logical_slots_ready`
    /// (from the member keys; this member's own verdict is the freshest).
    static func readinessReport(members: [Member], me: String, mine: Bool?) -> JSONObject {
        var report = JSONObject()
        for member in members.sorted(by: { $0.name < $1.name }) {
            let ready = member.name == me ? mine : member.data["logical_slots_ready"]?.boolValue
            if let ready { report[member.name] = .bool(ready) }
        }
        return report
    }
}


/// What the loop remembers about logical slot failover between cycles.
struct SlotFailoverState {
    var progress = LogicalSlotProgress()
    /// Readiness for the race and `/patroni` (nil: not a replica in a mesh).
    var ready: Bool?
    var notReady: [String: SlotNotReady] = [:]
    /// The leader and postmaster the progress was verified against.
    var leader: String?
    var postmasterStartTime: String?
    /// Published names the primary did not return (not a slot of the provider's plugin there),
    /// and the published set they belong to.
    var notOnPrimary: Set<String> = []
    var publishedNames: Set<String> = []
    /// Copies that failed to advance because their WAL is gone or they were invalidated.
    var recopy: Set<String> = []
    /// Copies made although this replica lacks the WAL they need, with the position they need
    /// it from: present (as Patroni copies them), never reported ready.
    var lackingWAL: [String: LSN] = [:]
    var lastCopyAt: ContinuousClock.Instant?
    /// Background advance/feedback work; `generation` discards results after a reset.
    var working = false
    var generation = 0
    var reportedLine: String?
    var reportedAdvanceErrors: [String: String] = [:]
    /// Spock: the physical slots the primary-side guard currently lists.
    var standbySlots: [String] = []

    mutating func reset() {
        progress.reset()
        notOnPrimary = []
        recopy = []
        generation += 1
        reportedAdvanceErrors = [:]
    }
}

extension HAController {
    var slotFailoverSelection: SlotFailoverSelection? {
        SlotFailoverSelection.make(provider: config.mesh?.provider, permanent: settings.permanentSlotList)
    }

    // MARK: leader: publish positions, Spock guard

    /// The `status.slots` map the leader writes every loop (see `SlotFailoverSelection`).
    func publishedSlotPositions(_ slots: [ReplicationSlotInfo]) -> [(String, Int64)] {
        SlotFailoverSelection.publishedPositions(slots, selection: slotFailoverSelection)
    }

    /// Spock's settings for this member's role (merged into every configuration write).
    func applySlotFailoverParameters(to parameters: inout JSONObject, primary: Bool) {
        guard let selection = slotFailoverSelection, selection.provider == .spock else { return }
        let version = lastObservation.serverVersion ?? postgres.dataDirectoryMajorVersion() ?? 15
        let settings = SpockSlotSettings.parameters(serverVersion: version, primary: primary,
                                                    standbySlots: primary ? slotFailover.standbySlots : [])
        for (name, value) in settings { parameters[name] = .string(value) }
    }

    /// Spock, on the leader: keep the standby-slot guard equal to the standbys streaming now.
    func maintainSpockStandbyGuard(cluster: ClusterView, observation: PostgresObservation, leading: Bool) async {
        guard leading, observation.isRunning, observation.isAcceptingConnections, memory.longAction == nil else {
            slotFailover.standbySlots = []
            return
        }
        let streaming = walSenders.map { (applicationName: $0.applicationName, state: $0.state) }
        let wanted = SpockSlotSettings.healthyStandbySlots(members: cluster.members, me: me, streaming: streaming)
        guard wanted != slotFailover.standbySlots else { return }
        slotFailover.standbySlots = wanted
        let version = observation.serverVersion ?? 15
        logger.info("setting \(SpockSlotSettings.guardParameter(serverVersion: version)) to '\(wanted.joined(separator: ","))'")
        do {
            try await writePostgresConfiguration(recovery: nil)
            try await postgres.reload()
        } catch {
            logger.error("could not apply the Spock standby slot guard: \(error)")
        }
    }

    // MARK: replica: copy, advance, readiness

    /// Every cycle. The leader publishes (see `publishedSlotPositions`); a replica keeps copies of
    /// the published slots and works out whether they are ready for a failover.
    func maintainLogicalSlotFailover(cluster: ClusterView, observation: PostgresObservation) async {
        guard let selection = slotFailoverSelection else {
            slotFailover.ready = nil
            return
        }
        defer {
            let report = SlotFailoverSelection.readinessReport(members: cluster.members, me: me, mine: slotFailover.ready)
            apiState.update { $0.meshExtras["slots_ready"] = .object(report) }
        }
        let leading = cluster.leader?.name == me && !observation.isInRecovery
        if selection.provider == .spock { await maintainSpockStandbyGuard(cluster: cluster, observation: observation, leading: leading) }
        guard observation.isRunning, observation.isAcceptingConnections, observation.isInRecovery else {
            if slotFailover.ready != nil || slotFailover.leader != nil { slotFailover.reset() }
            slotFailover.ready = nil
            slotFailover.leader = nil
            return
        }
        // Without a leader (a race is on) the last verdict stands: it is what the race compares.
        guard memory.longAction == nil, let leaderName = cluster.leader?.name, leaderName != me,
              let leader = cluster.member(named: leaderName), let upstream = upstreamTarget(leader) else { return }
        if slotFailover.leader != leaderName || slotFailover.postmasterStartTime != observation.postmasterStartTime {
            // A new primary holds catalog rows only once our feedback reaches it, and a restart
            // reloads copies from disk (possibly older): verify everything again.
            slotFailover.reset()
            slotFailover.leader = leaderName
            slotFailover.postmasterStartTime = observation.postmasterStartTime
        }
        let local: [ReplicationSlotInfo]
        do { local = try await postgres.replicationSlots() } catch {
            logger.warning("could not read replication slots: \(error)")
            return
        }
        let physical = Set(cluster.members.map { slotName(forMember: $0.name) })
            .union(settings.permanentSlotList.filter { $0.kind == .physical }.map(\.name))
        // A member that may never lead keeps no copies (Patroni gives `nofailover` members no
        // permanent slots, `nostream` ones no logical slots): the ones it has are dropped.
        let keepsNone = config.tags.noFailover || config.tags.noStream
            || LogicalSlotRules.cascadesThroughNoStream(from: config.tags.replicateFrom, members: cluster.members, me: me)
        let candidates = keepsNone ? [] : LogicalSlotRules.candidates(status: cluster.status, memberSlotNames: physical)
        let names = Set(candidates.map(\.name))
        if names != slotFailover.publishedNames {
            slotFailover.publishedNames = names
            slotFailover.notOnPrimary = []
        }
        // Neither provider has slot synchronisation staz can rely on (see SpockSlotSettings):
        // staz copies and advances the slots for both.
        let owned = postgres.ownedLogicalSlotCopies()
        let plan = LogicalSlotRules.plan(candidates: candidates, local: local, plugins: selection.plugins, owned: owned,
                                         replay: observation.replayLSN, notOnPrimary: slotFailover.notOnPrimary,
                                         statusHasSlots: keepsNone || !cluster.status.slots.isEmpty)
        await dropStaleCopies(plan.drop, owned: owned)
        let copy = plan.copy + slotFailover.recopy.intersection(owned).intersection(names).sorted()
        if !copy.isEmpty, mayCopyNow() {
            startLogicalSlotCopy(copy, from: upstream, plugins: selection.plugins)
            return
        }
        startSlotWork(advances: plan.advance, local: local, candidates: names, plugins: selection.plugins, upstream: upstream)
        LogicalSlotRules.observe(&slotFailover.progress, candidates: candidates, local: local, plugins: selection.plugins)
        let notReady = LogicalSlotRules.readiness(candidates: candidates, local: local, plugins: selection.plugins,
                                                  progress: slotFailover.progress, notOnPrimary: slotFailover.notOnPrimary,
                                                  lackingWAL: slotFailover.lackingWAL)
        reportReadiness(notReady)
    }

    /// A copy restarts PostgreSQL: never in pause, and not more often than every 10 s (or two
    /// loops) when a copy has to be redone.
    func mayCopyNow() -> Bool {
        if settings.pause { return false }
        guard let last = slotFailover.lastCopyAt else { return true }
        return ContinuousClock.now - last >= .seconds(max(10, 2 * settings.loopWait))
    }

    func dropStaleCopies(_ names: [String], owned: Set<String>) async {
        guard !names.isEmpty else { return }
        var remaining = owned
        for name in names {
            do {
                try await postgres.dropReplicationSlot(name)
                remaining.remove(name)
                logger.info("dropped logical slot copy '\(name)': the slot is gone from the primary")
            } catch {
                logger.warning("could not drop logical slot copy '\(name)': \(error)")
            }
        }
        slotFailover.progress.forget(names)
        for name in names { slotFailover.lackingWAL[name] = nil }
        do { try await postgres.saveOwnedLogicalSlotCopies(remaining) } catch { logger.warning("could not record logical slot copies: \(error)") }
    }

    func reportReadiness(_ notReady: [String: SlotNotReady]) {
        slotFailover.notReady = notReady
        slotFailover.ready = notReady.isEmpty
        let line = notReady.isEmpty
            ? "logical slots ready for failover"
            : "logical slots not ready for failover: " + notReady.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
        if line != slotFailover.reportedLine {
            slotFailover.reportedLine = line
            logger.info("\(line)")
        }
    }

    // MARK: background work (advances can decode a lot of WAL; the loop never waits for them)

    func startSlotWork(advances: [SlotAdvance], local: [ReplicationSlotInfo], candidates: Set<String>, plugins: Set<String>,
                       upstream: UpstreamTarget) {
        guard !slotFailover.working else { return }
        // Copies whose catalog rows are not yet known to be held by the primary.
        let unprotected = local.filter {
            candidates.contains($0.name) && $0.type == "logical" && plugins.contains($0.plugin ?? "")
                && $0.walStatus != "lost" && !slotFailover.progress.covered.contains($0.name)
        }
        let feedbackSlot = mySlot
        guard !advances.isEmpty || (!unprotected.isEmpty && feedbackSlot != nil) else { return }
        slotFailover.working = true
        let generation = slotFailover.generation
        let postgres = self.postgres
        let logger = self.logger
        Task {
            var recopy = Set<String>()
            var errors: [String: String] = [:]
            for advance in advances {
                do {
                    _ = try await postgres.advanceLogicalSlot(advance)
                } catch {
                    let state = PostgresController.sqlState(of: error)
                    // WAL removed (58P01) or slot invalidated (55000): only a fresh copy helps.
                    if state == "58P01" || state == "55000" { recopy.insert(advance.name) }
                    errors[advance.name] = PostgresController.errorText(error)
                }
            }
            var covered = Set<String>()
            if let feedbackSlot, !unprotected.isEmpty {
                do {
                    let held = try await postgres.physicalSlotCatalogXmin(feedbackSlot, on: upstream)
                    for slot in unprotected where LogicalSlotRules.feedbackCovers(physicalCatalogXmin: held, copyCatalogXmin: slot.catalogXmin) {
                        covered.insert(slot.name)
                    }
                } catch {
                    logger.debug("could not read the catalog_xmin of slot \(feedbackSlot) on the primary: \(error)")
                }
            }
            self.finishSlotWork(generation: generation, covered: covered, recopy: recopy, errors: errors)
        }
    }

    func finishSlotWork(generation: Int, covered: Set<String>, recopy: Set<String>, errors: [String: String]) {
        slotFailover.working = false
        guard generation == slotFailover.generation else { return }
        slotFailover.progress.covered.formUnion(covered)
        slotFailover.recopy.formUnion(recopy)
        for (name, error) in errors where slotFailover.reportedAdvanceErrors[name] != error {
            slotFailover.reportedAdvanceErrors[name] = error
            logger.warning("could not advance logical slot copy '\(name)': \(error)\(recopy.contains(name) ? " (will copy it again)" : "")")
        }
    }

    // MARK: copy (a restart: PostgreSQL loads slots only at startup)

    func startLogicalSlotCopy(_ names: [String], from upstream: UpstreamTarget, plugins: Set<String>) {
        slotFailover.lastCopyAt = ContinuousClock.now
        startLongAction("copy logical slots", state: .restarting) { ha in
            await ha.copyLogicalSlots(names, from: upstream, plugins: plugins)
        }
    }

    func copyLogicalSlots(_ names: [String], from upstream: UpstreamTarget, plugins: Set<String>) async {
        do {
            let fetched = try await postgres.fetchLogicalSlots(names, plugins: plugins.sorted(), from: upstream)
            let absent = Set(names).subtracting(fetched.map(\.name))
            if !absent.isEmpty {
                slotFailover.notOnPrimary.formUnion(absent)
                logger.info("not copying \(absent.sorted().joined(separator: ", ")): no logical slot of plugin \(plugins.sorted().joined(separator: "/")) of that name on \(upstream.memberName)")
            }
            let oldestWAL = try await postgres.oldestLocalWAL()
            let existing = postgres.ownedLogicalSlotCopies()
            var usable: [(name: String, state: SlotStateFile)] = []
            var lacking: [String: LSN] = [:]
            for slot in fetched {
                guard let state = slot.state, state.isValid, state.slotName == slot.name else {
                    logger.warning("not copying logical slot '\(slot.name)': its state file from \(upstream.memberName) is not valid")
                    continue
                }
                if let oldestWAL, let restart = state.restartLSN ?? slot.restartLSN, restart < oldestWAL {
                    // A replica built from a backup taken after the slot was made. The first copy
                    // is made anyway, as Patroni makes it (the slot exists where users look), but
                    // is never reported ready; copying again would only restart PostgreSQL for
                    // nothing until the primary's slot moves past the WAL this replica keeps.
                    if existing.contains(slot.name) {
                        logger.info("not copying logical slot '\(slot.name)' again yet: it needs WAL from \(restart), this replica keeps WAL from \(oldestWAL)")
                        continue
                    }
                    logger.info("copying logical slot '\(slot.name)' although it needs WAL from \(restart) and this replica keeps WAL from \(oldestWAL): it is not ready for a failover until copied again")
                    lacking[slot.name] = restart
                }
                usable.append((slot.name, state))
            }
            guard !usable.isEmpty else { return }
            for (name, _) in usable { slotFailover.lackingWAL[name] = lacking[name] }
            var owned = postgres.ownedLogicalSlotCopies()
            owned.formUnion(usable.map(\.name))
            // Recorded before the files exist, so a crash in between cannot leave an unowned copy.
            try await postgres.saveOwnedLogicalSlotCopies(owned)
            let recovery = recoveryForRunningStandby(await postgres.observe())
            try await stopPostgres(mode: .fast, checkpointFirst: false, timeout: 60)
            try await postgres.installLogicalSlotCopies(usable)
            slotFailover.progress.forget(usable.map(\.name))
            slotFailover.recopy.subtract(usable.map(\.name))
            try await startPostgres(recovery: recovery, callback: "on_restart")
            logger.info("copied logical slots \(usable.map(\.name).joined(separator: ", ")) from \(upstream.memberName); restarted PostgreSQL to load them")
        } catch {
            // A stopped PostgreSQL is started again by the next cycles (follow the leader).
            logger.error("copying logical slots from \(upstream.memberName) failed: \(PostgresController.describe(error))")
        }
    }
}
