import StazCore

/// What this zone's mesh integrity check has established, kept in the DCS (`<scope>/mesh`) so a
/// new leader of this zone continues where the old one stopped. Written only by the zone leader.
public struct MeshLedger: Sendable, Equatable {
    /// Per provider zone (node name): the provider timeline our subscriptions were last checked
    /// against. A provider on a newer timeline had a promotion we have not checked yet.
    public var checkedTimelines: [String: Int64] = [:]
    /// Per provider zone: its leader when the timeline was checked. A different leader on the
    /// same timeline is a promotion whose member key has not caught up yet.
    public var checkedLeaders: [String: String] = [:]
    /// Subscriptions (`database/name`) staz disabled itself (provider zone between primaries, or while an origin
    /// is moved back). Only these are re-enabled by staz: an operator's disable is left alone.
    public var pausedSubscriptions: [String] = []
    /// When a subscription was paused because it lost its provider (seconds since the epoch):
    /// it is resumed without a promotion only once the provider's lease would have expired.
    public var pausedAt: [String: Double] = [:]
    /// This zone's own timeline at the last check: a newer one means we were promoted and the
    /// subscriber-side gap check is due.
    public var ownTimeline: Int64?
    public var divergence: [DivergenceReport] = []
    /// Per provider zone: the outcome of the last promotion check.
    public var lastFailover: [String: FailoverCheck] = [:]
    /// Per subscription slot (on its provider): the origin position this zone's standbys have
    /// applied. The provider zone advances its held copy of the slot this far (`HeldSlots`).
    public var standbyConfirmed: [String: LSN] = [:]
    /// The slots (on their providers) of this zone's subscriptions, whether or not anything was
    /// applied through them yet: a provider must know which of its slots serve this zone to end
    /// their walsenders when this zone loses its leader, before `standbyConfirmed` names them.
    public var subscriptionSlots: [String] = []
    /// Subscriptions paused after our own promotion until their provider replaces a slot that
    /// is ahead of our origin by its held copy (`database/name` → when, seconds since the epoch).
    public var awaitingRewind: [String: Double] = [:]
    /// Enabled subscriptions whose apply worker is down while their provider's primary answers
    /// (`database/name` → since when, seconds since the epoch; `stuckWorkerRestartAfter`).
    public var downSince: [String: Double] = [:]
    /// Provider side of `GapVerification`: this zone's answers to peers' possible gaps, by
    /// range key.
    public var verifiedRanges: [String: RangeVerification] = [:]

    public init() {}

    /// Every slot a provider may find serving this zone (`HeldSlots.staleWalsenders`).
    public var slotsOnProviders: Set<String> { Set(subscriptionSlots).union(standbyConfirmed.keys) }

    /// Reports are kept for the operator; the oldest go when there are more than this.
    public static let maximumReports = 100

    public mutating func record(_ report: DivergenceReport) {
        guard !divergence.contains(where: { $0.sameEvent(as: report) }) else { return }
        divergence.append(report)
        if divergence.count > Self.maximumReports { divergence.removeFirst(divergence.count - Self.maximumReports) }
    }

    // MARK: JSON (the DCS value)

