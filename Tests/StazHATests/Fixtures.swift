import StazCore
import StazConfig
@testable import StazHA

// A tiny DSL so that every table row in these tests reads like a sentence: who I am, what the
// DCS shows, what my PostgreSQL looks like, what the peers answered.

/// The system identifier of "our" cluster, and one of some other cluster.
let clusterSysid = "7291283470372356789"
let foreignSysid = "7000000000000000001"

/// 1 MiB, Patroni's default `maximum_lag_on_failover`.
let MiB: UInt64 = 1_048_576
/// A WAL position in the middle of nowhere, so "ahead" and "behind" both make sense.
let baseLSN: UInt64 = 0x5000_0000

// MARK: local PostgreSQL

enum PG {
    /// Running, accepting connections, not in recovery.
    static func primary(lsn: UInt64 = baseLSN, timeline: Int64 = 1, sysid: String = clusterSysid) -> PostgresObservation {
        var pg = running(sysid: sysid, lsn: lsn, timeline: timeline)
        pg.isInRecovery = false
        pg.controlDataState = "in production"
        return pg
    }

    /// Running standby, streaming.
    static func replica(lsn: UInt64 = baseLSN, timeline: Int64 = 1, sysid: String = clusterSysid) -> PostgresObservation {
        var pg = running(sysid: sysid, lsn: lsn, timeline: timeline)
        pg.isInRecovery = true
        pg.isStreaming = true
        pg.receiveLSN = LSN(lsn)
        pg.replayLSN = LSN(lsn)
        pg.controlDataState = "in archive recovery"
        return pg
    }

    /// Postmaster up but not accepting connections yet.
    static func starting(sysid: String = clusterSysid) -> PostgresObservation {
        var pg = PostgresObservation(dataDirectoryEmpty: false, isRunning: true)
        pg.systemIdentifier = sysid
        pg.isInRecovery = true
        return pg
    }

    /// Not running. `wasPrimary` = no standby.signal (a crashed primary), else a stopped standby.
    static func stopped(wasPrimary: Bool, sysid: String = clusterSysid) -> PostgresObservation {
        var pg = PostgresObservation(dataDirectoryEmpty: false, isRunning: false)
        pg.systemIdentifier = sysid
        pg.isInRecovery = !wasPrimary
        pg.controlDataTimeline = 1
        pg.controlDataState = wasPrimary ? "in production" : "shut down in recovery"
        return pg
    }

    /// No data directory (fresh node).
    static let empty = PostgresObservation(dataDirectoryEmpty: true, isRunning: false)

    static func inaccessible(_ error: String) -> PostgresObservation {
        var pg = PostgresObservation(dataDirectoryEmpty: false, isRunning: false)
        pg.dataDirectoryError = error
        return pg
    }

    private static func running(sysid: String, lsn: UInt64, timeline: Int64) -> PostgresObservation {
        var pg = PostgresObservation(dataDirectoryEmpty: false, isRunning: true)
        pg.systemIdentifier = sysid
        pg.isAcceptingConnections = true
        pg.timeline = timeline
        pg.controlDataTimeline = timeline
        pg.walPosition = LSN(lsn)
        return pg
    }
}

// MARK: DCS view

/// A member key as Patroni writes it.
func member(_ name: String, state: String = "running", role: String = "replica",
            cloneFrom: Bool = false, noFailover: Bool = false) -> Member {
    var data = JSONObject()
    data["conn_url"] = .string("postgres://127.0.0.1:5432/postgres")
    data["api_url"] = .string("http://127.0.0.1:8008/patroni")
    data["state"] = .string(state)
    data["role"] = .string(role)
    var tags = JSONObject()
    if cloneFrom { tags["clonefrom"] = .bool(true) }
    if noFailover { tags["nofailover"] = .bool(true) }
    if !tags.isEmpty { data["tags"] = .object(tags) }
    return Member(name: name, data: data)
}

