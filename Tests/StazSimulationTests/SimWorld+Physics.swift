import StazCore
import StazHA

/// What PostgreSQL does on its own between HA cycles: standbys stream from their upstream and
/// the primary takes writes.
extension SimWorld {
    func replicate() {
        for i in members.indices where members[i].pg.running && members[i].pg.inRecovery {
            guard let name = members[i].pg.upstream, let j = index(of: name), linked(i, j),
                  members[j].pg.running, members[i].pg.canFollow(members[j].pg) else {
                members[i].pg.streaming = false
                continue
            }
            members[i].pg.lineage = members[j].pg.lineage
            members[i].pg.lsn = members[j].pg.lsn
            members[i].pg.streaming = true
        }
    }

    /// Clients write wherever a primary accepts writes (HAProxy may lag, clients retry).
    func writeWorkload() {
        for i in members.indices where members[i].pg.acceptsWrites { members[i].pg.lsn += 64 }
    }

    // MARK: faults

    enum Fault: CaseIterable { case cutFromDCS, isolate, freeze, kill, crashPostgres, switchover, dcsOutage, pause, loseWakeup }

    func injectFault() {
        nextFaultAt = now + rng.between(0.5, 2 * options.faultEvery)
        let i = rng.below(members.count)
        let faults = Fault.allCases.filter {
            ($0 != .loseWakeup || options.lostWakeups) && ($0 != .switchover || options.switchovers)
                && ($0 != .dcsOutage || options.dcsOutages) && ($0 != .pause || options.pauses)
        }
        let fault = faults[rng.below(faults.count)]
        let duration = rng.between(1, 2.5 * options.ttl)
        let name = members[i].name
        switch fault {
        case .cutFromDCS:
            members[i].dcsCutUntil = now + duration
            log("FAULT \(name): cut from the DCS for \(fmt(duration)) s")
        case .isolate:
            members[i].isolatedUntil = now + duration
            log("FAULT \(name): isolated from everything for \(fmt(duration)) s")
        case .freeze:
            guard members[i].isAlive(at: now) else { return }
            members[i].frozenUntil = now + duration
            log("FAULT \(name): daemon frozen for \(fmt(duration)) s")
        case .kill:
            guard members[i].isAlive(at: now) else { return }
            members[i].deadUntil = now + rng.between(0.5, 5)
            // The fencing guard keeps the deadline of the daemon that died.
            members[i].inheritedFenceAt = members[i].fenceDeadline(ttl: options.ttl)
            members[i].holding = false
            members[i].lastConfirmed = nil
            members[i].longAction = nil
            log("FAULT \(name): daemon killed (PostgreSQL keeps running)")
        case .switchover:
            // What `stazctl switchover` (or its DCS fallback) writes: the leader and, mostly, a
            // named candidate, which may be unhealthy at that moment.
            guard let leader = dcs.liveLeader(at: now) else { return }
            let others = members.map(\.name).filter { $0 != leader }
            let candidate = rng.chance(0.8) ? others[rng.below(others.count)] : nil
            dcs.failover = FailoverRequest(leader: leader, candidate: candidate)
            dcs.revision += 1
            log("FAULT switchover requested from \(leader) to \(candidate ?? "any member")")
        case .dcsOutage:
            dcs.downUntil = max(dcs.downUntil ?? 0, now + duration)
            log("FAULT the DCS is down for \(fmt(duration)) s")
        case .pause:
            guard !dcs.paused else { return }
            dcs.paused = true
            dcs.pausedUntil = now + duration
            dcs.revision += 1
            log("FAULT the operator pauses the cluster for \(fmt(duration)) s")
        case .loseWakeup:
            guard members[i].isAlive(at: now) else { return }
            members[i].loopStalled = true
            log("FAULT \(name): the HA loop lost its wake-up")
        case .crashPostgres:
            guard members[i].pg.running else { return }
            members[i].pg.stop()
            log("FAULT \(name): PostgreSQL crashed")
        }
    }

    /// A killed daemon starts again (systemd): fresh memory, same data directory.
    func restartKilledDaemons() {
        for i in members.indices {
            guard let until = members[i].deadUntil, now >= until else { continue }
            members[i].deadUntil = nil
            members[i].loopStalled = false
            members[i].memory = HAMemory()
            members[i].lastLockedMembers = []
            // A `POST /failsafe` promise survives in the data directory (FailsafePromise).
            members[i].failsafeConfirmed = nil
            members[i].lastFailsafeKey = nil
            members[i].startedAt = now
            members[i].lastCycleAt = now
            members[i].nextCycle = now + rng.between(0, 0.5)
            members[i].nextKeeperTick = now
            log("\(members[i].name): daemon started again")
        }
    }

    func fmt(_ value: Double) -> String { String(format: "%.1f", value) }
}
