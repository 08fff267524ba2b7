import StazCore
import StazConfig

/// The HA decision: a pure function of (DCS view, local PostgreSQL state, configuration, clock,
/// loop memory) returning the plan for this cycle and its heartbeat line. It follows the order
/// of Patroni's `Ha._run_cycle` and uses Patroni's messages verbatim, because
/// operators grep for them.
public func decide(_ input: HAInput) -> HAPlan {
    let plan = disarmingWatchdog(Decider(input).decide(), input)
    return input.settings.pause ? prefixed(plan, "PAUSE: ") : plan
}

/// An armed watchdog is disarmed first thing once this member is paused or its PostgreSQL is no
/// longer a running primary, unless the plan is promoting it (Patroni disables it in pause,
/// when PostgreSQL is found stopped and at a demotion's safe point; the executor's demotion
/// disarms it once the server is down).
func disarmingWatchdog(_ plan: HAPlan, _ input: HAInput) -> HAPlan {
    guard input.watchdog == .armed else { return plan }
    let pg = input.postgres
    let primary = pg.isRunning && pg.isAcceptingConnections && !pg.isInRecovery
    guard input.settings.pause || (!primary && !plan.promotes) else { return plan }
    return HAPlan(plan.message, [.disarmWatchdog] + plan.steps)
}

/// Prefixes the heartbeat line of a plan and of every branch the executor may pick.
func prefixed(_ plan: HAPlan, _ prefix: String) -> HAPlan {
    let steps = plan.steps.map { step -> HAStep in
        switch step {
        case .acquireLock(let a, let b): return .acquireLock(then: prefixed(a, prefix), otherwise: prefixed(b, prefix))
        case .updateLock(let a, let b): return .updateLock(then: prefixed(a, prefix), otherwise: prefixed(b, prefix))
        case .raceInitialize(let a, let b): return .raceInitialize(then: prefixed(a, prefix), otherwise: prefixed(b, prefix))
        case .writeSync(let state, let version, let a, let b):
            return .writeSync(state, version: version, then: prefixed(a, prefix), otherwise: prefixed(b, prefix))
        case .confirmFailsafe(let members, let a, let b):
            return .confirmFailsafe(members: members, then: prefixed(a, prefix), otherwise: prefixed(b, prefix))
        case .armWatchdog(let a, let b): return .armWatchdog(then: prefixed(a, prefix), otherwise: prefixed(b, prefix))
        default: return step
        }
    }
    return HAPlan(prefix + plan.message, steps)
}

struct Decider {
    let input: HAInput
    let me: String
    let pg: PostgresObservation
    let settings: DynamicSettings

    init(_ input: HAInput) {
        self.input = input
        me = input.node.name
        pg = input.postgres
        settings = input.settings
    }

    var paused: Bool { settings.pause }
    /// This cluster is a standby cluster: its leader follows a remote primary or archive.
    var standbyCluster: Bool { settings.standbyCluster != nil }
    var runningAsPrimary: Bool { pg.isRunning && pg.isAcceptingConnections && !pg.isInRecovery }

