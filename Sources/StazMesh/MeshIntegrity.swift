import StazCore

// The post-failover integrity check (issue: "never silently lose or skip a change").
//
// A walsender starts a logical stream at max(requested LSN, slot's confirmed_flush_lsn), and the
// subscriber requests its replication origin's `remote_lsn`. After a promotion in a provider
// zone, the new primary's WAL forks from the old one at the timeline switch point S. If a
// subscriber had applied changes of the old timeline beyond S (they reached it before the old
// primary died, never reached the standby), its origin is ahead of S, and the new primary's
// first commits in (S, origin] would be skipped. So, for every subscription whose provider zone
// was promoted since we last looked:
//   1. disable it (also stops an apply worker that reconnected on its own),
//   2. origin > S → move the origin back to S and record a divergence report (the range
//      (S, origin] of the old timeline exists only here and needs repair),
//   3. enable it again, which restarts the apply worker at once (pglogical would otherwise wait
//      for its manager's next round).
// While the provider zone has no leader, or its leader changed but its timeline is not known yet,
// the subscription stays paused so the apply worker cannot reconnect to an unchecked primary.
//
// The subscriber side of a failover (our own zone promoted): our old primary may have confirmed
// changes to a provider that our new primary never received, and the provider will not resend
// them while its slot's confirmed_flush_lsn is ahead of our origin. The provider keeps a held
// copy of the slot that only our standbys' positions move (`HeldSlots`): if that
// copy is not ahead of our origin, the subscription waits, paused, until the provider has put
// the copy in the slot's place, and then resumes without a gap. Otherwise (no copy) the range
// is recorded as a possible gap, verified against the provider's WAL (`GapVerification`):
// the apply worker also confirms positions of WAL without transactions, so it may hold no
// commit at all.

/// What the subscriber zone's leader knows about one provider zone, from the shared DCS.
public struct ProviderZoneView: Sendable, Equatable {
    public var node: String
    /// Leader of the provider zone, nil while its leader key is missing.
    public var leader: String?
    /// The provider leader's timeline (its member key), nil when unknown.
    public var timeline: Int64?
    /// The provider zone's `history` key: where each timeline ended.
    public var history: [TimelineHistoryEntry]
    /// The provider zone's published logical slot positions (`status` key `slots`): the last
    /// confirmed_flush_lsn of each slot as its leader saw it.
    public var publishedSlots: [String: LSN]
    /// The provider zone's leader lease (its dynamic `ttl`): how long a dead primary can keep
    /// its leader key before a replica is promoted.
    public var ttl: Double
    /// The leader answered its REST API as a running primary just now (nil: not asked).
    public var leaderAnswers: Bool?

    public init(node: String, leader: String?, timeline: Int64?, history: [TimelineHistoryEntry] = [],
                publishedSlots: [String: LSN] = [:], ttl: Double = 30, leaderAnswers: Bool? = nil) {
        self.node = node; self.leader = leader; self.timeline = timeline; self.history = history
        self.publishedSlots = publishedSlots; self.ttl = ttl; self.leaderAnswers = leaderAnswers
    }

    /// The LSN where `timeline` ended and `timeline + 1` began on the provider.
    func switchPoint(endingTimeline timeline: Int64) -> LSN? {
        history.first { $0.timeline == timeline }.map { LSN(UInt64(max(0, $0.lsn))) }
    }
}

/// One of this zone's subscriptions, as observed on our primary.
public struct SubscriptionProgress: Sendable, Equatable {
    public var database: String
    public var name: String
    public var providerNode: String
    public var slotName: String
    public var originName: String?
    public var originLSN: LSN?
    /// Our own WAL position of the origin's last applied commit.
    public var originLocalLSN: LSN?
    public var enabled: Bool
    /// `replicating`, `down`, ... (show_subscription_status); `down` = its apply worker lost
    /// the provider.
    public var status: String
    /// Subscription names repeat across databases; the ledger keys them as `database/name`.
    public var key: String { database + "/" + name }
    public init(database: String, name: String, providerNode: String, slotName: String, originName: String?,
                originLSN: LSN?, enabled: Bool, status: String = "replicating", originLocalLSN: LSN? = nil) {
        self.database = database; self.name = name; self.providerNode = providerNode; self.slotName = slotName
        self.originName = originName; self.originLSN = originLSN; self.enabled = enabled; self.status = status
        self.originLocalLSN = originLocalLSN
    }
}

