import Foundation

/// One member key (`members/<name>`). The JSON object is kept whole so that fields staz does
/// not interpret (written by Patroni members in a mixed cluster) survive; typed accessors read it.
public struct Member: Sendable, Equatable {
    public var name: String
    /// DCS version of the key (etcd v3 mod_revision, etcd v2 modifiedIndex), as a string.
    public var version: String?
    /// Lease id (etcd v3) the key is bound to, if any.
    public var session: String?
    public var data: JSONObject

    public init(name: String, version: String? = nil, session: String? = nil, data: JSONObject) {
        self.name = name; self.version = version; self.session = session; self.data = data
    }

    /// Parses a member value: JSON, or the legacy `postgres://...?application_name=<api_url>` form.
    public static func parse(name: String, value: String, version: String? = nil, session: String? = nil) -> Member {
        if let v = try? JSONValue.parse(value), case .object(let o) = v {
            return Member(name: name, version: version, session: session, data: o)
        }
        var data = JSONObject()
        if value.hasPrefix("postgres"), let comps = URLComponents(string: value) {
            var conn = comps
            let api = comps.queryItems?.first(where: { $0.name == "application_name" })?.value
            conn.queryItems = nil
            data["conn_url"] = .string(conn.string ?? value)
            if let api { data["api_url"] = .string(api) }
        }
        return Member(name: name, version: version, session: session, data: data)
    }

    public var connURL: String? { data["conn_url"]?.stringValue }
    public var apiURL: String? { data["api_url"]?.stringValue }
    public var state: String? { data["state"]?.stringValue }
    public var role: String? { data["role"]?.stringValue }
    /// `state` and `role` when they are values Patroni defines (a foreign key may say anything).
    public var memberState: MemberState? { state.flatMap(MemberState.init(rawValue:)) }
    public var memberRole: MemberRole? { role.flatMap(MemberRole.init(published:)) }
    public var patroniVersion: String? { data["version"]?.stringValue }
    public var timeline: Int64? { data["timeline"]?.intValue }
    public var xlogLocation: LSN? { data["xlog_location"]?.intValue.map { LSN(UInt64(max(0, $0))) } }
    public var receiveLSN: LSN? { data["receive_lsn"]?.intValue.map { LSN(UInt64(max(0, $0))) } }
    public var replayLSN: LSN? { data["replay_lsn"]?.intValue.map { LSN(UInt64(max(0, $0))) } }
    public var replicationState: String? { data["replication_state"]?.stringValue }
    public var pendingRestart: Bool { data["pending_restart"]?.boolValue ?? false }
    public var isPaused: Bool { data["pause"]?.boolValue ?? false }
    public var tags: JSONObject { data["tags"]?.objectValue ?? JSONObject() }

    /// Patroni's `Tags.nofailover`: the `nofailover` tag when present, else a priority ≤ 0.
    public var noFailover: Bool { boolTag("nofailover", priority: "failover_priority") }
    /// Patroni's `Tags.failover_priority`: 0 under a true `nofailover`, else the priority (1 by
    /// default). Only `noFailover` decides whether a member may lead; this orders the race.
    public var failoverPriority: Int64 { priorityTag("nofailover", priority: "failover_priority") }
    /// Patroni's `Tags.nosync`: the `nosync` tag when present, else a `sync_priority` ≤ 0.
    public var noSync: Bool { boolTag("nosync", priority: "sync_priority") }
    /// Patroni's `Tags.sync_priority`: orders the synchronous candidates; only `noSync`
    /// decides whether a member may be one.
    public var syncPriority: Int64 { priorityTag("nosync", priority: "sync_priority") }