    func decide() -> HAPlan {
        guard let cluster = input.cluster else { return dcsUnreachable() }
        let holdsLock = cluster.leader?.name == me

        if let action = input.memory.longAction {
            return longActionInProgress(action, cluster: cluster, holdsLock: holdsLock)
        }
        if let error = pg.dataDirectoryError {
            if holdsLock {
                return HAPlan("released leader key voluntarily as data dir not accessible and currently leader", [.releaseLock])
            }
            return HAPlan("data directory is not accessible: \(error)")
        }
        if pg.dataDirectoryEmpty {
            return emptyDataDirectory(cluster: cluster, holdsLock: holdsLock)
        }
        if let dcsSysid = cluster.initialize, !dcsSysid.isEmpty, let local = pg.systemIdentifier, dcsSysid != local {
            if paused {
                return HAPlan("released leader key voluntarily due to the system ID mismatch", holdsLock ? [.releaseLock] : [])
            }
            return HAPlan("system ID mismatch, node \(me) belongs to a different cluster: \(dcsSysid) != \(local)",
                          [.fatal("system ID mismatch, node \(me) belongs to a different cluster: \(dcsSysid) != \(local)")])
        }
        var prefix: [HAStep] = []
        if cluster.initialize == nil, !cluster.isLocked, !paused, input.memory.firstCycle, let local = pg.systemIdentifier {
            if pg.isRunning, pg.isInRecovery {
                return HAPlan("No initialize key in DCS and PostgreSQL is running as replica, aborting start",
                              [.fatal("No initialize key in DCS and PostgreSQL is running as replica, aborting start")])
            }
            prefix.append(.writeInitialize(local))
        } else if holdsLock, let local = pg.systemIdentifier, (cluster.initialize ?? "").isEmpty {
            prefix.append(.writeInitialize(local))
        }
        let plan: HAPlan
        if !pg.isRunning {
            plan = postgresNotRunning(cluster: cluster, holdsLock: holdsLock)
        } else if !cluster.isLocked {
            plan = unlockedCluster(cluster)
        } else {
            let locked = withScheduledRestart(lockedCluster(cluster, holdsLock: holdsLock))
            plan = holdsLock ? backedByFailsafe(locked) : locked
        }
        return HAPlan(plan.message, prefix + plan.steps)
    }

    // MARK: DCS failure (Patroni's `Ha._handle_dcs_error`)

    func dcsUnreachable() -> HAPlan {
        if !paused, runningAsPrimary { return primaryWithoutDCS() }
        if !paused, stoppedPrimaryWithoutDCS { return finishOfflineDemotion() }
        if !paused, startFailedWithoutDCS {
            return HAPlan("starting as readonly again because PostgreSQL failed to start and DCS is not accessible",
                          [.follow(leader: nil)])
        }
        return HAPlan("DCS is not accessible")
    }

    // MARK: background work

    func longActionInProgress(_ action: String, cluster: ClusterView, holdsLock: Bool) -> HAPlan {
        let lostLock = runningAsPrimary && !paused
            ? HAPlan("lost leader lock during \(action)", [.demote(.immediateNoLock)])
            : HAPlan("\(action) in progress")
        if holdsLock {
            return HAPlan("\(action) in progress", [.updateLock(then: HAPlan("updated leader lock during \(action)"), otherwise: lostLock)])
        }
        if cluster.isLocked, action != "bootstrap" { return lostLock }
        return HAPlan("\(action) in progress")
    }

    // MARK: empty data directory → bootstrap or clone (Patroni's `Bootstrap.bootstrap` and `Bootstrap.clone`)

    func emptyDataDirectory(cluster: ClusterView, holdsLock: Bool) -> HAPlan {
        if holdsLock {
            return HAPlan("released leader key voluntarily as data dir empty and currently leader", [.releaseLock])
        }
        if paused { return HAPlan("running with empty data directory") }
        if !cluster.isLocked, cluster.initialize == nil, input.node.canBootstrap, input.node.mayBecomeLeader {
            if standbyCluster {
                return HAPlan("trying to bootstrap a new standby leader", [.raceInitialize(
                    then: HAPlan("trying to bootstrap a new standby leader", [.bootstrapStandbyLeader]),
                    otherwise: HAPlan("failed to acquire initialize lock"))])
            }
            return HAPlan("trying to bootstrap a new cluster", [.raceInitialize(
                then: HAPlan("trying to bootstrap a new cluster", [.bootstrapNewCluster(input.bootstrapMethod)]),
                otherwise: HAPlan("failed to acquire initialize lock"))])
        }
        if let source = cloneSource(cluster) {
            let kind = source == cluster.leader?.name ? "leader" : "replica"
            return HAPlan("trying to bootstrap from \(kind) '\(source)'", [.cloneFrom(source)])
        }
        // Patroni's `Ha.bootstrap`: without a leader, a method that needs none may build us,
        // unless another member is bootstrapping the cluster right now (`initialize` empty).
        if !cluster.isLocked, input.node.canCloneWithoutLeader, cluster.initialize != "" {
            return HAPlan("trying to bootstrap (without leader)", [.cloneWithoutLeader])
        }
        return HAPlan(standbyCluster ? "waiting for standby_leader to bootstrap" : "waiting for leader to bootstrap")
    }

