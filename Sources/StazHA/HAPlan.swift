import StazCore

/// How to stop being a primary (Patroni's `Ha.demote` modes).
public enum DemoteMode: String, Sendable, Equatable {
    /// DCS unreachable: fast stop, restart read-only with no upstream; keep the lock (it is expiring anyway).
    case offline
    /// Switchover: CHECKPOINT, fast stop, release the lock, then follow the new leader.
    case graceful
    /// Crash handling / start timeout: immediate stop, release the lock, follow.
    case immediate
    /// Lock lost or stolen: immediate stop, follow; the lock is not ours to release.
    case immediateNoLock = "immediate-nolock"
    /// Another member leads while we still run as a primary: immediate stop and stay down, so
    /// the next cycle follows it as a stopped former primary (rewound against it). Started
    /// read-only first, a standby could replay its own WAL past the fork, restore the new
    /// timeline's segments from an archive and then sit on the new timeline number without
    /// streaming, where no check sees the divergence.
    case immediateToFollow = "immediate-nolock-follow"
    /// `standby_cluster` appeared in the configuration of a running primary that holds the
    /// lock: fast stop, keep the lock, hand the shutdown checkpoint's WAL to the archive, and
    /// come back as the standby leader following the remote side (Patroni's `demote-cluster`).
    case demoteCluster = "demote-cluster"

    /// Stop without a shutdown checkpoint (`pg_ctl stop -m immediate`); otherwise fast.
    public var stopsImmediately: Bool { self == .immediate || self == .immediateNoLock || self == .immediateToFollow }
    /// A switchover checkpoints before stopping, so the shutdown (and the new primary's wait
    /// for our last WAL) is short.
    public var checkpointsFirst: Bool { self == .graceful }
    /// Seconds `pg_ctl stop` may take. Cut off from the DCS, and often from the replicas too, a
    /// fast shutdown waits for walsenders to get the shutdown checkpoint acknowledged (up to
    /// wal_sender_timeout) while the loop cannot rejoin: after `ttl` the stop turns immediate.
    public func stopTimeout(ttl: Double) -> Double { self == .offline ? max(5, ttl) : 60 }
    /// Delete the leader key once PostgreSQL is down (a conditional delete: only while it
    /// still names us). Offline: the DCS cannot be reached; no-lock: it is not ours.
    public var releasesLock: Bool { self == .graceful || self == .immediate }
    /// Keeps leading, as the standby leader of a standby cluster.
    public var becomesStandbyLeader: Bool { self == .demoteCluster }
    /// Come back with our replication slot name in `primary_slot_name`. Offline there is no
    /// upstream to hold it.
    public var keepsSlotName: Bool { self != .offline }
    /// Start PostgreSQL again read-only (with no upstream) right after the stop.
    public var restartsReadOnly: Bool { self != .immediateToFollow && self != .demoteCluster }
}

/// How a new cluster's data directory is made (`bootstrap.method`).
public enum BootstrapMethod: Sendable, Equatable {
    /// initdb, then start as a primary.
    case initdb
    /// A custom method of the local configuration, by name: its command restores the data
    /// directory, PostgreSQL recovers as the method says and is waited for until it runs as a
    /// primary.
    case custom(String)
}

