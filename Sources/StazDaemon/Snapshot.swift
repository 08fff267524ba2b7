import Foundation
import StazAPI
import StazCore
import StazHA

/// Keeps the REST API's in-memory snapshot current after every cycle, so health checks never
/// touch PostgreSQL or the DCS.
extension HAController {
    /// Observes PostgreSQL and publishes what it is now, mid-cycle, after a role change: what
    /// a member serves must never lag what its server does (a primary reporting the timeline
    /// it left while already taking writes on the new one).
    func publishObservedState() async {
        let observation = withCommandLinePending(await postgres.observe())
        lastObservation = observation
        await publishSnapshot(cluster: lastCluster, observation: observation)
        if lastCluster != nil { await publishMember(observation) }
    }

    /// The WAL positions and replication state `/patroni` reports for one observation.
    static func walReport(_ observation: PostgresObservation) -> (XLogStatus?, String?) {
        guard observation.isRunning && observation.isAcceptingConnections else { return (nil, nil) }
        guard observation.isInRecovery else { return (observation.walPosition.map { .primary(location: Int64($0.value)) }, nil) }
        return (.replica(receivedLocation: observation.receiveLSN.map { Int64($0.value) },
                         replayedLocation: observation.replayLSN.map { Int64($0.value) },
                         replayedTimestamp: observation.replayTimestamp, paused: observation.replayPaused),
                observation.isStreaming ? "streaming" : "in archive recovery")
    }

    /// A standby's positions as soon as they are observed, before the cycle decides: in a leader
    /// race the peers probe `/patroni` at once, and a position from the last cycle could make a
    /// member with less WAL (or a lower priority) look like the better candidate.
    func publishWALPositions(_ observation: PostgresObservation) {
        Self.publishWALPositions(observation, in: apiState, onlyOverAStandbys: false)
    }

    /// `onlyOverAStandbys`: for one `/patroni` request, replace only positions that already
    /// are a standby's. Anything else (stopped, promoted since) is the next cycle's to
    /// publish, with the role and state that go with it.
    static func publishWALPositions(_ observation: PostgresObservation, in apiState: APIState, onlyOverAStandbys: Bool) {
        guard observation.isInRecovery else { return }
        let (xlog, replicationState) = walReport(observation)
        apiState.update { s in
            if onlyOverAStandbys, s.xlog?.isStandby != true { return }
            s.xlog = xlog
            s.replicationState = replicationState
        }
    }

    func publishSnapshot(cluster: ClusterView?, observation: PostgresObservation) async {
        let state = memberState(observation)
        let role = memberRole(observation)
        let now = ContinuousClock.now
        let settings = self.settings
        let tags = config.tags.publishedTags
        let syncMode = SyncMode(settings)
        let blocked = blockedFailoverReason
        let watchdogFailed = !watchdog.isHealthy
        let logicalSlotsReady = slotFailover.ready
        let replication = observation.isInRecovery ? [] : walSenders.map(\.statusJSON)
        let failsafeActive = failsafeActive(now: now)
        apiState.update { s in
            s.state = state
            s.role = role
            s.postmasterStartTime = observation.isRunning ? observation.postmasterStartTime : nil
            s.postmasterPID = observation.isRunning ? observation.postmasterPID : nil
            s.serverVersion = observation.serverVersion
            s.timeline = observation.isRunning ? observation.timeline : nil
            (s.xlog, s.replicationState) = Self.walReport(observation)
            s.databaseSystemIdentifier = observation.systemIdentifier
            s.pendingRestart = observation.pendingRestart
            s.pendingRestartReason = observation.pendingRestartReason
            s.pause = settings.pause
            s.isStandbyCluster = settings.standbyCluster != nil
            s.tags = tags
            s.noLoadBalance = config.tags.noLoadBalance
            s.ttl = .milliseconds(Int64(settings.ttl * 1000))
            s.loopWait = .milliseconds(Int64(settings.loopWait * 1000))
            s.maximumLagOnFailover = settings.maximumLagOnFailover
            s.lastLoopInstant = now
            s.failoverBlocked = blocked
            s.watchdogFailed = watchdogFailed
            s.logicalSlotsReady = logicalSlotsReady
            s.failsafeModeIsActive = failsafeActive
            s.failsafeModeEnabled = settings.failsafeMode
            s.replication = replication
            if let cluster {
                let listed = cluster.sync.leader != nil && cluster.sync.leader != s.name && cluster.sync.contains(s.name)
                s.isSyncStandby = listed && syncMode == .priority
                s.isQuorumStandby = listed && syncMode == .quorum
                s.clusterView = cluster
                s.clusterViewTime = now
                s.clusterUnlocked = !cluster.isLocked
                s.leaderOptime = cluster.status.optime
                s.dcsLastSeen = Int64(Date().timeIntervalSince1970)
            }
        }
    }
}
