/// The DCS timing knobs (Patroni's `ttl`, `loop_wait`, `retry_timeout`, seconds).
struct DCSTimeouts: Sendable, Equatable {
    var ttl: Double
    var loopWait: Double
    var retryTimeout: Double

    /// The lease / key TTL as etcd wants it: whole seconds, at least 1.
    var ttlSeconds: Int { max(1, Int(ttl.rounded(.down))) }

    /// Bound of one operation across all endpoints.
    var retryDuration: Duration { .seconds(max(0.1, retryTimeout)) }

    /// Bound of one HTTP attempt: short, so that a frozen etcd cannot stall the caller for long
    /// and there is time left to try the next endpoint.
    var perRequestDuration: Duration { min(.seconds(2), .seconds(max(0.1, retryTimeout) / 2)) }

    var leaseRenewal: Duration { LeaseRenewal.interval(ttl: ttl, loopWait: loopWait) }
}

/// How often the leader's session is renewed: every `ttl/4`, at most every `loop_wait` (and not
/// more often than every 0.25 s), so that three renewals in a row can fail before the lock could
/// expire. The daemon's lease keeper renews on this schedule; a renewal this recent also answers
/// the HA loop's `updateLeader`, which then sends nothing.
public enum LeaseRenewal {
    public static func interval(ttl: Double, loopWait: Double) -> Duration {
        .milliseconds(Int64(max(0.25, min(loopWait, ttl / 4)) * 1000))
    }

    /// How often a member that does not lead keeps its session (and so its member key) alive:
    /// every `ttl/3`, the ratio of Patroni's defaults (`loop_wait` 10, `ttl` 30), so that two
    /// keepalives in a row can fail before the key expires; never more often than the leader.
    /// Nothing fences on this lease while we do not lead, and a leader race renews it before
    /// taking the lock (`attemptToAcquireLeader`), so a faster pace would only load etcd.
    public static func memberInterval(ttl: Double, loopWait: Double) -> Duration {
        max(interval(ttl: ttl, loopWait: loopWait), .milliseconds(Int64(ttl / 3 * 1000)))
    }
}

extension Duration {
    /// Seconds as a floating point number (for logs and arithmetic).
    var secondsValue: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
