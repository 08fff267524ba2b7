/// Which steps can change the local PostgreSQL. A cycle whose executed steps all leave it
/// alone publishes the observation it decided on instead of querying the server a second time,
/// as Patroni's cycle queries it once (`Postgresql._cluster_info_state_get`, cached until
/// an action resets it).
extension HAStep {
    /// Carrying out this step leaves the server as it was (DCS writes, log lines, the
    /// watchdog). A branch's own steps count separately. Steps of a role change count as
    /// changes even where they do not touch the server (releasing the lock, waits, the
    /// demotion's callback): the member moves on while they run, so it is read anew. Whether
    /// `follow` and `followRemote` change anything is the follow planner's choice, which the
    /// executor reports through `FollowAction.changesPostgres`.
    public var leavesPostgresAlone: Bool {
        switch self {
        case .acquireLock, .updateLock, .raceInitialize, .writeInitialize, .clearFailover, .recordPromotion,
             .logInfo, .logWarning, .reportBlockedFailover, .cancelScheduledRestart, .confirmFailsafe,
             .armWatchdog, .disarmWatchdog:
            return true
        case .releaseLock, .bootstrapNewCluster, .bootstrapStandbyLeader, .cloneFrom, .cloneWithoutLeader,
             .startAsPrimary, .follow, .followRemote, .prepareMemberSlots, .promote, .demote, .awaitStreaming,
             .fatal, .sleep, .restart, .writeSync, .announceDemotion:
            return false
        }
    }
}

extension FollowAction {
    /// This round of a follow step starts, stops, reconfigures, rewinds or wipes the server.
    /// Checks and the decisions to keep or wait change nothing.
    public var changesPostgres: Bool {
        switch self {
        case .startStandby, .repoint, .dropUpstream, .stopForRewind, .rewind, .reclone: return true
        case .keep, .checkRewindNeeded, .checkRewindPossible, .waitForCheckpoint, .checkLeaderHealthy, .keepData: return false
        }
    }
}

/// Whether a cycle may publish the observation it decided on instead of observing the server
/// again: no executed step changed it, no long action ran beside the cycle, and the server
/// answered. A server that did not answer (starting, recovering, stopped) may be up by now,
/// and publishing the older answer would keep it out of its load balancer's pool until the
/// next cycle, `loop_wait` away.
public func observationStillHolds(planLeftPostgresAlone: Bool, serverAnswered: Bool, longActionRan: Bool) -> Bool {
    planLeftPostgresAlone && serverAnswered && !longActionRan
}