    /// Patroni's `Tags._bool_tag`: the boolean tag, when written, takes precedence.
    private func boolTag(_ name: String, priority: String) -> Bool {
        if let flag = tags[name], !flag.isNull { return pythonTruthy(flag) }
        if let p = taggedPriority(priority) { return p <= 0 }
        return false
    }
    /// Patroni's `Tags._priority_tag`: 0 under a true boolean tag, else the priority, 1 by default.
    private func priorityTag(_ name: String, priority: String) -> Int64 {
        if let flag = tags[name], pythonTruthy(flag) { return 0 }
        return taggedPriority(priority) ?? 1
    }
    /// Tags are published as written, so a priority may be a number or a string of one.
    private func taggedPriority(_ key: String) -> Int64? {
        tags[key].flatMap { $0.intValue ?? $0.stringValue.flatMap { Int64($0) } }
    }
    public var noLoadBalance: Bool { tags["noloadbalance"]?.boolValue ?? false }
    public var cloneFrom: Bool { tags["clonefrom"]?.boolValue ?? false }
    public var replicateFrom: String? { tags["replicatefrom"]?.stringValue }
    /// Streams no WAL (restores it from the archive only): no slot anywhere is kept for it.
    public var noStream: Bool { tags["nostream"]?.boolValue ?? false }

    /// host and port parsed from `conn_url` (`postgres://host:port/postgres`).
    public var connHostPort: (host: String, port: Int)? {
        guard let url = connURL, let comps = URLComponents(string: url), let host = comps.host else { return nil }
        return (host, comps.port ?? 5432)
    }
}

/// The leader key: a plain member name bound to the holder's lease/TTL.
public struct Leader: Sendable, Equatable {
    public var name: String
    public var version: String?
    public var session: String?
    public init(name: String, version: String? = nil, session: String? = nil) {
        self.name = name; self.version = version; self.session = session
    }
}

/// `status` key: `{"optime": int, "slots": {name: lsn}, "retain_slots": [names]}` (a bare int in
/// legacy clusters), plus staz's `staz_timeline` (Patroni ignores keys it does not know).
public struct ClusterStatus: Sendable, Equatable {
    public var optime: Int64?
    public var slots: [(String, Int64)]
    public var retainSlots: [String]
    /// The newest timeline a member of this cluster promoted to, written before each promotion
    /// (`PromotionTimeline`): `history` is written only after one, and a member cut off in between
    /// would leave its timeline number free for a second, sibling promotion.
    public var stazTimeline: Int64?

    public init(optime: Int64? = nil, slots: [(String, Int64)] = [], retainSlots: [String] = [], stazTimeline: Int64? = nil) {
        self.optime = optime; self.slots = slots; self.retainSlots = retainSlots; self.stazTimeline = stazTimeline
    }

    public static let empty = ClusterStatus()

    public static func parse(_ value: String?) -> ClusterStatus {
        guard let value, let v = try? JSONValue.parse(value) else {
            if let value, let i = Int64(value.trimmingCharacters(in: .whitespaces)) { return ClusterStatus(optime: i) }
            return .empty
        }
        if let i = v.intValue, v.objectValue == nil { return ClusterStatus(optime: i) }
        guard let o = v.objectValue else { return .empty }
        let slots = (o["slots"]?.objectValue?.pairs ?? []).compactMap { k, v in v.intValue.map { (k, $0) } }
        let retain = (o["retain_slots"]?.arrayValue ?? []).compactMap(\.stringValue)
        return ClusterStatus(optime: o["optime"]?.intValue, slots: slots, retainSlots: retain,
                             stazTimeline: o["staz_timeline"]?.intValue)
    }

    public var json: JSONValue {
        var o = JSONObject()
        if let optime { o["optime"] = .int(optime) }
        o["slots"] = .object(JSONObject(slots.map { ($0.0, .int($0.1)) }))
        o["retain_slots"] = .array(retainSlots.map { .string($0) })
        if let stazTimeline { o["staz_timeline"] = .int(stazTimeline) }
        return .object(o)
    }

    public static func == (a: ClusterStatus, b: ClusterStatus) -> Bool {
        a.optime == b.optime && a.retainSlots == b.retainSlots && a.stazTimeline == b.stazTimeline
            && a.slots.map(\.0) == b.slots.map(\.0) && a.slots.map(\.1) == b.slots.map(\.1)
    }
}

/// `sync` key: `{"leader": name, "sync_standby": "a,b" | null, "quorum": int}`.
public struct SyncState: Sendable, Equatable {
    public var leader: String?
    public var syncStandbys: [String]
    public var quorum: Int
    public var version: String?

    public init(leader: String? = nil, syncStandbys: [String] = [], quorum: Int = 0, version: String? = nil) {
        self.leader = leader; self.syncStandbys = syncStandbys; self.quorum = quorum; self.version = version
    }

