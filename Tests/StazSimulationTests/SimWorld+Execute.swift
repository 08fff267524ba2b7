import StazCore
import StazHA
import Testing

/// Carrying out plan steps on the simulated world, as the daemon's executor does on the real
/// one: the same branches, the same order, no choices of its own.
extension SimWorld {
    enum Outcome { case done, dcsLost }

    func execute(_ plan: HAPlan, _ i: Int, _ cluster: ClusterView?) -> Outcome {
        for step in plan.steps {
            switch run(step, i, cluster) {
            case .next: continue
            case .stop: return .done
            case .dcsLost: return .dcsLost
            case .branch(let branch): return execute(branch, i, cluster)
            }
        }
        return .done
    }

    enum StepResult { case next, stop, dcsLost, branch(HAPlan) }

    func run(_ step: HAStep, _ i: Int, _ cluster: ClusterView?) -> StepResult {
        let me = members[i].name
        let reachable = reachesDCS(i)
        switch step {
        case .acquireLock(let won, let lost):
            // `FailsafeMemory.claimLeadership`: a leader that confirmed itself since the decision wins.
            if members[i].failsafeLeader(at: now, ttl: options.ttl) != nil { return .branch(lost) }
            guard reachable else { return .dcsLost }
            guard dcs.acquire(me, at: now) else { return .branch(lost) }
            members[i].holding = true
            members[i].lastConfirmed = now
            members[i].inheritedFenceAt = nil
            log("\(me): acquired the leader lock")
            return .branch(won)
        case .updateLock(let held, let lost):
            guard reachable else {
                if settings(for: i).pause {
                    stopLeading(i, primaryMayRun: false)  // paused: PostgreSQL is left running on purpose
                    return .branch(lost)
                }
                return .dcsLost
            }
            guard dcs.renew(me, at: now) else {
                stopLeading(i, primaryMayRun: members[i].pg.acceptsWrites && !settings(for: i).pause)
                return .branch(lost)
            }
            members[i].holding = true
            members[i].lastConfirmed = now
            if members[i].pg.acceptsWrites {
                dcs.optime = Int64(members[i].pg.lsn)
                dcs.stazTimeline = max(dcs.stazTimeline ?? 0, members[i].pg.timeline)
            }
            publishFailsafeKey(i, cluster)
            return .branch(held)
        case .raceInitialize(let won, let lost):
            guard reachable else { return .dcsLost }
            return .branch(dcs.raceInitialize() ? won : lost)
        case .releaseLock:
            members[i].holding = false
            members[i].failsafeConfirmed = nil
            guard reachable else { return .dcsLost }
            dcs.release(me, at: now)
        case .writeInitialize(let value):
            guard reachable else { return .dcsLost }
            dcs.initialize = value
        case .bootstrapNewCluster:
            startLongAction(i, .bootstrap, seconds: 2)
        case .bootstrapStandbyLeader, .followRemote:
            // The simulated clusters are never standby clusters: no plan contains these.
            Issue.record("\(me): a standby-cluster step in a simulation without standby clusters")
        case .cloneFrom(let source):
            startLongAction(i, .clone(from: source), seconds: 3)
        case .startAsPrimary:
            members[i].pg.running = true
            members[i].pg.inRecovery = false
            members[i].pg.syncNames = managedStandbyNames(i, primary: true, cluster)
            checkAcknowledgedCommitsKept(by: i, "started as primary")
        case .follow(let leader):
            // The leader announced by `POST /failsafe` is followed even without its member key.
            let member = leader.flatMap { name in
                cluster?.member(named: name)
                    ?? (members[i].failsafeLeader(at: now, ttl: options.ttl) == name ? Member(name: name, data: JSONObject()) : nil)
            }
            follow(i, leader: member, cluster: cluster)
        case .promote:
            guard members[i].pg.running, members[i].pg.inRecovery else { return .next }
            // `claimPromotionTimeline`: the claim is written before PostgreSQL is asked.
            guard reachable else { return .dcsLost }
            let target = PromotionTimeline.target(current: members[i].pg.timeline, cluster: cluster, peers: members[i].lastPeers)
            dcs.stazTimeline = max(dcs.stazTimeline ?? 0, target)
            checkAcknowledgedCommitsKept(by: i, "promoted")
            members[i].pg.promote(newSegment: nextSegmentID, timeline: target)
            nextSegmentID += 1
            members[i].pg.syncNames = managedStandbyNames(i, primary: true, cluster)
            log("\(me): promoted to timeline \(members[i].pg.timeline)")
        case .prepareMemberSlots:
            break  // the simulated standbys stream without slots
        case .awaitStreaming:
            break  // the simulated shutdown reaches every connected standby
        case .demote(let mode):
            stopLeading(i, primaryMayRun: !mode.releasesLock)
            members[i].standbyNames = nil
            members[i].standbyNamesAppliedAt = nil
            members[i].pg.stop()
            members[i].inheritedFenceAt = nil  // `LeaseKeeper.primaryStopped`
            if mode.releasesLock, reachable { dcs.release(me, at: now) }
            guard mode.restartsReadOnly else {
                log("\(me): demoted (\(mode.rawValue)), stays down to follow")
                return .next
            }
            members[i].pg.running = true
            members[i].pg.inRecovery = true
            members[i].pg.upstream = nil
            members[i].pg.syncNames = managedStandbyNames(i, primary: false, cluster)
            log("\(me): demoted (\(mode.rawValue))")
        case .clearFailover:
            guard reachable else { return .dcsLost }
            dcs.failover = nil
        case .recordPromotion:
            guard reachable else { return .dcsLost }
            let lineage = members[i].pg.lineage
            let entries = zip(lineage, lineage.dropFirst()).map {
                TimelineHistoryEntry(timeline: $0.0.timeline, lsn: Int64($0.1.start), reason: "no recovery target specified")
            }
            dcs.history = PromotionTimeline.history(entries, current: members[i].pg.timeline)
        case .fatal(let message):
            violations.append("\(me) exited: \(message)")
            return .stop
        case .logInfo, .logWarning, .sleep, .restart, .cancelScheduledRestart, .reportBlockedFailover, .announceDemotion:
            break
        case .writeSync(let state, let version, let won, let lost):
            guard reachable else { return .dcsLost }
            guard dcs.setSync(state, version: version) else { return .branch(lost) }
            // prepareStandbyNamesForPromotion: the parameter the new primary starts with.
            if SyncMode(settings) != .off, members[i].pg.running {
                members[i].standbyNames = StandbyNames.initial(mode: SyncMode(settings), strict: settings.synchronousModeStrict,
                                                               sync: state)
                members[i].standbyNamesAppliedAt = nil
                members[i].pg.syncNames = members[i].standbyNames
            }
            return .branch(won)
        case .confirmFailsafe(let listed, let kept, let refused):
            return .branch(confirmFailsafe(i, listed) ? kept : refused)
        case .armWatchdog(let armed, _):
            // Simulated members run without a watchdog (`HAInput.watchdog` stays `.off`).
            return .branch(armed)
        case .disarmWatchdog:
            break
        case .cloneWithoutLeader:
            // Simulated members have no replica method that works without a leader.
            break
        }
        return .next
    }