    /// A running member tagged `clonefrom` (not us, not the leader), else the leader.
    func cloneSource(_ cluster: ClusterView) -> String? {
        guard let leader = cluster.leader, !(cluster.initialize ?? "").isEmpty else { return nil }
        let cloneable = cluster.members.filter {
            $0.cloneFrom && $0.name != me && $0.name != leader.name && $0.memberState == .running
        }.map(\.name).sorted()
        if let first = cloneable.first { return first }
        // Like Patroni, the leader is a clone source as soon as it holds the lock (it takes the
        // lock only once bootstrap finished); waiting for its member key to say "running" cost
        // new replicas up to a loop_wait.
        return leader.name
    }

    // MARK: PostgreSQL not running (Patroni's `Ha.recover`)

    func postgresNotRunning(cluster: ClusterView, holdsLock: Bool) -> HAPlan {
        if paused {
            if holdsLock { return HAPlan("removed leader lock because postgres is not running", [.releaseLock]) }
            return HAPlan("postgres is not running")
        }
        let wasPrimary = !pg.isInRecovery
        // A standby cluster's leader never runs as a primary (Patroni's `recover`).
        if standbyCluster, holdsLock {
            return HAPlan("starting as a standby leader because i had the session lock", [.followRemote(asLeader: true)])
        }
        if standbyCluster, !cluster.isLocked {
            return HAPlan("trying to follow a remote member because standby cluster is unhealthy", [.followRemote(asLeader: false)])
        }
        if holdsLock {
            // Patroni's `post_recover`: a primary whose start failed (it is not running after
            // the attempt) gives the lock up at once; primary_start_timeout bounds a start that
            // is still recovering, not retries of one that cannot succeed. Unlike Patroni, only
            // when another member can take over: a lone primary keeps trying.
            if wasPrimary, input.memory.startFailedAt != nil, failoverPossible(cluster, candidate: nil) {
                return HAPlan("removed leader key after trying and failing to start postgres",
                              [.releaseLock, .announceDemotion, .follow(leader: nil)])
            }
            if wasPrimary, settings.primaryStartTimeout > 0, startTimeoutLeft() > 0 {
                return HAPlan("starting primary after failure", [.updateLock(
                    then: HAPlan("starting primary after failure", [.startAsPrimary]),
                    otherwise: HAPlan("starting as readonly because i had the session lock", [.follow(leader: nil)]))])
            }
            if wasPrimary, settings.primaryStartTimeout > 0 {
                return HAPlan("removed leader key after trying and failing to start postgres", [.releaseLock, .follow(leader: nil)])
            }
            if wasPrimary, failoverPossible(cluster, candidate: nil) {
                return HAPlan("stopped PostgreSQL to fail over after a crash", [.releaseLock, .follow(leader: nil)])
            }
            if wasPrimary {
                return HAPlan("starting primary after failure", [.updateLock(
                    then: HAPlan("starting primary after failure", [.startAsPrimary]),
                    otherwise: HAPlan("starting as readonly because i had the session lock", [.follow(leader: nil)]))])
            }
            return HAPlan("starting as readonly because i had the session lock", [.follow(leader: nil)])
        }
        guard let leader = cluster.leader?.name else {
            return HAPlan("starting as a secondary", [.follow(leader: nil)])
        }
        return HAPlan("starting as a secondary", [.follow(leader: leader)])
    }

    func startTimeoutLeft() -> Double {
        guard let since = input.memory.primaryDownSince else { return settings.primaryStartTimeout }
        return settings.primaryStartTimeout - (input.now - since)
    }

    // MARK: unlocked cluster (Patroni's `Ha.process_unhealthy_cluster`)

