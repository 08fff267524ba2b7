import StazConfig
import StazCore
import StazDCS
import StazHA

/// A whole cluster in one process: N members running the real HA decision over a simulated
/// DCS and PostgreSQL, on a virtual clock advanced in ticks. Every random choice (loop jitter,
/// the order members act in a tick, faults) comes from one seed, so a run replays exactly.
final class SimWorld {
    struct Options {
        var members = 3
        var ttl: Double = 10
        var loopWait: Double = 1
        /// The fencing guard acts at the first tick past its deadline: a tick stays well under
        /// the fence margin (1 s at this ttl), so a fenced server stops before its lease ends.
        var tick: Double = 0.2
        /// Faults start after the cluster bootstrapped and stop here; then it must converge.
        var faultsFrom: Double = 20
        var faultsUntil: Double = 80
        var end: Double = 140
        /// Mean seconds between faults while they are on.
        var faultEvery: Double = 4
        /// Patroni's `check_timeline`: a replica behind the cluster's timeline never promotes.
        var checkTimeline = false
        /// `synchronous_mode` (`off`, `on`, `quorum`) and `synchronous_mode_strict`.
        var synchronousMode = "off"
        var synchronousModeStrict = false
        /// Operators' switchover requests among the faults (written to the DCS as `stazctl`'s
        /// fallback does, possibly naming an unhealthy candidate or outliving its leader).
        var switchovers = true
        /// DCS failsafe mode (`failsafe_mode: true`): a leader cut off from the DCS stays primary
        /// while every member listed in the `failsafe` key accepts its `POST /failsafe`.
        var failsafeMode = false
        /// Operators pausing the cluster (`stazctl pause`, resumed later) among the faults.
        var pauses = false
        /// Outages of the whole DCS among the faults (what failsafe mode is for).
        var dcsOutages = false
        /// Also inject the fault the demo once hit: a loop that stops waking up while the
        /// process (and its lease keeper) lives on. Only to show the invariants catch it.
        var lostWakeups = false
    }

    let options: Options
    let seed: UInt64
    var rng: SimRandom
    var now: Double = 0
    var dcs: SimDCS
    var members: [SimMember]
    let settings: DynamicSettings
    var trace: [String] = []
    var violations: [String] = []
    var nextSegmentID = 1
    var lastClusterTimeline: Int64 = 0
    /// The last commit a client was told succeeded (synchronous mode): its segment and position.
    var acked: (segment: Int, lsn: UInt64)?
    /// Failovers to a member behind the cluster's timeline (see `checkInvariants`).
    var timelineRegressions = 0
    var nextFaultAt: Double
    let sysid = "7300000000000000001"

    init(seed: UInt64, options: Options = Options()) {
        self.seed = seed
        self.options = options
        rng = SimRandom(seed: seed)
        dcs = SimDCS(ttl: options.ttl)
        var settings = DynamicSettings()
        settings.ttl = options.ttl
        settings.loopWait = options.loopWait
        settings.retryTimeout = options.loopWait
        settings.usePgRewind = true
        settings.primaryStartTimeout = 10
        settings.checkTimeline = options.checkTimeline
        settings.synchronousMode = options.synchronousMode
        settings.synchronousModeStrict = options.synchronousModeStrict
        settings.failsafeMode = options.failsafeMode
        self.settings = settings
        var members: [SimMember] = []
        for index in 0..<options.members {
            members.append(SimMember(name: "m\(index + 1)", port: 5433 + index, firstCycle: rng.between(0, 1)))
        }
        self.members = members
        nextFaultAt = options.faultsFrom
    }

    func log(_ line: String) {
        let centiseconds = Int((now * 100).rounded())
        let stamp = "\(centiseconds / 100).\(centiseconds % 100 < 10 ? "0" : "")\(centiseconds % 100)"
        trace.append(String(repeating: " ", count: max(0, 7 - stamp.count)) + stamp + " " + line)
    }

    // MARK: running

    /// Runs to the end; returns the violations found (empty when every invariant held).
    @discardableResult
    func run() -> [String] {
        while now < options.end && violations.isEmpty {
            step()
            now += options.tick
        }
        if violations.isEmpty { checkConverged() }
        return violations
    }

