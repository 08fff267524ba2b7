import Foundation
import Logging
import StazDCS
import StazConcurrency
import StazWatchdog

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
/// - When staz itself cannot act (killed, frozen), the same deadline (`fenceDeadline`) is
///   enforced by the fencing guard process (StazFence/FenceGuard.swift).
/// Lower limit: refreshes happen every `loop_wait` (at least twice per `ttl`) and every `ttl/8`
/// after a failure (`LeaseRenewal`), each bounded by a short request timeout; with `ttl` = 4 s
/// three refreshes can fail in a row before fencing, which is why 4 s is the floor (StazConfig
/// raises smaller values).
///
/// DCS failsafe mode (`failsafe_mode: true`) adds a second kind of confirmation: a round of
/// `POST /failsafe` in which *every* member of the `failsafe` key answered "Accepted"
/// (`confirmByFailsafe`). The deadline then becomes `max(lastConfirmed, failsafeConfirmed) + ttl
/// - fenceMargin`, again measured from the instant the round was *sent*. Why that is safe even
/// after our etcd lease expired: a member that accepted remembers us as leader for `ttl` from
/// the moment it *received* the request (later than we sent it) and, while it does, neither
/// races for the lock nor promotes, and it refuses the request once it acts as a leader itself;
/// members absent from a non-empty `failsafe` key can never win a race. So until
/// `sent + ttl` nobody can become primary, and we stop writes `fenceMargin` before that. A
/// confirmation that arrives after we fenced or gave up the lock is ignored. The HA loop sends
/// the rounds; this keeper only compares instants, so it still never waits for PostgreSQL.
actor LeaseKeeper {
    private let dcs: DCSClient
    /// Kept alive after every confirmation of our leadership; disarmed when we fence.
    private let watchdog: Watchdog?
    private let logger: Logger
    private var ttl: Double
    private var loopWait: Double
    private(set) var holdingLeader = false
    /// Send instant of the last confirmed refresh.
    private(set) var lastConfirmed: ContinuousClock.Instant?
    /// Send instant of the last failsafe round every member accepted (failsafe mode only).
    private(set) var failsafeConfirmed: ContinuousClock.Instant?
    private let onLeaseChange: @Sendable (ContinuousClock.Instant?) -> Void
    private let fence: @Sendable () -> Void
    private var fenced = false
    private var refreshInFlight = false
    /// The last refresh failed: the next ones come at the retry pace until one succeeds.
    private var lastRefreshFailed = false
    /// A deadline taken over from the fencing guard of a previous staz process on this data
    /// directory (see FenceGuard.swift): PostgreSQL must stop then unless we confirm the lock
    /// as leader before. Kept when the HA loop finds it does not lead, cleared once we hold
    /// the lock (our own deadline then applies) or after fencing.
    private var inheritedFenceAt: ContinuousClock.Instant?
    /// Told every fence deadline (nil: nothing to fence), for the guard process.
    private var fenceDeadlineObserver: (@Sendable (ContinuousClock.Instant?) -> Void)?
    /// Signalled on every change of the fence deadline: `run` sleeps until the next refresh or
    /// the deadline, whichever is first, and looks again when either moves.
    private let deadlineChanged = SignalWaiters()

    init(dcs: DCSClient, ttl: Double, loopWait: Double, watchdog: Watchdog? = nil, logger: Logger,
         onLeaseChange: @escaping @Sendable (ContinuousClock.Instant?) -> Void,
         fence: @escaping @Sendable () -> Void) {
        self.dcs = dcs; self.ttl = ttl; self.loopWait = loopWait; self.watchdog = watchdog; self.logger = logger
        self.onLeaseChange = onLeaseChange; self.fence = fence
    }

    var fenceMargin: Double { min(1.0, ttl * 0.15) }

    /// The instant until which we may act as the leader, or nil when we do not hold the lock.
    var leaderValidUntil: ContinuousClock.Instant? {
        guard holdingLeader, let confirmed = [lastConfirmed, failsafeConfirmed].compactMap({ $0 }).max() else { return nil }
        return confirmed + .milliseconds(Int64((ttl - fenceMargin) * 1000))
    }

    /// The one instant at which PostgreSQL gets fenced unless the lock is confirmed again: our
    /// own lease while we hold the lock, else a deadline inherited from a previous process.
    /// Both the in-process fence (`checkFence`) and the guard process are driven by it.
    var fenceDeadline: ContinuousClock.Instant? {
        holdingLeader ? (leadsStandbyCluster ? nil : leaderValidUntil) : inheritedFenceAt
    }

    /// We hold the lock of a standby cluster: PostgreSQL is a standby that takes no writes, so
    /// nothing is fenced when the lock cannot be renewed (Patroni leaves a standby leader
    /// running too); stopping it would only stop the disaster-recovery copy replaying.
    private var leadsStandbyCluster = false

    func setLeadsStandbyCluster(_ leads: Bool) {
        guard leads != leadsStandbyCluster else { return }
        leadsStandbyCluster = leads
        publish()
    }

    func setTimeouts(ttl: Double, loopWait: Double) {
        self.ttl = ttl; self.loopWait = loopWait
        watchdog?.updateTiming(ttl: ttl, loopWait: loopWait)
        publish()
    }

    /// `observer` is called with `fenceDeadline` now and after every change of it.
    func observeFenceDeadline(_ observer: @escaping @Sendable (ContinuousClock.Instant?) -> Void) {
        fenceDeadlineObserver = observer
        observer(fenceDeadline)
    }

    /// Adopts the deadline of a previous staz's guard (we restarted while it held the lock).
    func inheritFence(at deadline: ContinuousClock.Instant) {
        inheritedFenceAt = deadline
        publish()
    }

    /// What the observers were last told: the HA loop confirms the lock every cycle, mostly
    /// with a renewal they already know, and the guard process needs only new deadlines.
    private var published: (validUntil: ContinuousClock.Instant?, fenceAt: ContinuousClock.Instant?)?

    private func publish() {
        let now = (validUntil: leaderValidUntil, fenceAt: fenceDeadline)
        if let published, published.validUntil == now.validUntil, published.fenceAt == now.fenceAt { return }
        published = now
        onLeaseChange(now.validUntil)
        fenceDeadlineObserver?(now.fenceAt)
        deadlineChanged.signal()
    }

    /// Called by the HA loop after it acquired, confirmed or released the lock. When it stops
    /// leading while PostgreSQL may still run as a primary (`primaryMayRun`: the lock expired or
    /// was taken, or a demotion has yet to stop the server), the deadline it had stays armed as
    /// an inherited one: in failsafe mode it can lie past the lock's expiry, and a loop that hung
    /// right after noticing the loss would otherwise leave a primary no guard stops.
    func setHoldingLeader(_ holding: Bool, confirmedAt: ContinuousClock.Instant? = nil, primaryMayRun: Bool = false) {
        if !holding, primaryMayRun, !fenced, let deadline = leaderValidUntil {
            inheritedFenceAt = max(inheritedFenceAt ?? deadline, deadline)
        }
        holdingLeader = holding
        if let confirmedAt, lastConfirmed.map({ confirmedAt > $0 }) ?? true { lastConfirmed = confirmedAt }
        if holding { fenced = false; inheritedFenceAt = nil } else { failsafeConfirmed = nil }
        if holding, confirmedAt != nil { watchdog?.keepalive() }
        publish()
    }

    /// PostgreSQL stopped taking writes (a demotion stopped it): nothing is left to fence.
    func primaryStopped() {
        guard !holdingLeader, inheritedFenceAt != nil else { return }
        inheritedFenceAt = nil
        publish()
    }

    /// Called by the HA loop when every member accepted a `POST /failsafe` round sent at
    /// `sentAt` (see the safety argument above). Ignored unless we still lead: a late answer
    /// must never revive a member that was fenced or gave up the lock.
    func confirmByFailsafe(sentAt: ContinuousClock.Instant) {
        guard holdingLeader, !fenced else { return }
        if failsafeConfirmed.map({ sentAt > $0 }) ?? true { failsafeConfirmed = sentAt }
        watchdog?.keepalive()
        publish()
    }

    /// Refresh once now (used right before acquiring the lock).
    @discardableResult
    func refreshNow() async -> Bool {
        do {
            if let sent = try await dcs.refreshSession(holdingLeader: holdingLeader) {
                if lastConfirmed.map({ sent > $0 }) ?? true { lastConfirmed = sent }
                if holdingLeader, !fenced { watchdog?.keepalive() }
                publish()
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

    /// Keeps the member key alive while we do not lead (see `DCSClient.keepSessionAlive`).
    private func keepSessionAlive() async -> Bool {
        do {
            try await dcs.keepSessionAlive()
            return true
        } catch {
            logger.warning("session keepalive failed: \(error)")
            return false
        }
    }

    /// Runs until cancelled.
    func run() async {
        var lastRefresh: ContinuousClock.Instant?
        while !Task.isCancelled {
            let now = ContinuousClock.now
            // Due from the last refresh at the pace of the current role (a member that just won
            // the lock is renewed at the leader's pace from then on), or sooner after a failure.
            if lastRefresh.map({ now >= $0 + refreshInterval }) ?? true {
                lastRefresh = now
                // The refresh itself runs concurrently so the fence check below keeps its pace
                // even when the DCS hangs.
                if !refreshInFlight {
                    refreshInFlight = true
                    let leading = holdingLeader
                    Task {
                        let succeeded = leading ? await self.refreshNow() : await self.keepSessionAlive()
                        self.refreshFinished(succeeded: succeeded)
                    }
                }
            }
            checkFence()
            let nextRefresh = (lastRefresh ?? now) + refreshInterval
            // Asleep until the next refresh or the fence deadline: no polling in between.
            let fenceAt = fenced ? nil : fenceDeadline
            let wakeAt = fenceAt.map { min($0, nextRefresh) } ?? nextRefresh
            _ = await deadlineChanged.wait(timeout: max(.milliseconds(1), wakeAt - ContinuousClock.now))
        }
    }

    private var refreshInterval: Duration {
        if lastRefreshFailed { return LeaseRenewal.retryInterval(ttl: ttl, loopWait: loopWait) }
        return holdingLeader ? LeaseRenewal.interval(ttl: ttl, loopWait: loopWait)
                             : LeaseRenewal.memberInterval(ttl: ttl, loopWait: loopWait)
    }

    private func checkFence() {
        guard !fenced, let deadline = fenceDeadline, ContinuousClock.now >= deadline else { return }
        fenced = true
        if holdingLeader {
            logger.error("leader lock could not be renewed in time: stopping PostgreSQL before the lock can expire")
        } else {
            logger.error("the lock the previous staz process held was not confirmed in time: stopping PostgreSQL before it can expire")
        }
        fence()
        watchdog?.disable()
        // We act as leader no more; a later acquire starts from a freshly confirmed session.
        holdingLeader = false
        inheritedFenceAt = nil
        failsafeConfirmed = nil
        publish()
    }

    func wasFenced() -> Bool { fenced }

    /// We hold the leader lock and the HA loop's lock update may not settle it before the
    /// fence (the decision's `FailsafeInput.lockInDoubt`): the last renewal failed, or the newest
    /// confirmation is older than a renewal and its retry take (one is overdue), or the fence
    /// deadline comes sooner than an update could end, `update` (its `retry_timeout` and a
    /// moment for the failsafe round behind it). The last case is an update that starts while a
    /// renewal is unanswered but not yet overdue: it sends a keepalive of its own and may wait
    /// its whole `retry_timeout` on it, which at some settings (ttl 8, loop_wait 4,
    /// retry_timeout 2) ends only as the deadline passes.
    func lockInDoubt(updateMayTake update: Duration) -> Bool {
        guard holdingLeader, !fenced else { return false }
        guard !lastRefreshFailed, let confirmed = [lastConfirmed, failsafeConfirmed].compactMap({ $0 }).max() else { return true }
        let now = ContinuousClock.now
        if now - confirmed > LeaseRenewal.confirmationWindow(ttl: ttl, loopWait: loopWait) { return true }
        return fenceDeadline.map { $0 - now <= update } ?? false
    }

    private func refreshFinished(succeeded: Bool) {
        refreshInFlight = false
        if lastRefreshFailed != !succeeded {
            lastRefreshFailed = !succeeded
            deadlineChanged.signal()
        }
    }
}
