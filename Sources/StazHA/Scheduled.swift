import Foundation
import StazCore

/// A restart requested with `POST /restart {"schedule": ...}` (Patroni keeps it in memory and
/// publishes it as `scheduled_restart` in the member key).
public struct ScheduledRestart: Sendable, Equatable {
    /// Epoch seconds of the requested moment, and the timestamp as the request gave it.
    public var at: Double
    public var atText: String
    /// `pg_postmaster_start_time()` when the restart was scheduled: if PostgreSQL restarted in
    /// between, the scheduled restart is moot and is cancelled.
    public var postmasterStartTime: String?
    public var conditions: RestartConditions

    public init(at: Double, atText: String, postmasterStartTime: String?, conditions: RestartConditions) {
        self.at = at; self.atText = atText; self.postmasterStartTime = postmasterStartTime; self.conditions = conditions
    }
}

/// The filters of `POST /restart` (Patroni's `restart_matches`).
public struct RestartConditions: Sendable, Equatable {
    /// `primary`, `standby_leader` or `replica`: restart only a node in that role.
    public var role: MemberRole?
    /// Restart only when the running server is older than this (server_version_num form).
    public var postgresVersion: Int?
    /// Restart only when PostgreSQL reports a pending restart. Patroni tests the key's
    /// presence, so `"restart_pending": false` also requires it.
    public var requirePendingRestart: Bool
    /// Seconds to wait for the start (overrides `primary_start_timeout`).
    public var timeout: Double?

    public init(role: MemberRole? = nil, postgresVersion: Int? = nil, requirePendingRestart: Bool = false, timeout: Double? = nil) {
        self.role = role; self.postgresVersion = postgresVersion
        self.requirePendingRestart = requirePendingRestart; self.timeout = timeout
    }

    /// Why the restart must not happen, in Patroni's words, or nil when it may.
    public func blocker(currentRole: MemberRole, serverVersion: Int?, pendingRestart: Bool) -> String? {
        var reason: String?
        if let role, role != currentRole { reason = "host role mismatch" }
        if let postgresVersion, postgresVersion <= (serverVersion ?? 0) { reason = "postgres version mismatch" }
        if requirePendingRestart && !pendingRestart { reason = "pending restart flag is not set" }
        return reason
    }
}

extension Decider {
    /// The role `restart_matches` compares with: what the running PostgreSQL is.
    var currentRole: MemberRole { runningAsPrimary ? .primary : .replica }

    /// `should_run_scheduled_action` in Patroni's `Ha`: nil while waiting or after cleaning up,
    /// otherwise the steps that wait for the exact moment.
    enum ScheduleVerdict { case wait([HAStep]), cleanUp([HAStep]), run([HAStep]) }

    func scheduleVerdict(action: String, at: Double, text: String) -> ScheduleVerdict {
        let delta = at - input.wallClock
        if delta > settings.loopWait {
            return .wait([.logInfo("Awaiting \(action) at \(text) (in \(String(format: "%.0f", delta)) seconds)")])
        }
        if delta < -Double(Int(settings.loopWait * 1.5)) {
            return .cleanUp([.logWarning("Found a stale \(action) value, cleaning up: \(text)")])
        }
        return .run([.sleep(max(delta, 0)), .logInfo("Manual scheduled \(action) at \(text)")])
    }

    /// Patroni's `evaluate_scheduled_restart`, run after the locked-cluster decision; its
    /// message wins when a restart starts. Nothing happens in pause or while a role change runs.
    func withScheduledRestart(_ plan: HAPlan) -> HAPlan {
        guard let restart = input.scheduledRestart, !paused, pg.isRunning else { return plan }
        let busy = plan.resolved().steps.contains { step in
            if case .demote = step { return true }
            return step == .promote
        }
        if busy { return plan }
        if let requested = restart.postmasterStartTime, let current = pg.postmasterStartTime, requested != current {
            return plan.appendingOnSuccess([.logInfo("Cancelling scheduled restart: postgres restart has already happened at \(current)"),
                                            .cancelScheduledRestart])
        }
        switch scheduleVerdict(action: "restart", at: restart.at, text: restart.atText) {
        case .wait(let steps):
            return plan.appendingOnSuccess(steps)
        case .cleanUp(let steps):
            return plan.appendingOnSuccess(steps + [.cancelScheduledRestart])
        case .run(let steps):
            if let reason = restart.conditions.blocker(currentRole: currentRole, serverVersion: pg.serverVersion,
                                                       pendingRestart: pg.pendingRestart) {
                return plan.appendingOnSuccess(steps + [.logInfo("not proceeding with the restart: \(reason)"),
                                                .logWarning("Scheduled restart: restart conditions are not satisfied"),
                                                .cancelScheduledRestart])
            }
            return plan.appendingOnSuccess(steps + [.cancelScheduledRestart, .restart(timeout: restart.conditions.timeout)],
                                           message: "restart initiated")
        }
    }
}

extension HAPlan {
    /// Adds steps where the plan ends successfully: after its last step, or inside the `then`
    /// branch of a lock step (steps after a branching step never run). `message` replaces the
    /// heartbeat line of that path.
    func appendingOnSuccess(_ extra: [HAStep], message newMessage: String? = nil) -> HAPlan {
        var out: [HAStep] = []
        for step in steps {
            switch step {
            case .acquireLock(let a, let b):
                return HAPlan(message, out + [.acquireLock(then: a.appendingOnSuccess(extra, message: newMessage), otherwise: b)])
            case .updateLock(let a, let b):
                return HAPlan(message, out + [.updateLock(then: a.appendingOnSuccess(extra, message: newMessage), otherwise: b)])
            case .raceInitialize(let a, let b):
                return HAPlan(message, out + [.raceInitialize(then: a.appendingOnSuccess(extra, message: newMessage), otherwise: b)])
            case .writeSync(let state, let version, let a, let b):
                return HAPlan(message, out + [.writeSync(state, version: version, then: a.appendingOnSuccess(extra, message: newMessage), otherwise: b)])
            default:
                out.append(step)
            }
        }
        return HAPlan(newMessage ?? message, out + extra)
    }
}
