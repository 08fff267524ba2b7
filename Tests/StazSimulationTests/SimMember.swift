import StazCore
import StazHA

/// One simulated staz daemon and its PostgreSQL. The daemon's loop runs the real `decide` and
/// `planFollow`; the world carries out their steps on the simulated PostgreSQL and DCS.
struct SimMember {
    let name: String
    let port: Int
    var pg = SimPostgres()
    var memory = HAMemory()
    var lastLockedMembers: [String] = []
    /// The peers' answers of the cycle being executed (a promotion takes a timeline above theirs).
    var lastPeers: [PeerStatus] = []
    /// When the process started (the loop's monotonic clock counts from here).
    var startedAt: Double = 0
    var nextCycle: Double
    var lastCycleAt: Double
    var lastMessage = ""
    /// The loop stopped waking up (the `lostWakeups` fault); the lease keeper still runs.
    var loopStalled = false

    // The lease keeper (its own schedule) and the fencing guard process.
    var holding = false
    /// The synchronous_standby_names the daemon manages and the WAL position when it applied
    /// them (`HAController.standbyNames`, `standbyNamesAppliedAt`).
    var standbyNames: StandbyNames?
    var standbyNamesAppliedAt: LSN?
    var lastConfirmed: Double?
    var nextKeeperTick: Double
    /// A deadline left by a previous process (the fencing guard outlives a killed daemon).
    var inheritedFenceAt: Double?

    /// Failsafe mode (`FailsafeMemory`, `FailsafeLoopState`): the leader this member promised
    /// by answering "Accepted" to `POST /failsafe`, and when it received that request; the
    /// send instant of this member's last round every listed member accepted (it extends the
    /// fence deadline); the last `failsafe` key it read or wrote. A restarted daemon keeps only
    /// the promise (its file in the data directory).
    var failsafeLeader: (name: String, receivedAt: Double)?
    var failsafeConfirmed: Double?
    var lastFailsafeKey: JSONObject?

    /// Maintenance mode as this daemon last read it from the configuration key.
    var paused = false

    /// A background action (bootstrap, clone) finishing at `until`.
    var longAction: (kind: LongAction, until: Double)?

    // Faults.
    var frozenUntil: Double?
    var deadUntil: Double?
    /// Cut from the DCS only / from everything (DCS, peers, replication).
    var dcsCutUntil: Double?
    var isolatedUntil: Double?

    enum LongAction: Equatable {
        case bootstrap
        case clone(from: String)
    }

    init(name: String, port: Int, firstCycle: Double) {
        self.name = name; self.port = port
        nextCycle = firstCycle; lastCycleAt = firstCycle; nextKeeperTick = firstCycle
    }

    func isAlive(at now: Double) -> Bool { deadUntil.map { now >= $0 } ?? true }
    func isFrozen(at now: Double) -> Bool { frozenUntil.map { now < $0 } ?? false }
    func isIsolated(at now: Double) -> Bool { isolatedUntil.map { now < $0 } ?? false }
    /// Its own link to the DCS (the world also checks whether the DCS is up).
    func linkedToDCS(at now: Double) -> Bool { !isIsolated(at: now) && !(dcsCutUntil.map { now < $0 } ?? false) }
    /// The daemon runs code now (neither killed nor frozen).
    func isActive(at now: Double) -> Bool { isAlive(at: now) && !isFrozen(at: now) }
    func loopRuns(at now: Double) -> Bool { isActive(at: now) && !loopStalled }

    /// The instant the fencing guard stops PostgreSQL unless the lock is confirmed again.
    func fenceDeadline(ttl: Double) -> Double? {
        if holding, let confirmed = [lastConfirmed, failsafeConfirmed].compactMap({ $0 }).max() {
            return confirmed + ttl - min(1.0, ttl * 0.15)
        }
        return inheritedFenceAt
    }

    var apiURL: String { "http://sim:\(port + 1000)/patroni" }

    /// The promise of a `POST /failsafe` answer still binds (`FailsafeMemory.leader`).
    func failsafeLeader(at now: Double, ttl: Double) -> String? {
        guard let leader = failsafeLeader, now - leader.receivedAt < ttl else { return nil }
        return leader.name
    }

    func memberKey(state: MemberState) -> JSONObject {
        var data = JSONObject()
        data["conn_url"] = .string("postgres://sim:\(port)/postgres")
        data["api_url"] = .string(apiURL)
        data["state"] = .string(state.rawValue)
        data["role"] = .string((pg.exists ? (pg.inRecovery ? MemberRole.replica : .primary) : .uninitialized).rawValue)
        data["version"] = .string("4.1.5")
        if pg.running {
            data["xlog_location"] = .int(Int64(pg.lsn))
            data["timeline"] = .int(pg.timeline)
        }
        return data
    }
}
