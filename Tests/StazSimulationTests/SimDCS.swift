import StazCore

/// An in-memory DCS with etcd's semantics as staz uses them: a leader key that lives while its
/// lease is renewed, member keys with a TTL, and compare-and-set writes.
struct SimDCS {
    var ttl: Double
    var initialize: String?
    var leader: (name: String, expiresAt: Double)?
    var members: [String: (data: JSONObject, expiresAt: Double)] = [:]
    var history: [TimelineHistoryEntry]?
    var failover: FailoverRequest?
    var sync = SyncState(version: "0")
    var optime: Int64?
    /// `status`'s `staz_timeline`: the newest timeline a promotion claimed (`PromotionTimeline`).
    var stazTimeline: Int64?
    /// The `failsafe` key (`{name: api_url}`), written by the leader in failsafe mode.
    var failsafe: JSONObject?
    /// `pause: true` in the configuration key (`stazctl pause`), and when the operator resumes.
    var paused = false
    var pausedUntil: Double?
    /// The whole DCS is down (every member's requests fail) until then.
    var downUntil: Double?
    /// Bumped on every change, as etcd's revision; members' watches wake on it.
    var revision = 0

    init(ttl: Double) { self.ttl = ttl }

    /// `ClusterView.timeline`, without building the view.
    var timeline: Int64 {
        guard let history else { return 0 }
        return (history.last?.timeline ?? 0) + 1
    }

    func liveLeader(at now: Double) -> String? {
        guard let leader, leader.expiresAt > now else { return nil }
        return leader.name
    }

    mutating func acquire(_ name: String, at now: Double) -> Bool {
        guard liveLeader(at: now) == nil else { return false }
        leader = (name, now + ttl); revision += 1
        return true
    }

    /// The bootstrap's unconditional put of the leader key.
    mutating func take(_ name: String, at now: Double) {
        leader = (name, now + ttl); revision += 1
    }

    mutating func renew(_ name: String, at now: Double) -> Bool {
        guard liveLeader(at: now) == name else { return false }
        leader = (name, now + ttl)
        return true
    }

    mutating func release(_ name: String, at now: Double) {
        guard liveLeader(at: now) == name else { return }
        leader = nil; revision += 1
    }

    mutating func touch(_ name: String, _ data: JSONObject, at now: Double) {
        members[name] = (data, now + ttl)
    }

    /// Compare-and-set of `sync` on its version.
    mutating func setSync(_ state: SyncState, version: String?) -> Bool {
        guard version == sync.version else { return false }
        revision += 1
        sync = state
        sync.version = String(revision)
        return true
    }

    mutating func raceInitialize() -> Bool {
        guard initialize == nil else { return false }
        initialize = ""; revision += 1
        return true
    }

    func view(at now: Double) -> ClusterView {
        let live = members.filter { $0.value.expiresAt > now }
            .map { Member(name: $0.key, data: $0.value.data) }.sorted { $0.name < $1.name }
        let config = ClusterConfigRecord(data: paused ? JSONObject([("pause", .bool(true))]) : JSONObject(), version: "1")
        return ClusterView(initialize: initialize, config: config, leader: liveLeader(at: now).map { Leader(name: $0) }, members: live,
                           failover: failover, history: history, status: ClusterStatus(optime: optime, stazTimeline: stazTimeline), sync: sync,
                           failsafe: failsafe)
    }
}