    func unlockedCluster(_ cluster: ClusterView) -> HAPlan {
        if let plan = followFailsafeLeader(cluster) { return plan }
        if isHealthiestNode(cluster) {
            var won: [HAStep] = forcedFailoverWarning(cluster).map { [$0] } ?? []
            won += cluster.failover != nil ? [.clearFailover] : []
            var wonMessage = runningAsPrimary ? "acquired session lock as a leader" : "promoted self to leader by acquiring session lock"
            if standbyCluster {
                // The healthiest replica takes the lead of the standby cluster: it follows the
                // remote side from now on, with no promotion.
                let lead = enforceFollowRemote("promoted self to a standby leader by acquiring session lock")
                wonMessage = lead.message
                won += lead.steps
            } else {
                won += enforcePrimaryRole(cluster, promoteMessage: wonMessage).steps
            }
            return HAPlan(wonMessage, [.acquireLock(
                then: HAPlan(wonMessage, won),
                otherwise: follow(cluster, leader: nil,
                                  demoteReason: "demoted self after trying and failing to obtain lock",
                                  followReason: "following new leader after trying and failing to obtain lock"))])
        }
        if !input.node.mayBecomeLeader && !paused {
            return follow(cluster, leader: nil,
                          demoteReason: "demoting self because I am not allowed to become primary",
                          followReason: "following a different leader because I am not allowed to promote")
        }
        if let blocked = blockedFailoverReason(cluster) {
            let plan = follow(cluster, leader: nil, demoteReason: "demoting self because i am not the healthiest node", followReason: blocked)
            return HAPlan(plan.message, [.reportBlockedFailover(blocked)] + plan.steps)
        }
        let plan = follow(cluster, leader: nil,
                          demoteReason: "demoting self because i am not the healthiest node",
                          followReason: "following a different leader because i am not the healthiest node")
        // Patroni logs what made another member preferable (`_is_healthiest_node`).
        if cluster.failover == nil, let reason = reasonToDefer(cluster, checkLag: true, excluding: nil), !reason.isEmpty {
            return HAPlan(plan.message, [.logInfo(reason)] + plan.steps)
        }
        return plan
    }

    /// Patroni's `Ha.is_healthiest_node`.
    func isHealthiestNode(_ cluster: ClusterView) -> Bool {
        if prePromoteBackoff || lockReleaseBackoff { return false }
        // In pause only a named candidate may take over (`manual_failover_process_no_leader`).
        if paused, input.node.mayBecomeLeader, let request = cluster.failover, request.scheduledAt == nil {
            return request.candidate == me
        }
        if runningAsPrimary {
            if paused { return cluster.initialize == nil || cluster.initialize == pg.systemIdentifier }
            // A frozen old primary must not retake the lock after others moved to a newer timeline.
            if let tl = pg.timeline, cluster.timeline > 0, tl < cluster.timeline { return false }
            return true
        }
        if paused || !input.node.mayBecomeLeader { return false }
        if pg.isRunning && !pg.isAcceptingConnections { return false }
        if excludedByFailsafeKey(cluster) { return false }
        // A switchover with synchronous replication goes only to a member of `/sync`.
        if excludedFromSwitchover(cluster) { return false }
        if let request = cluster.failover, request.leader == me {
            // The former leader of a switchover wins only when nobody else could (Patroni's
            // `is_failover_possible`): a member with a server reporting WAL and, with synchronous
            // replication, in `/sync`. Counting every reachable peer left a cluster whose other
            // members may not promote without a leader for good. The request may be stale
            // (written before others led): still never promote behind a peer or without the
            // quorum's votes.
            let sync = activeSync(cluster)
            let someoneElseCould = input.peers.contains { peer in
                peer.name != me && peer.reachable && !peer.noFailover
                    && (peer.walPosition?.value ?? 0) > 0 && (sync.map { $0.contains(peer.name) } ?? true)
                    && !(sync != nil && peerIsBehind(peer))  // it would refuse: it lacks WAL we have
                    && !excludedByFailsafeKey(cluster, peer.name)  // it may not win a race
                    && !peerIsOnOlderTimeline(peer)  // it defers to us: its promotion would fork history
            }
            return !someoneElseCould && comparedWithPeers(cluster, checkLag: false, excluding: nil)
        }
        if let request = cluster.failover {
            if let candidate = request.candidate {
                // Named, yet with synchronous replication still never behind a peer or short of
                // the quorum's votes: a request can outlive the leader that would have checked us.
                if candidate == me {
                    return activeSync(cluster) == nil || comparedWithPeers(cluster, checkLag: false, excluding: request.leader)
                }
                if excludedFromPriorityRace(cluster) { return false }
                // A candidate a switchover may not go to (outside `/sync`) never promotes: waiting
                // for it left the cluster without a leader for good once its leader was gone.
                let candidateEligible = !(request.leader != nil && activeSync(cluster).map { !$0.contains(candidate) && $0.leader != candidate } == true)
                // Nor does one without a server reporting WAL (empty, cloning, stopped), nor, with
                // synchronous replication, one behind us: it refuses to promote (see above), and
                // waiting for it left the cluster without a leader for good.
                // Nor one the `failsafe` key leaves out: it may not win a race at all.
                let candidateHealthy = candidateEligible && !excludedByFailsafeKey(cluster, candidate) && input.peers.contains {
                    $0.name == candidate && $0.reachable && !$0.noFailover && ($0.walPosition?.value ?? 0) > 0
                        && !(activeSync(cluster) != nil && peerIsBehind($0))
                }
                if candidateHealthy { return false }
            }
            if excludedFromPriorityRace(cluster) { return false }
            return comparedWithPeers(cluster, checkLag: false, excluding: request.leader)
        }
        // Patroni's order: a required watchdog that cannot work keeps us out of a failover race.
        if !input.watchdogUsable { return false }
        // Priority sync mode: only a standby in `/sync` holds every acknowledged commit.
        if excludedFromPriorityRace(cluster) { return false }
        return comparedWithPeers(cluster, checkLag: true, excluding: nil)
    }