public enum IntegrityAction: Sendable, Equatable {
    case disableSubscription(database: String, name: String)
    /// `pg_replication_origin_advance(origin, lsn)` while the subscription is disabled.
    case moveOrigin(database: String, subscription: String, origin: String, to: LSN)
    case enableSubscription(database: String, name: String)
    /// While the subscription is disabled: end whatever process still holds its replication
    /// origin. Under load Spock's and pglogical's managers can lose track of a running apply
    /// worker (its slot re-used); it keeps the origin, and every worker started for the
    /// subscription then fails with "replication origin with ID N is already active for PID P".
    case releaseOrigin(database: String, subscription: String, origin: String)

    public var summary: String {
        switch self {
        case .disableSubscription(let d, let n): return "\(d): pause subscription \(n)"
        case .moveOrigin(let d, let s, let o, let lsn): return "\(d): move origin \(o) of \(s) back to \(lsn)"
        case .enableSubscription(let d, let n): return "\(d): resume subscription \(n)"
        case .releaseOrigin(let d, let s, let o): return "\(d): origin \(o) of \(s) released"
        }
    }
}

public struct IntegrityInput: Sendable {
    public var ledger: MeshLedger
    public var ownNode: String
    /// Our primary's timeline now.
    public var ownTimeline: Int64?
    public var subscriptions: [SubscriptionProgress]
    /// Keyed by provider node name.
    public var providers: [String: ProviderZoneView]
    /// ISO 8601 time for reports.
    public var now: String
    /// Seconds since the epoch (pause bookkeeping).
    public var clock: Double

    public init(ledger: MeshLedger, ownNode: String, ownTimeline: Int64?, subscriptions: [SubscriptionProgress],
                providers: [String: ProviderZoneView], now: String, clock: Double = 0) {
        self.ledger = ledger; self.ownNode = ownNode; self.ownTimeline = ownTimeline
        self.subscriptions = subscriptions; self.providers = providers; self.now = now; self.clock = clock
    }
}

public struct IntegrityPlan: Sendable, Equatable {
    /// In order; the applier stops at the first failure (the ledger is then not saved, and the
    /// next round repeats the check, which is idempotent).
    public var actions: [IntegrityAction] = []
    /// The ledger to store once every action succeeded (reports are stored before acting: see
    /// `ledgerBeforeActions`).
    public var ledger: MeshLedger
    /// The ledger with new divergence reports, to store BEFORE the actions run, so a report is
    /// never lost if we die between moving an origin and saving.
    public var ledgerBeforeActions: MeshLedger
    /// Human-readable lines for the log and GET /mesh.
    public var notes: [String] = []
}

/// How long a subscription waits, after our promotion, for its provider to replace a slot by its
/// held copy before the range is reported as a possible gap and the subscription resumes.
public let heldSlotWait: Double = 60

/// Seconds an enabled subscription may stay down while its provider's primary answers before
/// its apply worker is restarted (disable, enable). pglogical restarts a crashed apply worker
/// only at its manager's next round, which can be minutes away; Spock after its restart delay.
public let stuckWorkerRestartAfter: Double = 10

/// Restarts of stuck apply workers, a whole database at a time: every running subscription of
/// the database is disabled, then every origin is taken free (ending a worker the manager lost),
/// then all are enabled. Restarting the stuck one alone ping-ponged for minutes under load:
/// a lost worker, ended, clears the registry slot it once owned (pglogical and Spock clear it
/// on exit without checking the slot's generation), and the manager had given that slot to the
/// other subscription's worker, which then ran unlisted in turn and held its origin. With the
/// whole database disabled the manager starts nothing until every lost worker is gone.
/// `leaving`: subscriptions this plan pauses or keeps paused.
func restartingDatabases(of stuck: [SubscriptionProgress], among all: [SubscriptionProgress],
                         leaving: Set<String>) -> [IntegrityAction] {
    let stuckKeys = Set(stuck.map(\.key))
    var actions: [IntegrityAction] = []
    for database in Set(stuck.map(\.database)).sorted() {
        let group = all.filter {
            $0.database == database && (stuckKeys.contains($0.key) || ($0.enabled && !leaving.contains($0.key)))
        }
        actions += group.map { .disableSubscription(database: database, name: $0.name) }
        actions += group.map { .releaseOrigin(database: database, subscription: $0.name, origin: $0.originName ?? $0.slotName) }
        actions += group.map { .enableSubscription(database: database, name: $0.name) }
    }
    return actions
}

