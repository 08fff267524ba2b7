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
        }
    }
}