    /// Whether `peer` has WAL we lack. Byte positions compare only on the same timeline: a peer
    /// on a later timeline holds the newer primary's commits whatever its position, and a larger
    /// position on an earlier timeline is WAL of an abandoned branch (it is rewound when it
    /// rejoins). Patroni compares positions alone; the simulation found a quorum-mode failover
    /// that lost acknowledged commits that way: a member that had written on a timeline nobody
    /// followed out-ranked the voter that held them. Without a reported timeline (a Patroni or
    /// stopped peer), positions alone decide, as in Patroni.
    func peerIsAhead(_ peer: PeerStatus) -> Bool {
        if let theirs = peer.timeline, let ours = pg.timeline, theirs != ours { return theirs > ours }
        return (peer.walPosition ?? .zero) > (pg.walPosition ?? .zero)
    }

    /// The peer reports a timeline, and it is older than ours.
    func peerIsOnOlderTimeline(_ peer: PeerStatus) -> Bool {
        guard let theirs = peer.timeline, let ours = pg.timeline else { return false }
        return theirs < ours
    }

    /// The peer reports a timeline, and it is newer than ours.
    func peerIsOnNewerTimeline(_ peer: PeerStatus) -> Bool {
        guard let theirs = peer.timeline, let ours = pg.timeline else { return false }
        return theirs > ours
    }

    /// Neither ahead of us nor level: we hold WAL it lacks.
    func peerIsBehind(_ peer: PeerStatus) -> Bool { !peerIsAhead(peer) && !peerIsLevel(peer) }

    /// Same timeline (as far as known) and same position.
    func peerIsLevel(_ peer: PeerStatus) -> Bool {
        if let theirs = peer.timeline, let ours = pg.timeline, theirs != ours { return false }
        return (peer.walPosition ?? .zero) == (pg.walPosition ?? .zero)
    }

    /// Patroni's `_is_healthiest_node`: not too far behind the last known leader position, and no
    /// reachable failover-capable peer is a primary, ahead of us, or equal with a higher priority.
    func comparedWithPeers(_ cluster: ClusterView, checkLag: Bool, excluding: String?) -> Bool {
        reasonToDefer(cluster, checkLag: checkLag, excluding: excluding) == nil
    }