    public var json: JSONValue {
        var o = JSONObject()
        o["checked_timelines"] = .object(JSONObject(checkedTimelines.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.int($0.value)) }))
        o["checked_leaders"] = .object(JSONObject(checkedLeaders.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }))
        o["paused_subscriptions"] = .array(pausedSubscriptions.sorted().map { .string($0) })
        o["paused_at"] = .object(JSONObject(pausedAt.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.double($0.value)) }))
        if let ownTimeline { o["own_timeline"] = .int(ownTimeline) }
        o["divergence"] = .array(divergence.map(\.json))
        o["last_failover"] = .object(JSONObject(lastFailover.sorted { $0.key < $1.key }.map { ($0.key, $0.value.json) }))
        if !standbyConfirmed.isEmpty {
            o["standby_confirmed"] = .object(JSONObject(standbyConfirmed.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value.description)) }))
        }
        if !subscriptionSlots.isEmpty {
            o["subscription_slots"] = .array(subscriptionSlots.sorted().map { .string($0) })
        }
        if !awaitingRewind.isEmpty {
            o["awaiting_rewind"] = .object(JSONObject(awaitingRewind.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.double($0.value)) }))
        }
        if !downSince.isEmpty {
            o["down_since"] = .object(JSONObject(downSince.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.double($0.value)) }))
        }
        if !verifiedRanges.isEmpty {
            o["verified_ranges"] = .object(JSONObject(verifiedRanges.sorted { $0.key < $1.key }.map { ($0.key, $0.value.json) }))
        }
        return .object(o)
    }

    /// Lenient: a missing or malformed field is left at its default (the check then re-runs,
    /// which is safe), so odd DCS contents never stop reconciliation.
    public static func parse(_ text: String?) -> MeshLedger {
        var ledger = MeshLedger()
        guard let text, let o = (try? JSONValue.parse(text))?.objectValue else { return ledger }
        for (zone, value) in o["checked_timelines"]?.objectValue?.pairs ?? [] {
            if let timeline = value.intValue { ledger.checkedTimelines[zone] = timeline }
        }
        for (zone, value) in o["checked_leaders"]?.objectValue?.pairs ?? [] {
            if let leader = value.stringValue { ledger.checkedLeaders[zone] = leader }
        }
        ledger.pausedSubscriptions = (o["paused_subscriptions"]?.arrayValue ?? []).compactMap(\.stringValue)
        for (key, value) in o["paused_at"]?.objectValue?.pairs ?? [] {
            if let at = value.doubleValue ?? value.intValue.map(Double.init) { ledger.pausedAt[key] = at }
        }
        ledger.ownTimeline = o["own_timeline"]?.intValue
        ledger.divergence = (o["divergence"]?.arrayValue ?? []).compactMap { $0.objectValue.flatMap(DivergenceReport.init(json:)) }
        for (zone, value) in o["last_failover"]?.objectValue?.pairs ?? [] {
            if let check = value.objectValue.flatMap(FailoverCheck.init(json:)) { ledger.lastFailover[zone] = check }
        }
        for (slot, value) in o["standby_confirmed"]?.objectValue?.pairs ?? [] {
            if let lsn = value.stringValue.flatMap(LSN.init(text:)) { ledger.standbyConfirmed[slot] = lsn }
        }
        ledger.subscriptionSlots = (o["subscription_slots"]?.arrayValue ?? []).compactMap(\.stringValue).sorted()
        for (key, value) in o["awaiting_rewind"]?.objectValue?.pairs ?? [] {
            if let at = value.doubleValue ?? value.intValue.map(Double.init) { ledger.awaitingRewind[key] = at }
        }
        for (key, value) in o["down_since"]?.objectValue?.pairs ?? [] {
            if let at = value.doubleValue ?? value.intValue.map(Double.init) { ledger.downSince[key] = at }
        }
        for (key, value) in o["verified_ranges"]?.objectValue?.pairs ?? [] {
            if let answer = RangeVerification(json: value) { ledger.verifiedRanges[key] = answer }
        }
        return ledger
    }
}

