/// What a member's PostgreSQL is, spelt as Patroni's `PostgresqlRole` in member keys, `GET
/// /patroni`, callbacks and `POST /restart` conditions.
public enum MemberRole: String, Sendable, CaseIterable {
    case primary
    /// Written by Patroni before 3.0; read as `primary`, never written by staz.
    case master
    case standbyLeader = "standby_leader"
    case replica
    case demoted
    case uninitialized
    case promoted

    /// Reads a role published by any member, mapping the legacy `master` to `primary`.
    public init?(published text: String) {
        guard let role = MemberRole(rawValue: text) else { return nil }
        self = role == .master ? .primary : role
    }

    /// Writes to the cluster: `primary` or `standby_leader`.
    public var isLeaderRole: Bool { self == .primary || self == .standbyLeader }
}

/// PostgreSQL's state as Patroni's `PostgresqlState` names it. The declaration order is
/// Patroni's numeric index (`patroni_postgres_state`): monitoring depends on it, never reorder.
public enum MemberState: String, Sendable, CaseIterable {
    case initializingNewCluster = "initializing new cluster"
    case initdbFailed = "initdb failed"
    case runningCustomBootstrap = "running custom bootstrap script"
    case customBootstrapFailed = "custom bootstrap failed"
    case creatingReplica = "creating replica"
    case running
    case starting
    case startingAfterCustomBootstrap = "starting after custom bootstrap"
    case startFailed = "start failed"
    case restarting
    case restartFailed = "restart failed"
    case stopping
    case stopped
    case stopFailed = "stop failed"
    case crashed

    /// Patroni's numeric index of this state.
    public var index: Int { Self.allCases.firstIndex(of: self)! }
}