/// History with promotions up to `timeline` (so the cluster timeline is `timeline`).
func history(upTo timeline: Int64) -> [TimelineHistoryEntry] {
    guard timeline > 1 else { return [] }
    return (1..<timeline).map { TimelineHistoryEntry(timeline: $0, lsn: Int64($0) * 0x100_0000, reason: "no recovery target specified") }
}

/// A cluster view. `members` are running replicas unless given as `Member`s via `memberKeys`;
/// the leader's member key is marked `primary`.
func cluster(leader: String? = nil, members: [String] = [], memberKeys: [Member] = [],
             initialize: String? = clusterSysid, failover: FailoverRequest? = nil,
             optime: UInt64? = nil, timeline: Int64 = 1) -> ClusterView {
    let plain = members.map { member($0, role: $0 == leader ? "primary" : "replica") }
    return ClusterView(initialize: initialize, leader: leader.map { Leader(name: $0) },
                       members: (plain + memberKeys).sorted { $0.name < $1.name },
                       failover: failover, history: history(upTo: timeline),
                       status: ClusterStatus(optime: optime.map { Int64($0) }))
}

/// `failover` key: switchover when `from` is set, manual failover otherwise.
func failoverKey(from leader: String? = nil, to candidate: String? = nil) -> FailoverRequest {
    FailoverRequest(leader: leader, candidate: candidate)
}

// MARK: peers (GET /patroni answers)

enum Peer {
    static func replica(_ name: String, lsn: UInt64 = baseLSN, priority: Int = 1, noFailover: Bool = false) -> PeerStatus {
        PeerStatus(name: name, reachable: true, role: .replica, isInRecovery: true,
                   walPosition: LSN(lsn), noFailover: noFailover, failoverPriority: priority)
    }
    static func primary(_ name: String, lsn: UInt64 = baseLSN) -> PeerStatus {
        PeerStatus(name: name, reachable: true, role: .primary, isInRecovery: false, walPosition: LSN(lsn))
    }
    static func unreachable(_ name: String) -> PeerStatus {
        PeerStatus(name: name, reachable: false)
    }
}

// MARK: identity, settings, memory

/// `noFailover` defaults as the configuration derives it: from a priority ≤ 0 when not given.
func node(_ name: String, noFailover: Bool? = nil, priority: Int = 1, cloneFrom: Bool = false,
          canBootstrap: Bool = true) -> NodeIdentity {
    NodeIdentity(name: name, noFailover: noFailover ?? (priority <= 0), failoverPriority: priority, cloneFrom: cloneFrom,
                 canBootstrap: canBootstrap)
}

func settings(_ edit: (inout DynamicSettings) -> Void = { _ in }) -> DynamicSettings {
    var s = DynamicSettings()
    edit(&s)
    return s
}

let paused = settings { $0.pause = true }

enum Memory {
    /// A cycle after the first one with nothing running in the background.
    static var steady: HAMemory {
        var m = HAMemory()
        m.firstCycle = false
        return m
    }
    static var firstCycle: HAMemory { HAMemory() }
    static func longAction(_ name: String) -> HAMemory {
        var m = steady
        m.longAction = name
        return m
    }
    static func primaryDown(since: Double) -> HAMemory {
        var m = steady
        m.primaryDownSince = since
        return m
    }
}

func input(_ me: NodeIdentity, _ cluster: ClusterView?, _ pg: PostgresObservation, peers: [PeerStatus] = [],
           settings: DynamicSettings = settings(), memory: HAMemory = Memory.steady, now: Double = 1000,
           lastLockedMembers: [String] = []) -> HAInput {
    HAInput(node: me, cluster: cluster, lastLockedMembers: lastLockedMembers, postgres: pg,
            settings: settings, peers: peers, memory: memory, now: now)
}

func input(_ me: String, _ cluster: ClusterView?, _ pg: PostgresObservation, peers: [PeerStatus] = [],
           settings: DynamicSettings = settings(), memory: HAMemory = Memory.steady, now: Double = 1000) -> HAInput {
    input(node(me), cluster, pg, peers: peers, settings: settings, memory: memory, now: now)
}
