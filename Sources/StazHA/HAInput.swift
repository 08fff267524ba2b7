import StazCore
import StazConfig

/// What one member knows about itself that does not come from the DCS or PostgreSQL.
public struct NodeIdentity: Sendable, Equatable {
    public var name: String
    public var noFailover: Bool
    public var failoverPriority: Int
    public var cloneFrom: Bool
    /// A `bootstrap` section exists (only such nodes race to initialize a new cluster).
    public var canBootstrap: Bool
    /// `replicatefrom` tag: stream from this member instead of the leader (cascading replication).
    public var replicateFrom: String?
    /// A `create_replica_methods` entry marked `no_leader` can build this replica with no member
    /// to copy from (a restore from a backup repository).
    public var canCloneWithoutLeader: Bool = false

    public init(name: String, noFailover: Bool = false, failoverPriority: Int = 1, cloneFrom: Bool = false,
                canBootstrap: Bool = true, replicateFrom: String? = nil) {
        self.name = name; self.noFailover = noFailover; self.failoverPriority = failoverPriority
        self.cloneFrom = cloneFrom; self.canBootstrap = canBootstrap; self.replicateFrom = replicateFrom
    }

    /// Patroni: `failover_priority` ≤ 0 means the same as `nofailover`.
    /// Patroni decides eligibility by `nofailover` alone (derived from a priority ≤ 0 only when
    /// the tag is absent): `nofailover: false` with `failover_priority: 0` may still lead.
    public var mayBecomeLeader: Bool { !noFailover }

    public func with(canCloneWithoutLeader: Bool) -> NodeIdentity {
        var copy = self
        copy.canCloneWithoutLeader = canCloneWithoutLeader
        return copy
    }
}

/// A peer's answer to `GET /patroni` (probed in parallel before a leader race).
public struct PeerStatus: Sendable, Equatable {
    public var name: String
    /// false when the probe failed (refused, timed out): such peers never block a race.
    public var reachable: Bool
    public var role: MemberRole?
    public var isInRecovery: Bool
    public var walPosition: LSN?
    public var noFailover: Bool
    public var failoverPriority: Int
    /// `logical_slots_ready` of its `/patroni` (staz extension): its copies of the mesh's
    /// logical slots are ready for a failover. nil: not reported (no mesh, or not staz).
    public var logicalSlotsReady: Bool? = nil
    /// The timeline its `/patroni` reports (nil when it reports none: stopped, or not staz).
    public var timeline: Int64? = nil

    public init(name: String, reachable: Bool, role: MemberRole? = nil, isInRecovery: Bool = true,
                walPosition: LSN? = nil, noFailover: Bool = false, failoverPriority: Int = 1) {
        self.name = name; self.reachable = reachable; self.role = role; self.isInRecovery = isInRecovery
        self.walPosition = walPosition; self.noFailover = noFailover; self.failoverPriority = failoverPriority
    }
}

/// State the loop carries from one cycle to the next (Patroni keeps it in `Ha` attributes).
/// Outside this module it changes only through `record(_:now:)` (HAEvent.swift).
public struct HAMemory: Sendable, Equatable {
    /// No cycle has completed yet since the daemon started.
    public internal(set) var firstCycle: Bool = true
    /// Name of a long-running action executing in the background (`bootstrap`, `clone`, ...).
    public internal(set) var longAction: String? = nil
    /// When the current "PostgreSQL is down while I hold the lock" episode began (seconds, monotonic).
    public internal(set) var primaryDownSince: Double? = nil
    /// We bootstrapped this cluster ourselves and still have to finish the post-bootstrap steps.
    public internal(set) var bootstrapping: Bool = false
    /// The lease keeper fenced PostgreSQL because the lock could not be renewed in time.
    public internal(set) var fenced: Bool = false
    /// When (monotonic seconds, like `HAInput.now`) the `pre_promote` script last failed: for
    /// `ttl` seconds afterwards this node neither promotes nor races (Patroni's backoff).
    public internal(set) var prePromoteFailedAt: Double? = nil
    /// When a start of PostgreSQL this node carried out last failed; nil once it runs again.
    public internal(set) var startFailedAt: Double? = nil
    /// When this node last gave the leader lock up itself: for `lockReleaseBackoff` seconds it
    /// leaves the race to the others.
    public internal(set) var lockReleasedAt: Double? = nil
    /// A stopped member kept its data directory instead of wiping it to follow this leader.
    public internal(set) var keptData: KeptData? = nil

    public init() {}
}

/// Everything the decision is a function of.
public struct HAInput: Sendable {
    public var node: NodeIdentity
    /// nil when the DCS could not be read this cycle.
    public var cluster: ClusterView?
    /// Members of the last view that had a leader (Patroni's `old_cluster`), for the race.
    public var lastLockedMembers: [String]
    public var postgres: PostgresObservation
    public var settings: DynamicSettings
    public var peers: [PeerStatus]
    public var memory: HAMemory
    /// Monotonic seconds (for timeouts).
    public var now: Double
    /// Wall-clock seconds since the Unix epoch: scheduled actions are given as timestamps.
    public var wallClock: Double
    /// `failover.scheduled_at` as epoch seconds; nil when there is none or it cannot be parsed
    /// (the daemon parses it, so that the timestamp grammar lives in one place).
    public var scheduledFailoverAt: Double?
    /// A restart scheduled through `POST /restart` with `schedule`.
    public var scheduledRestart: ScheduledRestart?
    /// DCS failsafe mode: the last known `failsafe` key and a leader announced by `POST /failsafe`.
    public var failsafe = FailsafeInput()
    /// This replica's copies of the mesh's logical slots are ready for a failover (nil: slot
    /// failover does not apply here). See `SlotReadiness.swift`.
    public var logicalSlotsReady: Bool? = nil
    /// This member runs as its standby cluster's leader (it followed the remote side as the
    /// lock holder); only the heartbeat line depends on it.
    public var actsAsStandbyLeader: Bool = false
    /// The watchdog device's state (see `WatchdogState`).
    public var watchdog: WatchdogState = .off
    /// False when a required watchdog cannot work: this member then never races for the lock.
    public var watchdogUsable: Bool = true
    /// How this member would make a new cluster (`bootstrap.method` of its configuration).
    public var bootstrapMethod: BootstrapMethod = .initdb

    public init(node: NodeIdentity, cluster: ClusterView?, lastLockedMembers: [String] = [], postgres: PostgresObservation,
                settings: DynamicSettings, peers: [PeerStatus] = [], memory: HAMemory = HAMemory(), now: Double = 0,
                wallClock: Double = 0, scheduledFailoverAt: Double? = nil, scheduledRestart: ScheduledRestart? = nil) {
        self.node = node; self.cluster = cluster; self.lastLockedMembers = lastLockedMembers; self.postgres = postgres
        self.settings = settings; self.peers = peers; self.memory = memory; self.now = now
        self.wallClock = wallClock; self.scheduledFailoverAt = scheduledFailoverAt; self.scheduledRestart = scheduledRestart
    }
}