    /// Why we leave the race to others (nil: we may take part), in Patroni's log wording where
    /// it has one ("" where it logs nothing).
    func reasonToDefer(_ cluster: ClusterView, checkLag: Bool, excluding: String?) -> String? {
        let mine = pg.walPosition ?? .zero
        if checkLag, let optime = cluster.status.optime, optime > 0, UInt64(optime) > mine.value,
           UInt64(optime) - mine.value > UInt64(max(0, settings.maximumLagOnFailover)) {
            return "My wal position exceeds maximum replication lag"
        }
        if settings.checkTimeline, (pg.timeline ?? 0) < cluster.timeline || pg.timeline == nil { return "" }
        let sync = activeSync(cluster)
        for peer in input.peers where peer.name != me && peer.name != excluding && peer.reachable && !peer.noFailover {
            // Priority sync mode compares only with the other `/sync` standbys.
            if syncMode == .priority, let sync, !sync.contains(peer.name), peer.name != sync.leader { continue }
            if peer.role == .primary || !peer.isInRecovery { return "Primary (\(peer.name)) is still alive" }
            // Patroni's `_is_healthiest_node` leaves members the `failsafe` key omits out of the
            // comparison: they may not win, and deferring to them left clusters without a leader.
            // One on a newer timeline still counts: promoting past it would fork the history.
            if excludedByFailsafeKey(cluster, peer.name) && !peerIsOnNewerTimeline(peer) { continue }
            switch slotReadinessOrder(peer, cluster: cluster, checkLag: checkLag, sync: sync) {
            case .peerPreferred?: return ""
            case .iAmPreferred?: continue
            case nil: break
            }
            let formerLeader = sync?.leader == peer.name
            if peerIsAhead(peer) && !formerLeader { return "Wal position of \(peer.name) is ahead of my wal position" }
            let competes = syncMode != .quorum || sync == nil || sync!.contains(peer.name)
            if peerIsLevel(peer) && competes && !formerLeader && peer.failoverPriority > input.node.failoverPriority {
                return "\(peer.name) has equally tolerable WAL position and priority \(peer.failoverPriority), while this node has priority \(input.node.failoverPriority)"
            }
        }
        if let quorum = quorumVotes(cluster, excluding: excluding), !quorum.enough { return "" }
        return nil
    }

    // MARK: locked cluster (Patroni's `Ha.process_healthy_cluster`)

    func lockedCluster(_ cluster: ClusterView, holdsLock: Bool) -> HAPlan {
        guard holdsLock else {
            let leader = cluster.leader!.name
            if standbyCluster {
                return follow(cluster, leader: leader, demoteReason: "cannot be a real primary in a standby cluster",
                              followReason: "no action. I am (\(me)), a secondary, and following a standby leader (\(leader))")
            }
            return follow(cluster, leader: leader,
                          demoteReason: "demoting self because I do not have the lock and I was a leader",
                          followReason: "no action. I am (\(me)), a secondary, and following a leader (\(leader))")
        }
        if paused && !runningAsPrimary && !standbyCluster {
            return HAPlan("removed leader lock because postgres is not running as primary", [.releaseLock])
        }
        let lostLock: HAPlan
        if runningAsPrimary {
            lostLock = paused
                ? HAPlan("continue to run as primary after failing to update leader lock in DCS")
                : HAPlan("demoted self because failed to update leader lock in DCS", [.demote(.immediateNoLock)])
        } else {
            lostLock = HAPlan("not promoting because failed to update leader lock in DCS")
        }
        let held = manualSwitchoverFromLeader(cluster) ?? (standbyCluster ? standbyLeaderRole() : enforcePrimaryRole(cluster))
        return HAPlan(held.message, [.updateLock(then: held, otherwise: lostLock)])
    }

    /// The lock holder of a standby cluster: nothing to enforce but following the remote side
    /// (Patroni's `process_healthy_cluster` "just remind the role").
    func standbyLeaderRole() -> HAPlan {
        enforceFollowRemote(input.actsAsStandbyLeader
            ? "no action. I am (\(me)), the standby leader with the lock"
            : "promoted self to a standby leader because i had the session lock")
    }