/// A range of a zone's WAL whose changes exist on one side only, found after a promotion.
public struct DivergenceReport: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The subscriber applied changes of the provider's lost timeline (the new primary never
        /// had them): they exist only on the subscriber. staz moved the origin back so that no
        /// new commit of the provider is skipped; the extra rows need repair (e.g. ACE table-diff).
        case subscriberAhead = "subscriber_ahead"
        /// After this zone's promotion, the provider's slot had confirmed a position beyond
        /// what our new primary applied. If that range holds commits, our old primary applied
        /// them and the provider will not send them again. It may also hold only WAL without
        /// transactions (the apply worker confirms keepalive positions too), so it is a
        /// *possible* gap: check the range on the provider (e.g. with pg_walinspect).
        case possibleSubscriberGap = "possible_subscriber_gap"
    }

    public var kind: Kind
    public var database: String
    public var subscription: String
    /// Zone (node) whose WAL range is concerned, and the zone that applies it.
    public var provider: String
    public var subscriber: String
    /// The range in the provider's WAL: (from, to].
    public var fromLSN: LSN
    public var toLSN: LSN
    /// Provider timeline the range was checked against (subscriberAhead) or our new timeline.
    public var timeline: Int64
    public var detectedAt: String
    /// What staz did about it.
    public var action: String
    /// For a possible gap: what reading the range on the provider found (`GapVerification`).
    public var verification: Verification?
    /// When the provider was asked (seconds since the epoch).
    public var requestedAt: Double?

    public enum Verification: Sendable, Equatable {
        case pending
        /// The commits in the range, by transaction id on the provider (never empty: a range
        /// without commits is no gap and its report is dropped).
        case verified([String])
        case unverifiable(String)
    }

    public init(kind: Kind, database: String, subscription: String, provider: String, subscriber: String,
                fromLSN: LSN, toLSN: LSN, timeline: Int64, detectedAt: String, action: String,
                verification: Verification? = nil, requestedAt: Double? = nil) {
        self.kind = kind; self.database = database; self.subscription = subscription; self.provider = provider
        self.subscriber = subscriber; self.fromLSN = fromLSN; self.toLSN = toLSN; self.timeline = timeline
        self.detectedAt = detectedAt; self.action = action; self.verification = verification; self.requestedAt = requestedAt
    }

    func sameEvent(as other: DivergenceReport) -> Bool {
        kind == other.kind && database == other.database && subscription == other.subscription && timeline == other.timeline
    }

    public var json: JSONValue {
        .object(JSONObject([
            ("kind", .string(kind.rawValue)), ("database", .string(database)), ("subscription", .string(subscription)),
            ("provider", .string(provider)), ("subscriber", .string(subscriber)),
            ("from_lsn", .string(fromLSN.description)), ("to_lsn", .string(toLSN.description)),
            ("bytes", .int(Int64(toLSN.bytesAhead(of: fromLSN)))),
            ("timeline", .int(timeline)), ("detected_at", .string(detectedAt)), ("action", .string(action)),
        ] + verificationFields))
    }

    private var verificationFields: [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = []
        switch verification {
        case nil: return []
        case .pending: fields.append(("verification", "pending"))
        case .verified(let xids):
            fields += [("verification", "verified"), ("commits", .int(Int64(xids.count))), ("xids", .array(xids.map { .string($0) }))]
        case .unverifiable(let reason): fields += [("verification", "unverifiable"), ("verification_error", .string(reason))]
        }
        if let requestedAt { fields.append(("requested_at", .double(requestedAt))) }
        return fields
    }

    init?(json o: JSONObject) {
        guard let kind = o["kind"]?.stringValue.flatMap(Kind.init(rawValue:)),
              let from = o["from_lsn"]?.stringValue.flatMap(LSN.init(text:)),
              let to = o["to_lsn"]?.stringValue.flatMap(LSN.init(text:)) else { return nil }
        self.init(kind: kind, database: o["database"]?.stringValue ?? "", subscription: o["subscription"]?.stringValue ?? "",
                  provider: o["provider"]?.stringValue ?? "", subscriber: o["subscriber"]?.stringValue ?? "",
                  fromLSN: from, toLSN: to, timeline: o["timeline"]?.intValue ?? 0,
                  detectedAt: o["detected_at"]?.stringValue ?? "", action: o["action"]?.stringValue ?? "")
        switch o["verification"]?.stringValue {
        case "pending": verification = .pending
        case "verified": verification = .verified((o["xids"]?.arrayValue ?? []).compactMap(\.stringValue))
        case "unverifiable": verification = .unverifiable(o["verification_error"]?.stringValue ?? "")
        default: verification = nil
        }
        requestedAt = o["requested_at"].flatMap { $0.doubleValue ?? $0.intValue.map(Double.init) }
    }
}

/// The outcome of checking one provider zone's promotion (or our own).
public struct FailoverCheck: Sendable, Equatable {
    public var timeline: Int64
    public var checkedAt: String
    /// `clean` or `divergence recorded`.
    public var outcome: String
    public init(timeline: Int64, checkedAt: String, outcome: String) {
        self.timeline = timeline; self.checkedAt = checkedAt; self.outcome = outcome
    }

    public var json: JSONValue {
        .object(JSONObject([("timeline", .int(timeline)), ("checked_at", .string(checkedAt)), ("outcome", .string(outcome))]))
    }

    init?(json o: JSONObject) {
        guard let timeline = o["timeline"]?.intValue else { return nil }
        self.init(timeline: timeline, checkedAt: o["checked_at"]?.stringValue ?? "", outcome: o["outcome"]?.stringValue ?? "")
    }
}
