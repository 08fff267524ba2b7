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

    /// How old a renewal may be and still show the lease keeper on schedule (`updateLeader`).
    var leaseConfirmationWindow: Duration { LeaseRenewal.confirmationWindow(ttl: ttl, loopWait: loopWait) }
}

/// How often the lease keeper renews our session.
///
/// - While we lead: every `loop_wait`, as Patroni renews in each HA cycle, and at least twice
///   per `ttl`. The watchdog is kept alive with each renewal, so it sees Patroni's pace.
/// - While we do not lead: every `ttl/3` (the ratio of Patroni's defaults, `loop_wait` 10 and
///   `ttl` 30), or every `loop_wait` when that is slower and still twice per `ttl`. Nothing
///   fences on this lease while we do not lead, and a leader race renews it before taking the
///   lock (`attemptToAcquireLeader`), so a faster pace would only load etcd.
/// - After a renewal failed: every `ttl/8` until one succeeds. That is what keeps the steady
///   pace safe: after the last success at least three attempts fit before our lock could expire
///   (the fence comes `min(1 s, 0.15 ttl)` earlier still), and before a member key expires.
///
/// A renewal no older than the steady pace plus one retry (`confirmationWindow`) answers the HA
/// loop's `updateLeader`, which then sends nothing.
public enum LeaseRenewal {
    public static func interval(ttl: Double, loopWait: Double) -> Duration {
        milliseconds(min(loopWait, ttl / 2))
    }

    public static func memberInterval(ttl: Double, loopWait: Double) -> Duration {
        max(interval(ttl: ttl, loopWait: loopWait), milliseconds(max(ttl / 3, min(loopWait, ttl / 2))))
    }

    public static func retryInterval(ttl: Double, loopWait: Double) -> Duration {
        min(interval(ttl: ttl, loopWait: loopWait), milliseconds(ttl / 8))
    }

    public static func confirmationWindow(ttl: Double, loopWait: Double) -> Duration {
        interval(ttl: ttl, loopWait: loopWait) + retryInterval(ttl: ttl, loopWait: loopWait)
    }

    /// Never more often than every 0.25 s, whatever the settings.
    private static func milliseconds(_ seconds: Double) -> Duration {
        .milliseconds(Int64(max(0.25, seconds) * 1000))
    }
}