    public static func parse(_ value: String?, version: String?) -> SyncState {
        guard let value, let o = (try? JSONValue.parse(value))?.objectValue else { return SyncState(version: version) }
        let standbys = (o["sync_standby"]?.stringValue ?? "").split(separator: ",").map { String($0) }.filter { !$0.isEmpty }
        return SyncState(leader: o["leader"]?.stringValue, syncStandbys: standbys,
                         quorum: Int(o["quorum"]?.intValue ?? 0), version: version)
    }

    public var json: JSONValue {
        .object(JSONObject([
            ("leader", leader.map { .string($0) } ?? .null),
            ("sync_standby", syncStandbys.isEmpty ? .null : .string(syncStandbys.joined(separator: ","))),
            ("quorum", .int(Int64(quorum))),
        ]))
    }

    /// Case-insensitive membership, as PostgreSQL treats standby names.
    public func contains(_ name: String) -> Bool {
        syncStandbys.contains { $0.lowercased() == name.lowercased() }
    }
}

/// `failover` key: `{"leader": old, "member": candidate, "scheduled_at": iso}`; legacy
/// `leader:candidate` text accepted. `{}` means "no request".
public struct FailoverRequest: Sendable, Equatable {
    public var leader: String?
    public var candidate: String?
    public var scheduledAt: String?
    public var version: String?

    public init(leader: String? = nil, candidate: String? = nil, scheduledAt: String? = nil, version: String? = nil) {
        self.leader = leader; self.candidate = candidate; self.scheduledAt = scheduledAt; self.version = version
    }

    public static func parse(_ value: String?, version: String?) -> FailoverRequest? {
        guard let value, !value.isEmpty else { return nil }
        if let o = (try? JSONValue.parse(value))?.objectValue {
            let r = FailoverRequest(leader: o["leader"]?.stringValue, candidate: o["member"]?.stringValue,
                                    scheduledAt: o["scheduled_at"]?.stringValue, version: version)
            return r.isEmpty ? nil : r
        }
        let parts = value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { return nil }
        let r = FailoverRequest(leader: parts[0].isEmpty ? nil : parts[0], candidate: parts[1].isEmpty ? nil : parts[1], version: version)
        return r.isEmpty ? nil : r
    }

    public var isEmpty: Bool { leader == nil && candidate == nil }

    public var json: JSONValue {
        var o = JSONObject()
        if let leader { o["leader"] = .string(leader) }
        if let candidate { o["member"] = .string(candidate) }
        if let scheduledAt { o["scheduled_at"] = .string(scheduledAt) }
        return .object(o)
    }
}

/// One `history` line: `[timeline, switch_lsn_int, reason, iso_timestamp, new_leader]`.
public struct TimelineHistoryEntry: Sendable, Equatable {
    public var timeline: Int64
    public var lsn: Int64
    public var reason: String
    public var timestamp: String?
    public var newLeader: String?

    public init(timeline: Int64, lsn: Int64, reason: String, timestamp: String? = nil, newLeader: String? = nil) {
        self.timeline = timeline; self.lsn = lsn; self.reason = reason; self.timestamp = timestamp; self.newLeader = newLeader
    }

    public static func parseList(_ value: String?) -> [TimelineHistoryEntry]? {
        guard let value, let arr = (try? JSONValue.parse(value))?.arrayValue else { return nil }
        return arr.compactMap { line in
            guard let l = line.arrayValue, l.count >= 3, let tl = l[0].intValue else { return nil }
            return TimelineHistoryEntry(timeline: tl, lsn: l[1].intValue ?? 0, reason: l[2].stringValue ?? "",
                                        timestamp: l.count > 3 ? l[3].stringValue : nil,
                                        newLeader: l.count > 4 ? l[4].stringValue : nil)
        }
    }

    public var json: JSONValue {
        var a: [JSONValue] = [.int(timeline), .int(lsn), .string(reason)]
        if let timestamp { a.append(.string(timestamp)) }
        if let newLeader { a.append(.string(newLeader)) }
        return .array(a)
    }
}

/// The dynamic configuration record (`config` key) with its DCS version for compare-and-set.
public struct ClusterConfigRecord: Sendable, Equatable {
    public var data: JSONObject
    public var version: String?
    public init(data: JSONObject, version: String? = nil) { self.data = data; self.version = version }