    /// Patroni's `enforce_follow_remote_member`: the leader of a standby cluster follows the
    /// remote side; a primary there first steps down to a standby, keeping the lock.
    func enforceFollowRemote(_ message: String) -> HAPlan {
        if runningAsPrimary {
            return paused ? HAPlan("continue to run as primary without lock")
                          : HAPlan("cannot be a real primary in standby cluster", [.demote(.demoteCluster)])
        }
        if paused && !pg.isRunning { return HAPlan(message) }
        return HAPlan(message, [.followRemote(asLeader: true)])
    }

    /// Leader side of a switchover/failover request (Patroni's `process_manual_failover_from_leader`).
    func manualSwitchoverFromLeader(_ cluster: ClusterView) -> HAPlan? {
        guard let request = cluster.failover else { return nil }
        let stay = enforcePrimaryRole(cluster)
        var before: [HAStep] = []
        if let text = request.scheduledAt {
            // Scheduled actions never run in pause (the key stays until it goes stale later).
            if paused { return nil }
            guard let at = input.scheduledFailoverAt else {
                return HAPlan(stay.message, [.logWarning("Incorrect value of scheduled_at: \(text)"), .clearFailover] + stay.steps)
            }
            switch scheduleVerdict(action: "failover", at: at, text: text) {
            case .wait(let steps): return HAPlan(stay.message, steps + stay.steps)
            case .cleanUp(let steps): return HAPlan(stay.message, steps + [.clearFailover] + stay.steps)
            case .run(let steps): before = steps
            }
        }
        let action = request.leader != nil ? "switchover" : "failover"
        func clearAndStay(_ warning: String?) -> HAPlan {
            HAPlan(stay.message, before + (warning.map { [.logWarning($0)] } ?? []) + [.clearFailover] + stay.steps)
        }
        if let leader = request.leader, leader != me {
            return clearAndStay("manual \(action): leader name does not match: \(leader) != \(me)")
        }
        if request.candidate == me { return clearAndStay("manual \(action): I am already the leader, no need to \(action)") }
        if request.candidate == nil && paused {
            return clearAndStay("\(action.prefix(1).uppercased() + action.dropFirst()) is possible only to a specific candidate in a paused state")
        }
        guard failoverPossible(cluster, candidate: request.candidate) else {
            return clearAndStay("manual \(action): no healthy members found, \(action) is not possible")
        }
        let name = request.leader != nil ? "switchover" : "manual failover"
        let successors = request.candidate.map { [$0] }
            ?? cluster.members.filter { $0.name != me && !$0.noFailover }.map(\.name)
        return HAPlan("\(name): demoting myself", before + [.awaitStreaming(members: successors, timeout: switchoverStreamingWait),
                                                            .demote(.graceful)])
    }

    /// A node that gave the lock up itself leaves the others `lockReleaseBackoff` seconds to
    /// take it (Patroni's `demote` sleeps 2 s after releasing): a crashed primary failing over
    /// would otherwise win the race back the moment its server is up again.
    var lockReleaseBackoff: Bool {
        guard let releasedAt = input.memory.lockReleasedAt else { return false }
        return input.now - releasedAt < Self.lockReleaseBackoffSeconds
    }
    static let lockReleaseBackoffSeconds: Double = 2

    /// How long a switchover waits for its successor to stream from us before stopping:
    /// PostgreSQL's default `wal_retrieve_retry_interval`, the longest a standby waits between
    /// two attempts to connect.
    var switchoverStreamingWait: Double { 5 }

    /// Patroni's backoff after a failed `pre_promote`: no promotion and no race for `ttl` seconds.
    var prePromoteBackoff: Bool {
        guard let failedAt = input.memory.prePromoteFailedAt else { return false }
        return input.now - failedAt < settings.ttl
    }