/// One step of a plan. Steps that ask the DCS something carry both continuations, so the
/// decision stays a pure function while the executor only does I/O and picks a branch.
public indirect enum HAStep: Sendable, Equatable {
    case acquireLock(then: HAPlan, otherwise: HAPlan)
    case updateLock(then: HAPlan, otherwise: HAPlan)
    case raceInitialize(then: HAPlan, otherwise: HAPlan)
    case releaseLock
    /// Write `initialize` = local system identifier (adopting an existing primary).
    case writeInitialize(String)
    /// Long action: make the data directory (initdb or a custom method) and start it as a
    /// primary, then roles, post_bootstrap, take the lock and publish the configuration.
    case bootstrapNewCluster(BootstrapMethod)
    /// Long action: build the data directory from the standby cluster's remote side, start
    /// following it, then take the lock and publish `initialize` and the configuration.
    case bootstrapStandbyLeader
    /// Long action: pg_basebackup from the named member, then start as its replica.
    case cloneFrom(String)
    /// Long action: the `no_leader` replica methods (a restore from a backup), then start as a
    /// replica with no upstream.
    case cloneWithoutLeader
    /// Start a stopped PostgreSQL as primary (crash recovery within primary_start_timeout).
    case startAsPrimary
    /// Start (or restart) as a standby of `leader`; nil = read-only with no upstream.
    /// The executor rewinds first when the local timeline diverged from the leader's.
    case follow(leader: String?)
    /// Start (or repoint) as a standby of the `standby_cluster`'s remote primary or archive;
    /// `asLeader`: as this cluster's standby leader (we hold the lock).
    case followRemote(asLeader: Bool)
    /// Before a promotion (`use_slots`): create the other members' physical slots. They follow
    /// us as soon as they see our lock, often before the promotion ends, and a walreceiver that
    /// finds no slot waits `wal_retrieve_retry_interval` (5 s) before its next try. A standby
    /// can create physical slots.
    case prepareMemberSlots
    case promote
    case demote(DemoteMode)
    /// Before a switchover's stop: wait, at most `timeout` seconds, until one of `members`
    /// streams from us, so our shutdown checkpoint reaches it and we follow it without pg_rewind
    /// (a standby that just reconnects after a restart of ours can be seconds away from it).
    case awaitStreaming(members: [String], timeout: Double)
    /// Overwrite the `failover` key with `{}` (compare-and-set on its version).
    case clearFailover
    /// Publish history after a promotion when our timeline is not in it yet.
    case recordPromotion
    /// Exit the daemon with this fatal message (system ID mismatch, ...).
    case fatal(String)
    /// Log a line besides the heartbeat (Patroni logs these separately, e.g. "Awaiting ...").
    case logInfo(String)
    case logWarning(String)
    /// Wait this many seconds (at most `loop_wait`) for a scheduled action's moment; the lease
    /// keeper keeps the lock alive meanwhile.
    case sleep(Double)
    /// Restart PostgreSQL in the background (scheduled restart); `timeout` overrides
    /// `primary_start_timeout` for the start.
    case restart(timeout: Double?)
    /// Forget the scheduled restart (done, stale, or no longer applicable).
    case cancelScheduledRestart
    /// Compare-and-set the `sync` key before promoting (synchronous mode); `otherwise` when
    /// somebody else changed it first.
    case writeSync(SyncState, version: String?, then: HAPlan, otherwise: HAPlan)
    /// Run `on_role_change` with the role `demoted`: a primary gave its lock up without running
    /// again (Patroni's `post_recover`).
    case announceDemotion
    /// This node refuses a failover that could lose acknowledged commits: published in
    /// `/patroni` (`failover_blocked`) and logged as a warning.
    case reportBlockedFailover(String)
    /// DCS failsafe mode, DCS unreachable: `POST /failsafe` to these members (2 s timeout, one
    /// retry); `then` when every one answered "Accepted", else `otherwise`.
    case confirmFailsafe(members: [FailsafeMember], then: HAPlan, otherwise: HAPlan)
    /// Open the watchdog device and set its timeout; `otherwise` when it is required and no
    /// safe one could be armed.
    case armWatchdog(then: HAPlan, otherwise: HAPlan)
    /// Magic-close the watchdog device.
    case disarmWatchdog
}

/// A plan: steps in order and the heartbeat line to log when it completes.
public struct HAPlan: Sendable, Equatable {
    public var steps: [HAStep]
    public var message: String

    public init(_ message: String, _ steps: [HAStep] = []) {
        self.message = message; self.steps = steps
    }

    /// The steps of this plan and every branch the DCS answers would select, given the answers.
    /// Used by tests to read a plan as a straight line.
    public func resolved(lockAcquired: Bool = true, lockUpdated: Bool = true, initializeWon: Bool = true,
                         syncWritten: Bool = true, failsafeConfirmed: Bool = true, watchdogArmed: Bool = true) -> (steps: [HAStep], message: String) {
        var out: [HAStep] = []
        // The asking step (with its branches blanked) followed by the chosen branch, resolved alike.
        func choose(_ marker: HAStep, _ chosen: HAPlan) -> (steps: [HAStep], message: String) {
            let rest = chosen.resolved(lockAcquired: lockAcquired, lockUpdated: lockUpdated, initializeWon: initializeWon,
                                       syncWritten: syncWritten, failsafeConfirmed: failsafeConfirmed, watchdogArmed: watchdogArmed)
            return (out + [marker] + rest.steps, rest.message)
        }
        let blank = HAPlan("")
        for step in steps {
            switch step {
            case .acquireLock(let a, let b): return choose(.acquireLock(then: blank, otherwise: blank), lockAcquired ? a : b)
            case .updateLock(let a, let b): return choose(.updateLock(then: blank, otherwise: blank), lockUpdated ? a : b)
            case .raceInitialize(let a, let b): return choose(.raceInitialize(then: blank, otherwise: blank), initializeWon ? a : b)
            case .writeSync(let state, let version, let a, let b):
                return choose(.writeSync(state, version: version, then: blank, otherwise: blank), syncWritten ? a : b)
            case .confirmFailsafe(let members, let a, let b):
                return choose(.confirmFailsafe(members: members, then: blank, otherwise: blank), failsafeConfirmed ? a : b)
            case .armWatchdog(let a, let b): return choose(.armWatchdog(then: blank, otherwise: blank), watchdogArmed ? a : b)
            default:
                out.append(step)
            }
        }
        return (out, message)
    }
}

extension HAPlan {
    /// Whether this plan, on some branch, promotes PostgreSQL.
    public var promotes: Bool {
        steps.contains { step in
            switch step {
            case .promote: return true
            case .acquireLock(let a, let b), .updateLock(let a, let b), .raceInitialize(let a, let b),
                 .writeSync(_, _, let a, let b), .confirmFailsafe(_, let a, let b), .armWatchdog(let a, let b):
                return a.promotes || b.promotes
            default: return false
            }
        }
    }
}