    /// Unparsable JSON gives an empty config (Patroni's `ClusterConfig` with modify_version 0).
    public static func parse(_ value: String?, version: String?) -> ClusterConfigRecord? {
        guard let value else { return nil }
        return ClusterConfigRecord(data: (try? JSONValue.parse(value))?.objectValue ?? JSONObject(), version: version)
    }
}

/// Everything staz reads from the DCS for one scope in one go.
public struct ClusterView: Sendable, Equatable {
    /// `initialize` value: nil when the key is absent, "" while bootstrap is in progress.
    public var initialize: String?
    public var config: ClusterConfigRecord?
    public var leader: Leader?
    public var members: [Member]
    public var failover: FailoverRequest?
    public var history: [TimelineHistoryEntry]?
    public var status: ClusterStatus
    public var sync: SyncState
    public var failsafe: JSONObject?
    /// staz extension: the raw `mesh` key (the zone's mesh integrity ledger), nil when absent.
    public var mesh: String?
    /// Values that could not be used, by key (`DCSProblems`).
    public var problems: [String] = []

    public init(initialize: String? = nil, config: ClusterConfigRecord? = nil, leader: Leader? = nil,
                members: [Member] = [], failover: FailoverRequest? = nil, history: [TimelineHistoryEntry]? = nil,
                status: ClusterStatus = .empty, sync: SyncState = SyncState(), failsafe: JSONObject? = nil) {
        self.initialize = initialize; self.config = config; self.leader = leader; self.members = members
        self.failover = failover; self.history = history; self.status = status; self.sync = sync; self.failsafe = failsafe
    }

    public static let empty = ClusterView()

    public func member(named name: String) -> Member? { members.first { $0.name == name } }
    public var leaderMember: Member? { leader.flatMap { member(named: $0.name) } }
    public var isLocked: Bool { leader != nil }

    /// Patroni's `Cluster.timeline`: last history line's timeline + 1; `[]` is timeline 1; absent 0.
    public var timeline: Int64 {
        guard let history else { return 0 }
        guard let last = history.last else { return 1 }
        return last.timeline + 1
    }

    /// Builds a view from raw key → (value, version, session) triples relative to the cluster prefix.
    public static func fromKeys(_ keys: [String: DCSRawValue]) -> ClusterView {
        var view = ClusterView()
        view.initialize = keys[DCSKey.initialize]?.value
        if let c = keys[DCSKey.config] { view.config = ClusterConfigRecord.parse(c.value, version: c.version) }
        if let l = keys[DCSKey.leader], !l.value.isEmpty {
            view.leader = Leader(name: l.value, version: l.version, session: l.session)
        }
        view.members = keys.filter { $0.key.hasPrefix(DCSKey.members) && $0.key.count > DCSKey.members.count }
            .map { k, v in Member.parse(name: String(k.dropFirst(DCSKey.members.count)), value: v.value, version: v.version, session: v.session) }
            .sorted { $0.name < $1.name }
        if let f = keys[DCSKey.failover] { view.failover = FailoverRequest.parse(f.value, version: f.version) }
        view.history = TimelineHistoryEntry.parseList(keys[DCSKey.history]?.value)
        if let s = keys[DCSKey.status] {
            view.status = ClusterStatus.parse(s.value)
        } else if let o = keys[DCSKey.optimeLeader], let i = Int64(o.value) {
            view.status = ClusterStatus(optime: i)
        }
        if let s = keys[DCSKey.sync] { view.sync = SyncState.parse(s.value, version: s.version) }
        view.failsafe = keys[DCSKey.failsafe].flatMap { (try? JSONValue.parse($0.value))?.objectValue }
        view.mesh = keys[DCSKey.mesh]?.value
        view.problems = DCSProblems.find(in: keys)
        return view
    }
}

/// A raw DCS value with its version (etcd v3 mod_revision / v2 modifiedIndex) and lease.
public struct DCSRawValue: Sendable, Equatable {
    public var value: String
    public var version: String?
    public var session: String?
    public init(value: String, version: String? = nil, session: String? = nil) {
        self.value = value; self.version = version; self.session = session
    }
}