    /// One round of `POST /failsafe` (`HAController.confirmFailsafe`, `FailsafeMemory.receive`):
    /// a member answers only when reachable and its daemon runs; it refuses while it leads (its
    /// server takes writes or it holds the lock), else it promises us for `ttl`. When all accept,
    /// the round's send instant extends our fence deadline, unless we no longer lead.
    func confirmFailsafe(_ i: Int, _ listed: [FailsafeMember]) -> Bool {
        var accepted = true
        for member in listed {
            guard let j = index(of: member.name), j != i else { continue }
            guard linked(i, j), members[j].isActive(at: now), !members[j].holding, !members[j].pg.acceptsWrites else {
                accepted = false
                continue
            }
            members[j].failsafeLeader = (members[i].name, now)
        }
        if accepted, members[i].holding { members[i].failsafeConfirmed = now }
        if !accepted { members[i].failsafeConfirmed = nil }
        return accepted
    }

    /// `HAController.publishFailsafeKey`: after the lock was confirmed, `{name: api_url}` of
    /// every member plus ourselves, written when it changed.
    func publishFailsafeKey(_ i: Int, _ cluster: ClusterView?) {
        guard settings.failsafeMode, let cluster else { return }
        var desired = JSONObject(cluster.members.compactMap { member in member.apiURL.map { (member.name, JSONValue.string($0)) } })
        if desired[members[i].name] == nil { desired[members[i].name] = .string(members[i].apiURL) }
        guard dcs.failsafe != desired else { return }
        dcs.failsafe = desired
        dcs.revision += 1
        members[i].lastFailsafeKey = desired
    }