    func step() {
        if now >= nextFaultAt && now < options.faultsUntil { injectFault() }
        if let until = dcs.pausedUntil, now >= until {
            dcs.paused = false
            dcs.pausedUntil = nil
            dcs.revision += 1
            log("FAULT the operator resumes the cluster")
        }
        restartKilledDaemons()
        let order = shuffledIndexes()
        for index in order { keeperTick(index) }
        for index in order { finishLongAction(index) }
        for index in order where members[index].loopRuns(at: now) && now >= members[index].nextCycle {
            runCycle(index)
        }
        writeWorkload()
        replicate()
        acknowledgeCommits()
        checkInvariants()
    }

    func shuffledIndexes() -> [Int] {
        var order = Array(members.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
        return order
    }

    /// Whether `a` can talk to `b` (REST probe, replication connection, rewind source).
    func linked(_ a: Int, _ b: Int) -> Bool {
        !members[a].isIsolated(at: now) && !members[b].isIsolated(at: now)
    }

    func index(of name: String) -> Int? { members.firstIndex { $0.name == name } }

    /// The settings member `i` runs with: the cluster's, with maintenance mode as it last read it.
    func settings(for i: Int) -> DynamicSettings {
        var mine = settings
        mine.pause = members[i].paused
        return mine
    }

    /// Whether member `i`'s DCS requests get through: its own link, and the DCS being up.
    func reachesDCS(_ i: Int) -> Bool {
        members[i].linkedToDCS(at: now) && !(dcs.downUntil.map { now < $0 } ?? false)
    }

    // MARK: the lease keeper and the fencing guard

    func keeperTick(_ i: Int) {
        let ttl = options.ttl
        if members[i].isActive(at: now), now >= members[i].nextKeeperTick {
            // A failed refresh changes nothing (`LeaseKeeper.refreshNow`): the HA loop notices a
            // lost lock, and until then the deadline stays as it was. The next one comes at the
            // retry pace.
            var pace = LeaseRenewal.interval(ttl: ttl, loopWait: options.loopWait)
            if members[i].holding {
                if reachesDCS(i), dcs.renew(members[i].name, at: now) {
                    members[i].lastConfirmed = now
                } else {
                    pace = LeaseRenewal.retryInterval(ttl: ttl, loopWait: options.loopWait)
                }
            }
            members[i].nextKeeperTick = now + pace.secondsValue
        }
        // The guard is its own process: it fences whether the daemon runs, hangs or died.
        if let deadline = members[i].fenceDeadline(ttl: ttl), now >= deadline, members[i].pg.acceptsWrites {
            log("\(members[i].name): fenced (lease not confirmed since \(members[i].lastConfirmed.map { String(format: "%.2f", $0) } ?? "-"))")
            members[i].pg.stop()
            members[i].inheritedFenceAt = nil
            // `LeaseKeeper.checkFence`: no longer acting as leader, failsafe rounds forgotten.
            members[i].holding = false
            members[i].failsafeConfirmed = nil
        }
    }

    // MARK: one HA cycle (HAController.runCycle)

    func runCycle(_ i: Int) {
        let me = members[i].name
        var cluster: ClusterView? = reachesDCS(i) ? dcs.view(at: now) : nil
        if let view = cluster {
            members[i].paused = view.config?.data["pause"]?.boolValue ?? false
            if view.leader?.name != me, members[i].holding {
                stopLeading(i, primaryMayRun: members[i].pg.acceptsWrites && !members[i].paused)
            }
            if view.isLocked { members[i].lastLockedMembers = view.members.map(\.name) }
            members[i].lastFailsafeKey = view.failsafe
        }
        let observation = observe(i)
        let down = cluster?.leader?.name == me && !observation.isRunning
        members[i].memory.record(down ? .postgresDownWhileLeading : .postgresNotDownWhileLeading, now: monotonic(i))
        if let view = cluster, view.member(named: me) == nil, !observation.dataDirectoryEmpty {
            dcs.touch(me, members[i].memberKey(state: memberState(i)), at: now)
            cluster = dcs.view(at: now)
        }
        members[i].lastPeers = peers(i, cluster, observation)
        var input = HAInput(node: NodeIdentity(name: me), cluster: cluster, lastLockedMembers: members[i].lastLockedMembers,
                            postgres: observation, settings: settings(for: i), peers: members[i].lastPeers,
                            memory: members[i].memory, now: monotonic(i), wallClock: 1_800_000_000 + now)
        input.logicalSlotsReady = nil
        input.failsafe = FailsafeInput(topology: FailsafeMember.list(members[i].lastFailsafeKey),
                                       leader: members[i].failsafeLeader(at: now, ttl: options.ttl))
        let plan = decide(input)
        let memoryAtStart = members[i].memory
        var message = plan.message
        if execute(plan, i, cluster) == .dcsLost {
            input.cluster = nil
            let retry = decide(input)
            message = retry.message
            _ = execute(retry, i, nil)
        }
        if memoryAtStart.longAction == nil { members[i].memory.record(.cycleCompleted, now: monotonic(i)) }
        processSync(i)
        if members[i].pg.running { members[i].memory.record(.postgresRunning, now: monotonic(i)) }
        if cluster != nil, reachesDCS(i), members[i].pg.exists || members[i].longAction != nil {
            dcs.touch(me, members[i].memberKey(state: memberState(i)), at: now)
        }
        // Heartbeats only when they change: the trace stays readable and cheap.
        if !message.isEmpty, message != members[i].lastMessage { log("\(me): \(message)") }
        members[i].lastMessage = message
        members[i].lastCycleAt = now
        members[i].nextCycle = now + options.loopWait + rng.between(0, 0.3)
    }

    func monotonic(_ i: Int) -> Double { now - members[i].startedAt }

    /// `LeaseKeeper.setHoldingLeader(false, primaryMayRun:)`: a deadline of a primary that may
    /// still take writes stays armed as an inherited one.
    func stopLeading(_ i: Int, primaryMayRun: Bool) {
        if primaryMayRun, let deadline = members[i].fenceDeadline(ttl: options.ttl) {
            members[i].inheritedFenceAt = max(members[i].inheritedFenceAt ?? deadline, deadline)
        }
        members[i].holding = false
        members[i].failsafeConfirmed = nil
    }

    func observe(_ i: Int) -> PostgresObservation {
        members[i].pg.observation(sysid: sysid) { name in self.index(of: name).map { self.members[$0].port } }
    }

    func memberState(_ i: Int) -> MemberState {
        if let action = members[i].longAction { return action.kind == .bootstrap ? .initializingNewCluster : .creatingReplica }
        return members[i].pg.running ? .running : .stopped
    }

    /// `GET /patroni` of every other member, as the real prober asks them.
    func peers(_ i: Int, _ cluster: ClusterView?, _ observation: PostgresObservation) -> [PeerStatus] {
        guard let cluster else { return [] }
        let asked = cluster.isLocked ? cluster.leader?.name == members[i].name && (cluster.failover != nil || !observation.isRunning)
                                     : observation.isRunning
        guard asked else { return [] }
        var names = Set(cluster.members.map(\.name))
        names.formUnion(members[i].lastLockedMembers)
        // Failsafe mode: members listed in `failsafe` compete even when their key expired.
        if settings.failsafeMode { names.formUnion((FailsafeMember.list(cluster.failsafe) ?? []).map(\.name)) }
        names.remove(members[i].name)
        return names.sorted().compactMap { name -> PeerStatus? in
            guard let j = index(of: name) else { return nil }
            guard linked(i, j), members[j].isActive(at: now) else { return PeerStatus(name: name, reachable: false) }
            // What its `GET /patroni` says: a stopped former primary is `demoted`, an empty one
            // `uninitialized`, and only a running primary reports `xlog.location`.
            let pg = members[j].pg
            let role: MemberRole = !pg.exists ? .uninitialized : pg.inRecovery ? .replica : pg.running ? .primary : .demoted
            var status = PeerStatus(name: name, reachable: true, role: role, isInRecovery: !pg.acceptsWrites,
                                    walPosition: pg.running ? LSN(pg.lsn) : nil)
            status.timeline = pg.running ? pg.timeline : nil
            return status
        }
    }
}
