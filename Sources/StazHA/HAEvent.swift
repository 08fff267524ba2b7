/// Outcomes of what the executor carried out, reported back into the loop memory. The memory
/// changes only through `HAMemory.record`, so what the next decision knows of earlier cycles
/// is a pure function of these events.
public enum HAEvent: Sendable, Equatable {
    /// Starting PostgreSQL failed (it is not running). The next decisions start it again, even
    /// while the DCS is unreachable, instead of leaving the member without a server.
    case startFailed
    /// PostgreSQL was seen running: a failed start is no longer outstanding.
    case postgresRunning
    /// The `pre_promote` script refused the promotion.
    case prePromoteFailed
    /// This node deleted the leader key itself (a crashed primary failing over, a start that
    /// timed out, a pause without a running server).
    case lockReleased
    /// Following the leader would have meant wiping the data directory, which the settings do
    /// not allow: it was kept (and the server left as it was).
    case dataKept(KeptData)
    /// A long action (bootstrap, clone, restart, ...) began in the background.
    case longActionStarted(String)
    /// The long action ended (finished, failed or was cancelled).
    case longActionEnded
    /// A cycle with no long action in progress completed.
    case cycleCompleted
    /// This node holds the lock and its PostgreSQL is not running: the start timeout runs from
    /// the first such cycle.
    case postgresDownWhileLeading
    /// PostgreSQL runs, or this node does not hold the lock: no start timeout runs.
    case postgresNotDownWhileLeading
}

extension HAMemory {
    /// The memory after `event`, at monotonic time `now` (seconds, like `HAInput.now`).
    public mutating func record(_ event: HAEvent, now: Double) {
        switch event {
        case .startFailed: startFailedAt = now
        case .postgresRunning: startFailedAt = nil; keptData = nil
        case .prePromoteFailed: prePromoteFailedAt = now
        case .lockReleased: lockReleasedAt = now
        case .dataKept(let kept): keptData = kept
        case .longActionStarted(let name): longAction = name
        case .longActionEnded: longAction = nil
        case .cycleCompleted: firstCycle = false
        case .postgresDownWhileLeading: primaryDownSince = primaryDownSince ?? now
        case .postgresNotDownWhileLeading: primaryDownSince = nil
        }
    }
}