    func startLongAction(_ i: Int, _ kind: SimMember.LongAction, seconds: Double) {
        members[i].longAction = (kind, now + seconds)
        members[i].memory.record(.longActionStarted(kind == .bootstrap ? "bootstrap" : "clone"), now: monotonic(i))
    }

    func finishLongAction(_ i: Int) {
        guard let action = members[i].longAction, now >= action.until, members[i].isAlive(at: now) else { return }
        members[i].longAction = nil
        members[i].memory.record(.longActionEnded, now: monotonic(i))
        let me = members[i].name
        switch action.kind {
        case .bootstrap:
            guard reachesDCS(i) else {
                violations.append("\(me): bootstrap could not finish (DCS unreachable), the daemon would exit")
                return
            }
            members[i].pg = SimPostgres(exists: true, running: true, inRecovery: false,
                                        lineage: [Segment(id: nextSegmentID, timeline: 1, start: 0)], lsn: 100)
            nextSegmentID += 1
            dcs.initialize = sysid
            dcs.take(me, at: now)
            members[i].holding = true
            members[i].lastConfirmed = now
            log("\(me): initialized a new cluster")
        case .clone(let source):
            guard let j = index(of: source), linked(i, j), members[j].pg.running, members[j].pg.exists else {
                members[i].pg.wipe()
                log("\(me): clone from \(source) failed")
                return
            }
            members[i].pg.copy(from: members[j].pg)
            members[i].pg.running = true
            members[i].pg.inRecovery = true
            members[i].pg.upstream = source
            log("\(me): cloned from \(source)")
        }
        members[i].nextCycle = now
    }

    /// `HAController.follow`: plans with `planFollow`, answering its questions from the world.
    func follow(_ i: Int, leader: Member?, cluster: ClusterView?) {
        let target: FollowTarget? = leader.flatMap { member in
            guard member.name != members[i].name, let j = index(of: member.name) else { return nil }
            return FollowTarget(memberName: member.name, host: "sim", port: members[j].port,
                                isLeader: member.name == cluster?.leader?.name, timeline: member.timeline)
        }
        var findings = FollowFindings()
        for _ in 0..<8 {
            let pg = members[i].pg
            let upstream = pg.upstream.flatMap(index(of:)).map { (host: "sim", port: members[$0].port) }
            let input = FollowInput(target: target, isRunning: pg.running, isAcceptingConnections: pg.running,
                                    isInRecovery: pg.inRecovery, isStreaming: pg.streaming, timeline: pg.timeline,
                                    serverUpstream: pg.running ? upstream : nil, configuredUpstream: upstream,
                                    paused: settings(for: i).pause, findings: findings)
            switch planFollow(input) {
            case .keep, .waitForCheckpoint:
                return
            case .startStandby(let upstream, _):
                members[i].pg.running = true
                members[i].pg.inRecovery = true
                members[i].pg.syncNames = managedStandbyNames(i, primary: false, cluster)
                members[i].pg.upstream = upstream?.memberName
                return
            case .repoint(let upstream):
                members[i].pg.upstream = upstream.memberName
                return
            case .dropUpstream:
                members[i].pg.upstream = nil
                return
            case .checkRewindNeeded(let leader):
                guard let j = index(of: leader.memberName), linked(i, j), members[j].pg.acceptsWrites else {
                    findings.rewindNeeded = false  // unknown: PostgreSQL's own checks decide
                    continue
                }
                findings.rewindNeeded = !members[i].pg.canFollow(members[j].pg)
            case .checkRewindPossible:
                findings.rewindPossible = true
            case .stopForRewind:
                members[i].pg.stop()
                findings.stopped = true
            case .rewind(let source):
                guard let j = index(of: source.memberName), linked(i, j), members[j].pg.running else {
                    findings.rewindFailed = true
                    continue
                }
                members[i].pg.copy(from: members[j].pg)
                members[i].pg.inRecovery = true
                log("\(members[i].name): rewound from \(source.memberName)")
                findings.rewound = true
            case .checkLeaderHealthy(let leader):
                if let j = index(of: leader.memberName), linked(i, j), members[j].pg.acceptsWrites {
                    findings.leaderHealthy = true
                } else {
                    findings.leaderHealthy = false
                }
            case .keepData(let kept):
                violations.append("\(members[i].name): kept its data instead of following \(kept.leader) (\(kept.reason))")
                return
            case .reclone(let source, _):
                members[i].pg.wipe()
                startLongAction(i, .clone(from: source.memberName), seconds: 3)
                return
            }
        }
        violations.append("\(members[i].name): following did not settle in eight rounds")
    }
}
