import Foundation
import Logging
import StazDCS

/// Keeps our DCS session alive on its own schedule and fences PostgreSQL when it cannot.
///
/// Safety argument (why staz may run with a `ttl` of a few seconds):
/// - Every refresh records the instant the request was *sent*. etcd starts the new TTL when it
///   processes the request, which is after we sent it, so our lock is certainly ours until
///   `sent + ttl` and nobody else can acquire it before then.
/// - We publish `leaseValidUntil = sent + ttl - fenceMargin` to the REST API (so `/primary` turns
///   503 by itself) and, if no refresh succeeds before that instant, we SIGQUIT the postmaster
///   (an immediate stop: every backend dies at once, no new commit is acknowledged).
/// - So writes stop at least `fenceMargin` before another member could win the lock; the margin
///   covers the check interval (0.1 s) and the time the kernel needs to deliver the signal.
/// - This runs in its own task and never waits for the HA loop or for PostgreSQL queries, so a
///   slow `pg_basebackup`, checkpoint or hung query cannot delay a keepalive.
/// Lower limit: refreshes happen every `ttl/4` (at most every `loop_wait`), each bounded by a
/// short request timeout; with `ttl` = 4 s three refreshes can fail in a row before fencing, which
/// is why 4 s is the floor (StazConfig raises smaller values).
actor LeaseKeeper {
    private let dcs: DCSClient
    private let logger: Logger
    private var ttl: Double
    private var loopWait: Double
    private(set) var holdingLeader = false
    /// Send instant of the last confirmed refresh.
    private(set) var lastConfirmed: ContinuousClock.Instant?
    private let onLeaseChange: @Sendable (ContinuousClock.Instant?) -> Void
    private let fence: @Sendable () -> Void
    private var fenced = false
    private var refreshInFlight = false

    init(dcs: DCSClient, ttl: Double, loopWait: Double, logger: Logger,
         onLeaseChange: @escaping @Sendable (ContinuousClock.Instant?) -> Void,
         fence: @escaping @Sendable () -> Void) {
        self.dcs = dcs; self.ttl = ttl; self.loopWait = loopWait; self.logger = logger
        self.onLeaseChange = onLeaseChange; self.fence = fence
    }

    var fenceMargin: Double { min(1.0, ttl * 0.15) }

    /// The instant until which we may act as the leader, or nil when we do not hold the lock.
    var leaderValidUntil: ContinuousClock.Instant? {
        guard holdingLeader, let lastConfirmed else { return nil }
        return lastConfirmed + .milliseconds(Int64((ttl - fenceMargin) * 1000))
    }

    func setTimeouts(ttl: Double, loopWait: Double) { self.ttl = ttl; self.loopWait = loopWait }

    /// Called by the HA loop after it acquired, confirmed or released the lock.
    func setHoldingLeader(_ holding: Bool, confirmedAt: ContinuousClock.Instant? = nil) {
        holdingLeader = holding
        if let confirmedAt, lastConfirmed.map({ confirmedAt > $0 }) ?? true { lastConfirmed = confirmedAt }
        if holding { fenced = false }
        onLeaseChange(leaderValidUntil)
    }

    /// Refresh once now (used right before acquiring the lock).
    @discardableResult
    func refreshNow() async -> Bool {
        do {
            if let sent = try await dcs.refreshSession(holdingLeader: holdingLeader) {
                if lastConfirmed.map({ sent > $0 }) ?? true { lastConfirmed = sent }
                onLeaseChange(leaderValidUntil)
                return true
            }
            if holdingLeader {
                logger.warning("leader session could not be confirmed")
            }
        } catch {
            logger.warning("session refresh failed: \(error)")
        }
        return false
    }

    /// Runs until cancelled.
    func run() async {
        var nextRefresh = ContinuousClock.now
        while !Task.isCancelled {
            let now = ContinuousClock.now
            if now >= nextRefresh {
                let interval = max(0.25, min(loopWait, ttl / 4))
                nextRefresh = now + .milliseconds(Int64(interval * 1000))
                // The refresh itself runs concurrently so the fence check below keeps its pace
                // even when the DCS hangs.
                if !refreshInFlight {
                    refreshInFlight = true
                    Task { await self.refreshNow(); await self.refreshFinished() }
                }
            }
            checkFence()
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    private func checkFence() {
        guard holdingLeader, !fenced, let validUntil = leaderValidUntil, ContinuousClock.now >= validUntil else { return }
        fenced = true
        logger.error("leader lock could not be renewed in time: stopping PostgreSQL before the lock can expire")
        fence()
        // We act as leader no more; a later acquire starts from a freshly confirmed session.
        holdingLeader = false
        onLeaseChange(nil)
    }

    func wasFenced() -> Bool { fenced }

    private func refreshFinished() { refreshInFlight = false }
}