    /// Patroni's `is_failover_possible`: some other reachable, failover-capable member (or the
    /// requested candidate) is not lagging beyond `maximum_lag_on_failover`.
    func failoverPossible(_ cluster: ClusterView, candidate: String?) -> Bool {
        // Patroni's `is_lagging`: measured from the optime the leader last published in
        // `status`, not from our live position. Peers answer from state as old as that optime
        // (one loop), so under write load the live position alone made caught-up standbys look
        // megabytes behind and switchovers fail with "no healthy members found".
        let leaderWal = LSN(UInt64(max(0, cluster.status.optime ?? 0)))
        // Patroni's `get_failover_candidates`: with synchronous replication only members of
        // `/sync` qualify, a named candidate included; only a manual failover (no leader named)
        // may go to an asynchronous member. A leader that stepped down for a candidate outside
        // `/sync` left a cluster nobody could lead (the simulation's switchover seeds).
        let manualFailoverWithoutLeader = cluster.failover.map { $0.leader == nil } ?? false
        return input.peers.contains { peer in
            guard peer.name != me, peer.reachable, !peer.noFailover else { return false }
            if let candidate, peer.name != candidate { return false }
            if !manualFailoverWithoutLeader, let sync = activeSync(cluster), !sync.contains(peer.name) { return false }
            let theirs = peer.walPosition ?? .zero
            return leaderWal.bytesAhead(of: theirs) <= UInt64(max(0, settings.maximumLagOnFailover))
        }
    }

    /// Patroni's `enforce_primary_role`: the watchdog is armed before we promote or go on as a
    /// primary; a required one that cannot be armed makes us step down instead.
    func enforcePrimaryRole(_ cluster: ClusterView,
                            promoteMessage: String = "promoted self to leader because I had the session lock") -> HAPlan {
        let plan = primaryRolePlan(cluster, promoteMessage: promoteMessage)
        guard !paused, input.watchdog == .disarmed else { return plan }
        let refused = runningAsPrimary
            ? HAPlan("Demoting self because watchdog could not be activated", [.demote(.immediate)])
            : HAPlan("Not promoting self because watchdog could not be activated", [.releaseLock])
        return HAPlan(plan.message, [.armWatchdog(then: plan, otherwise: refused)])
    }

    private func primaryRolePlan(_ cluster: ClusterView, promoteMessage: String) -> HAPlan {
        if runningAsPrimary {
            let needsHistory = (pg.timeline ?? 0) > 1 && (pg.timeline ?? 0) > cluster.timeline
            return HAPlan("no action. I am (\(me)), the leader with the lock", needsHistory ? [.recordPromotion] : [])
        }
        if !paused, prePromoteBackoff {
            return HAPlan("Promotion cancelled because the pre-promote script failed", [.releaseLock])
        }
        let promote = HAPlan(promoteMessage, (settings.useSlots ? [.prepareMemberSlots] : []) + [.promote, .recordPromotion])
        guard let claim = prePromoteSync(cluster) else { return promote }
        return HAPlan(promote.message, [.writeSync(claim, version: cluster.sync.version, then: promote,
            otherwise: HAPlan("Postponing promotion because synchronous replication state was updated by somebody else"))])
    }

    // MARK: following (Patroni's `Ha.follow`)

    func follow(_ cluster: ClusterView, leader: String?, demoteReason: String, followReason: String) -> HAPlan {
        // Patroni's `_get_node_to_follow`: with no standby leader (and not in pause) every
        // member of a standby cluster follows the remote side.
        if standbyCluster, !cluster.isLocked, !paused, !runningAsPrimary {
            return HAPlan(followReason, [.followRemote(asLeader: false)])
        }
        let upstream = nodeToFollow(cluster, leader: leader)
        if paused {
            if runningAsPrimary { return HAPlan("continue to run as primary without lock") }
            guard let upstream else { return HAPlan("no action. I am (\(me))") }
            // Pause forbids starting/stopping, not repointing a running standby at the new leader.
            return HAPlan(followReason, pg.isRunning ? [.follow(leader: upstream)] : [])
        }
        if runningAsPrimary {
            return HAPlan(demoteReason, [.demote(leader != nil && upstream != nil ? .immediateToFollow : .immediateNoLock)])
        }
        return HAPlan(followReason, [.follow(leader: upstream)])
    }

    /// Patroni's `_get_node_to_follow`: the `replicatefrom` member when it has a member key
    /// (cascading replication), else the leader; never ourselves.
    func nodeToFollow(_ cluster: ClusterView, leader: String?) -> String? {
        if let source = input.node.replicateFrom, source != me, cluster.member(named: source) != nil { return source }
        return leader == me ? nil : leader
    }
}