public func planIntegrity(_ input: IntegrityInput) -> IntegrityPlan {
    var ledger = input.ledger
    var reports = input.ledger
    var actions: [IntegrityAction] = []
    var notes: [String] = []
    var paused = Set(ledger.pausedSubscriptions)
    var disabling = Set<String>()
    var stuck: [SubscriptionProgress] = []

    // Subscriber side: our own promotion.
    func recordGap(_ sub: SubscriptionProgress, from origin: LSN, to published: LSN, timeline: Int64) {
        let report = DivergenceReport(
            kind: .possibleSubscriberGap, database: sub.database, subscription: sub.name, provider: sub.providerNode,
            subscriber: input.ownNode, fromLSN: origin, toLSN: published, timeline: timeline, detectedAt: input.now,
            action: "\(sub.providerNode) confirmed this range to our old primary and will not resend it: asking \(sub.providerNode) whether it holds commits",
            verification: .pending, requestedAt: input.clock)
        ledger.record(report); reports.record(report)
        notes.append("after our promotion \(sub.name) is behind what \(sub.providerNode) confirmed: possible gap \(origin)..\(published), asking \(sub.providerNode) to read it")
    }
    if let own = input.ownTimeline {
        if let checked = ledger.ownTimeline, own > checked {
            var gaps = 0, awaiting = 0
            for sub in input.subscriptions {
                let view = input.providers[sub.providerNode]
                guard let published = view?.publishedSlots[sub.slotName],
                      let origin = sub.originLSN, published > origin else { continue }
                if let held = view?.publishedSlots[HeldSlotName.forSlot(sub.slotName)], held <= origin {
                    // The provider holds a copy our standbys confirmed: it replaces the slot once
                    // no walsender uses it, so keep the apply worker away until then.
                    if sub.enabled {
                        actions.append(.disableSubscription(database: sub.database, name: sub.name))
                        disabling.insert(sub.key)
                        paused.insert(sub.key)
                    }
                    ledger.awaitingRewind[sub.key] = input.clock
                    notes.append("after our promotion \(sub.name) is behind what \(sub.providerNode) confirmed (\(origin) < \(published)): paused until \(sub.providerNode) replaces the slot by its held copy at \(held)")
                    awaiting += 1
                    continue
                }
                recordGap(sub, from: origin, to: published, timeline: own)
                gaps += 1
            }
            ledger.lastFailover[input.ownNode] = FailoverCheck(
                timeline: own, checkedAt: input.now,
                outcome: gaps > 0 ? FailoverCheck.verifyingGap : awaiting > 0 ? "awaiting held slots" : "clean")
        }
        ledger.ownTimeline = own
    }
    // Subscriptions waiting for their provider to replace a slot by its held copy.
    let subscriptionsByKey = Dictionary(input.subscriptions.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
    for (key, since) in ledger.awaitingRewind.sorted(by: { $0.key < $1.key }) {
        guard let sub = subscriptionsByKey[key] else { ledger.awaitingRewind[key] = nil; continue }
        let published = input.providers[sub.providerNode]?.publishedSlots[sub.slotName]
        let rewound = published.map { p in sub.originLSN.map { p <= $0 } ?? false } ?? false
        let expired = input.clock - since > heldSlotWait
        guard rewound || expired else { continue }
        ledger.awaitingRewind[key] = nil
        if rewound {
            notes.append("\(sub.providerNode) replaced \(sub.slotName) by its held copy: \(sub.name) resumes at its origin")
        } else if let origin = sub.originLSN, let published {
            recordGap(sub, from: origin, to: published, timeline: input.ownTimeline ?? 0)
        }
        if var check = ledger.lastFailover[input.ownNode], ledger.awaitingRewind.isEmpty, check.outcome == "awaiting held slots" {
            check.outcome = rewound ? "clean" : FailoverCheck.verifyingGap
            ledger.lastFailover[input.ownNode] = check
        }
        if paused.contains(key) {
            if !sub.enabled { actions.append(.enableSubscription(database: sub.database, name: sub.name)) }
            paused.remove(key)
        }
    }
    let awaitingRewind = Set(ledger.awaitingRewind.keys)

    // Provider side, grouped by provider zone.
    let byProvider = Dictionary(grouping: input.subscriptions, by: \.providerNode)
    for provider in byProvider.keys.sorted() {
        let subs = byProvider[provider] ?? []
        guard let view = input.providers[provider], view.leader != nil, let timeline = view.timeline else {
            // Between primaries (or unknown): keep the apply workers away from whatever comes next.
            for sub in subs where sub.enabled {
                actions.append(.disableSubscription(database: sub.database, name: sub.name))
                disabling.insert(sub.key)
                paused.insert(sub.key)
            }
            if !subs.isEmpty { notes.append("zone \(provider) has no leader: its subscriptions are paused") }
            continue
        }
        let checked = ledger.checkedTimelines[provider]
        let leaderChanged = ledger.checkedLeaders[provider].map { $0 != view.leader } ?? false
        if let checked, leaderChanged, timeline == checked {
            // A new leader is always a promotion, but its member key may still show the old
            // timeline for a loop: an unchecked primary must not feed our apply workers.
            for sub in subs where sub.enabled {
                actions.append(.disableSubscription(database: sub.database, name: sub.name))
                disabling.insert(sub.key)
                paused.insert(sub.key)
            }
            notes.append("zone \(provider) has a new leader \(view.leader ?? "") still reporting timeline \(timeline): subscriptions paused until it shows its new timeline")
            continue
        }
        if let checked, timeline > checked {
            var diverged = 0
            // The earliest switch point since the checked timeline bounds what the new primary has.
            let switches = (checked..<timeline).compactMap { view.switchPoint(endingTimeline: $0) }
            guard switches.count == Int(timeline - checked), let switchPoint = switches.min() else {
                for sub in subs where sub.enabled {
                    actions.append(.disableSubscription(database: sub.database, name: sub.name))
                disabling.insert(sub.key)
                    paused.insert(sub.key)
                }
                notes.append("zone \(provider) is on timeline \(timeline) but its history lacks a switch point since \(checked): subscriptions paused")
                continue
            }
            for sub in subs {
                // Ours to resume: running now, or paused by staz. An operator's disable stays, and
                // so does a pause waiting for a held slot (above).
                let resume = (sub.enabled || paused.contains(sub.key)) && !awaitingRewind.contains(sub.key)
                if sub.enabled {
                    actions.append(.disableSubscription(database: sub.database, name: sub.name))
                disabling.insert(sub.key)
                    paused.insert(sub.key)
                }
                if let origin = sub.originLSN, origin > switchPoint, let originName = sub.originName {
                    let report = DivergenceReport(
                        kind: .subscriberAhead, database: sub.database, subscription: sub.name, provider: provider,
                        subscriber: input.ownNode, fromLSN: switchPoint, toLSN: origin, timeline: timeline,
                        detectedAt: input.now,
                        action: "origin moved back to \(switchPoint); changes of \(provider) in this range exist only on \(input.ownNode)")
                    ledger.record(report); reports.record(report)
                    actions.append(.moveOrigin(database: sub.database, subscription: sub.name, origin: originName, to: switchPoint))
                    notes.append("\(sub.name): applied \(provider)'s lost timeline up to \(origin), past the switch point \(switchPoint): origin moved back, divergence recorded")
                    diverged += 1
                }
                if resume {
                    actions.append(.enableSubscription(database: sub.database, name: sub.name))
                    paused.remove(sub.key)
                }
            }
            ledger.checkedTimelines[provider] = timeline
            ledger.checkedLeaders[provider] = view.leader
            ledger.lastFailover[provider] = FailoverCheck(timeline: timeline, checkedAt: input.now,
                                                          outcome: diverged == 0 ? "clean" : "divergence recorded")
            notes.append("zone \(provider) promoted to timeline \(timeline) (switch point \(switchPoint)): \(diverged == 0 ? "no subscription ahead" : "\(diverged) subscription(s) ahead")")
        } else {
            // First sight (baseline) or unchanged: resume what we paused.
            if checked == nil || timeline < checked! {
                if let checked { notes.append("zone \(provider) went back from timeline \(checked) to \(timeline) (recreated?): new baseline") }
                ledger.checkedTimelines[provider] = timeline
            }
            ledger.checkedLeaders[provider] = view.leader
            for sub in subs where !awaitingRewind.contains(sub.key) {
                if sub.enabled && sub.status == "down" && view.leaderAnswers == true {
                    // Its provider's leader answers as a running primary right now: the worker
                    // restarted (DDL, an interface switch, a blip), no primary is dying. Should
                    // that primary die in the next seconds, the worker is still down at the
                    // next round, which comes long before a successor can be promoted (ttl).
                    // Down for long, it is restarted: a down worker is inside no transaction.
                    let since = ledger.downSince[sub.key] ?? input.clock
                    if input.clock - since >= stuckWorkerRestartAfter {
                        stuck.append(sub)
                        ledger.downSince[sub.key] = input.clock
                        notes.append("\(sub.name) down for \(Int(input.clock - since)) s while zone \(provider)'s primary answers: apply worker restarted")
                    } else {
                        ledger.downSince[sub.key] = since
                        notes.append("\(sub.name) is down while zone \(provider)'s primary answers: not paused")
                    }
                    continue
                }
                if sub.enabled && sub.status == "down" {
                    // Lost its provider: maybe that primary died and a replica is about to be
                    // promoted. Pause now, while the leader key still names the old primary, so
                    // the apply worker cannot reconnect to the new one before its timeline is
                    // checked (a reconnect at an origin past the switch point would make the
                    // slot skip the new primary's first commits for good).
                    actions.append(.disableSubscription(database: sub.database, name: sub.name))
                    disabling.insert(sub.key)
                    paused.insert(sub.key)
                    ledger.pausedAt[sub.key] = input.clock
                    notes.append("\(sub.name) lost zone \(provider): paused until its primary is confirmed")
                    continue
                }
                guard paused.contains(sub.key) else { continue }
                // Same leader, same timeline: a blip, not a failover, when that leader answers
                // as a running primary, or once its lease would have expired by now (a dead
                // primary's successor shows up before that).
                if view.leaderAnswers != true, let since = ledger.pausedAt[sub.key], input.clock - since < view.ttl + 5 { continue }
                if !sub.enabled { actions.append(.enableSubscription(database: sub.database, name: sub.name)) }
                paused.remove(sub.key)
            }
        }
    }
    // Zones we have no subscription from yet: their leader now is the baseline, so a
    // subscription created later names it (`MeshTopology.desired`) and is checked from there.
    for (provider, view) in input.providers where byProvider[provider] == nil {
        guard let leader = view.leader, let timeline = view.timeline else { continue }
        ledger.checkedLeaders[provider] = leader
        ledger.checkedTimelines[provider] = timeline
    }
    actions += restartingDatabases(of: stuck, among: input.subscriptions,
                                   leaving: disabling.union(paused).union(awaitingRewind))
    // Subscriptions that no longer exist are forgotten.
    let existing = Set(input.subscriptions.map(\.key))
    ledger.pausedSubscriptions = paused.filter(existing.contains).sorted()
    ledger.pausedAt = ledger.pausedAt.filter { ledger.pausedSubscriptions.contains($0.key) }
    let downNow = Set(input.subscriptions.filter { $0.enabled && $0.status == "down" }.map(\.key))
    ledger.downSince = ledger.downSince.filter { downNow.contains($0.key) }
    // Stored before acting: every subscription we are about to disable is marked as ours, so a
    // crash between disabling and saving never leaves it looking like an operator's disable.
    reports.pausedSubscriptions = Set(reports.pausedSubscriptions).union(paused).union(disabling).filter(existing.contains).sorted()
    reports.pausedAt = ledger.pausedAt.merging(reports.pausedAt) { mine, _ in mine }
        .filter { reports.pausedSubscriptions.contains($0.key) }
    reports.downSince = ledger.downSince
    return IntegrityPlan(actions: actions, ledger: ledger, ledgerBeforeActions: reports, notes: notes)
}
