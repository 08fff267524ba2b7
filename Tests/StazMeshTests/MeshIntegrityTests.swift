import StazCore
import Testing
@testable import StazMesh

/// The post-failover integrity check as a table: (ledger, provider views, subscriptions) →
/// actions and the ledger to store.
struct MeshIntegrityTests {
    static let now = "2026-11-27T08:00:00+00:00"

    static func sub(_ name: String = "sub_zone2_zone1", provider: String = "zone2", origin: String? = "0/5000100",
                    enabled: Bool = true, database: String = "app") -> SubscriptionProgress {
        SubscriptionProgress(database: database, name: name, providerNode: provider, slotName: "pgl_app_\(provider)_\(name)",
                             originName: "pgl_app_\(provider)_\(name)", originLSN: origin.flatMap(LSN.init(text:)),
                             enabled: enabled)
    }

    static func zone2(leader: String? = "z2m1", timeline: Int64? = 2, switchAt: String? = "0/5000000",
                      published: [String: String] = [:]) -> ProviderZoneView {
        let history = switchAt.flatMap(LSN.init(text:)).map { [TimelineHistoryEntry(timeline: 1, lsn: Int64($0.value), reason: "no recovery target specified")] } ?? []
        return ProviderZoneView(node: "zone2", leader: leader, timeline: timeline, history: history,
                                publishedSlots: published.compactMapValues(LSN.init(text:)))
    }

    static func ledger(checked: Int64? = 1, leader: String? = "z2m0", paused: [String] = [], own: Int64? = 1) -> MeshLedger {
        var l = MeshLedger()
        if let checked { l.checkedTimelines["zone2"] = checked }
        if let leader { l.checkedLeaders["zone2"] = leader }
        l.pausedSubscriptions = paused
        l.ownTimeline = own
        return l
    }

    static func plan(ledger: MeshLedger, view: ProviderZoneView?, subs: [SubscriptionProgress], ownTimeline: Int64? = 1) -> IntegrityPlan {
        planIntegrity(IntegrityInput(ledger: ledger, ownNode: "zone1", ownTimeline: ownTimeline, subscriptions: subs,
                                     providers: view.map { ["zone2": $0] } ?? [:], now: now))
    }

    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var ledger: MeshLedger
        var view: ProviderZoneView?
        var subs: [SubscriptionProgress]
        var actions: [IntegrityAction]
        var reports: [DivergenceReport.Kind]
        var checkedAfter: Int64?
        var pausedAfter: [String]
        var testDescription: String { name }
    }

    static let disable = IntegrityAction.disableSubscription(database: "app", name: "sub_zone2_zone1")
    static let enable = IntegrityAction.enableSubscription(database: "app", name: "sub_zone2_zone1")
    static let moveBack = IntegrityAction.moveOrigin(database: "app", subscription: "sub_zone2_zone1",
                                                     origin: "pgl_app_zone2_sub_zone2_zone1", to: LSN(text: "0/5000000")!)

    @Test func aZoneWithoutSubscriptionsYetIsABaselineAtItsLeaderNow() {
        let fresh = Self.plan(ledger: MeshLedger(), view: Self.zone2(), subs: [])
        #expect(fresh.actions.isEmpty)
        #expect(fresh.ledger.checkedLeaders == ["zone2": "z2m1"] && fresh.ledger.checkedTimelines == ["zone2": 2])
        let leaderless = Self.plan(ledger: Self.ledger(), view: Self.zone2(leader: nil), subs: [])
        #expect(leaderless.ledger.checkedLeaders == ["zone2": "z2m0"], "no leader: the last one stays")
        let moved = Self.plan(ledger: Self.ledger(), view: Self.zone2(), subs: [])
        #expect(moved.ledger.checkedLeaders == ["zone2": "z2m1"], "nothing to check without a subscription")
    }

    @Test func theHolderOfAnOriginIsReadFromPostgreSQLsError() {
        #expect(MeshSQL.originHolder(in: "ERROR:  replication origin with ID 1 is already active for PID 7871") == 7871)
        #expect(MeshSQL.originHolder(in: "server error: replication origin with ID 12 is already active for PID 13591 (55006)") == 13591)
        #expect(MeshSQL.originHolder(in: "replication origin \"x\" does not exist") == nil)
    }

    static let rows: [Row] = [
        Row(name: "steady state: same leader, same timeline → nothing",
            ledger: ledger(checked: 2, leader: "z2m1"), view: zone2(), subs: [sub()],
            actions: [], reports: [], checkedAfter: 2, pausedAfter: []),
        Row(name: "first sight of a provider sets the baseline without acting",
            ledger: ledger(checked: nil, leader: nil), view: zone2(), subs: [sub()],
            actions: [], reports: [], checkedAfter: 2, pausedAfter: []),
        Row(name: "provider without leader → pause",
            ledger: ledger(), view: zone2(leader: nil), subs: [sub()],
            actions: [disable], reports: [], checkedAfter: 1, pausedAfter: ["app/sub_zone2_zone1"]),
        Row(name: "already paused, still no leader → nothing more",
            ledger: ledger(paused: ["app/sub_zone2_zone1"]), view: zone2(leader: nil), subs: [sub(enabled: false)],
            actions: [], reports: [], checkedAfter: 1, pausedAfter: ["app/sub_zone2_zone1"]),
        Row(name: "new leader still showing the old timeline → pause and wait",
            ledger: ledger(checked: 1, leader: "z2m0"), view: zone2(timeline: 1), subs: [sub()],
            actions: [disable], reports: [], checkedAfter: 1, pausedAfter: ["app/sub_zone2_zone1"]),
        Row(name: "promotion, origin behind the switch point → restart the worker, clean",
            ledger: ledger(), view: zone2(), subs: [sub(origin: "0/4FFFF00")],
            actions: [disable, enable], reports: [], checkedAfter: 2, pausedAfter: []),
        Row(name: "promotion, origin exactly at the switch point → clean",
            ledger: ledger(), view: zone2(), subs: [sub(origin: "0/5000000")],
            actions: [disable, enable], reports: [], checkedAfter: 2, pausedAfter: []),
        Row(name: "promotion, origin ahead → move it back and report",
            ledger: ledger(), view: zone2(), subs: [sub(origin: "0/5000100")],
            actions: [disable, moveBack, enable], reports: [.subscriberAhead], checkedAfter: 2, pausedAfter: []),
        Row(name: "promotion seen while paused by staz → check and resume",
            ledger: ledger(paused: ["app/sub_zone2_zone1"]), view: zone2(), subs: [sub(origin: "0/5000100", enabled: false)],
            actions: [moveBack, enable], reports: [.subscriberAhead], checkedAfter: 2, pausedAfter: []),
        Row(name: "promotion, operator-disabled subscription: origin fixed, left disabled",
            ledger: ledger(), view: zone2(), subs: [sub(origin: "0/5000100", enabled: false)],
            actions: [moveBack], reports: [.subscriberAhead], checkedAfter: 2, pausedAfter: []),
        Row(name: "promotion but the history lacks the switch point → stay paused",
            ledger: ledger(), view: zone2(switchAt: nil), subs: [sub()],
            actions: [disable], reports: [], checkedAfter: 1, pausedAfter: ["app/sub_zone2_zone1"]),
        Row(name: "leader back after a pause, same timeline → resume",
            ledger: ledger(checked: 2, leader: "z2m1", paused: ["app/sub_zone2_zone1"]), view: zone2(),
            subs: [sub(enabled: false)], actions: [enable], reports: [], checkedAfter: 2, pausedAfter: []),
        Row(name: "provider timeline went backwards (zone rebuilt) → new baseline",
            ledger: ledger(checked: 5, leader: "z2m1"), view: zone2(), subs: [sub()],
            actions: [], reports: [], checkedAfter: 2, pausedAfter: []),
        Row(name: "subscription without origin yet (first sync) → only restarted",
            ledger: ledger(), view: zone2(), subs: [sub(origin: nil)],
            actions: [disable, enable], reports: [], checkedAfter: 2, pausedAfter: []),
    ]

    @Test(arguments: rows)
    func row(_ row: Row) {
        let plan = Self.plan(ledger: row.ledger, view: row.view, subs: row.subs)
        #expect(plan.actions == row.actions)
        #expect(plan.ledger.divergence.map(\.kind) == row.reports)
        #expect(plan.ledger.checkedTimelines["zone2"] == row.checkedAfter)
        #expect(plan.ledger.pausedSubscriptions == row.pausedAfter)
        // Reports are stored before acting, and every subscription we disable is marked ours.
        #expect(plan.ledgerBeforeActions.divergence == plan.ledger.divergence)
        for case .disableSubscription(let database, let name) in plan.actions {
            #expect(plan.ledgerBeforeActions.pausedSubscriptions.contains("\(database)/\(name)"))
        }
    }

    @Test func aSubscriptionThatLostItsProviderIsPausedUntilTheLeaseWouldHaveExpired() {
        var down = Self.sub()
        down.status = "down"
        let steady = Self.ledger(checked: 2, leader: "z2m1")
        func plan(_ ledger: MeshLedger, _ sub: SubscriptionProgress, at clock: Double, view: ProviderZoneView = Self.zone2()) -> IntegrityPlan {
            planIntegrity(IntegrityInput(ledger: ledger, ownNode: "zone1", ownTimeline: 1, subscriptions: [sub],
                                         providers: ["zone2": view], now: Self.now, clock: clock))
        }
        let paused = plan(steady, down, at: 1000)
        #expect(paused.actions == [Self.disable])
        #expect(paused.ledger.pausedAt["app/sub_zone2_zone1"] == 1000)
        #expect(paused.ledgerBeforeActions.pausedAt["app/sub_zone2_zone1"] == 1000)
        var disabled = Self.sub(enabled: false)
        disabled.status = "disabled"
        // Same leader and timeline within ttl (30) + 5 s: stays paused (the primary may be dead
        // and its successor not promoted yet).
        #expect(plan(paused.ledger, disabled, at: 1030).actions.isEmpty)
        // The same leader answers as a running primary: a blip (e.g. a DSN switch restarted the
        // worker) → resumed at once.
        var answering = Self.zone2()
        answering.leaderAnswers = true
        #expect(plan(paused.ledger, disabled, at: 1002, view: answering).actions == [Self.enable])
        // Later: a blip, not a failover → resumed.
        let resumed = plan(paused.ledger, disabled, at: 1036)
        #expect(resumed.actions == [Self.enable] && resumed.ledger.pausedAt.isEmpty && resumed.ledger.pausedSubscriptions.isEmpty)
        // A promotion meanwhile (leader z2m2, timeline 3, switch point known): checked and
        // resumed at once, without waiting for the hold, with the origin moved back.
        var view = Self.zone2(leader: "z2m2", timeline: 3)
        view.history.append(TimelineHistoryEntry(timeline: 2, lsn: 0x5000000, reason: ""))
        let promoted = plan(paused.ledger, Self.sub(origin: "0/5000100", enabled: false), at: 1010, view: view)
        #expect(promoted.actions == [Self.moveBack, Self.enable])
        #expect(promoted.ledger.pausedAt.isEmpty)
    }

    @Test func aDownSubscriptionWhoseProviderAnswersIsNotPaused() {
        var down = Self.sub()
        down.status = "down"
        var answering = Self.zone2()
        answering.leaderAnswers = true
        let plan = planIntegrity(IntegrityInput(ledger: Self.ledger(checked: 2, leader: "z2m1"), ownNode: "zone1", ownTimeline: 1,
                                                subscriptions: [down], providers: ["zone2": answering], now: Self.now, clock: 1000))
        #expect(plan.actions.isEmpty && plan.ledger.pausedSubscriptions.isEmpty)
        #expect(plan.notes.contains { $0.contains("not paused") })
        // Not asked, or not answering: paused as before.
        var silent = Self.zone2()
        silent.leaderAnswers = false
        let paused = planIntegrity(IntegrityInput(ledger: Self.ledger(checked: 2, leader: "z2m1"), ownNode: "zone1", ownTimeline: 1,
                                                  subscriptions: [down], providers: ["zone2": silent], now: Self.now, clock: 1000))
        #expect(paused.actions == [Self.disable])
        // Still down 10 s later: restarted (pglogical's manager may not restart it for minutes),
        // then counted again from then; once running it is forgotten.
        var later = plan.ledger
        #expect(later.downSince[down.key] == 1000)
        let early = planIntegrity(IntegrityInput(ledger: later, ownNode: "zone1", ownTimeline: 1,
                                                 subscriptions: [down], providers: ["zone2": answering], now: Self.now, clock: 1009))
        #expect(early.actions.isEmpty)
        later = early.ledger
        let kicked = planIntegrity(IntegrityInput(ledger: later, ownNode: "zone1", ownTimeline: 1,
                                                  subscriptions: [down], providers: ["zone2": answering], now: Self.now, clock: 1010))
        #expect(kicked.actions == [Self.disable, .releaseOrigin(database: "app", subscription: "sub_zone2_zone1",
                                                               origin: "pgl_app_zone2_sub_zone2_zone1"), Self.enable])
        #expect(kicked.ledger.downSince[down.key] == 1010 && kicked.ledgerBeforeActions.downSince[down.key] == 1010)
        #expect(kicked.ledger.pausedSubscriptions.isEmpty && kicked.notes.contains { $0.contains("apply worker restarted") })
        let running = planIntegrity(IntegrityInput(ledger: kicked.ledger, ownNode: "zone1", ownTimeline: 1,
                                                   subscriptions: [Self.sub()], providers: ["zone2": answering], now: Self.now, clock: 1011))
        #expect(running.actions.isEmpty && running.ledger.downSince.isEmpty)
        #expect(MeshLedger.parse(kicked.ledger.json.compactString).downSince == [down.key: 1010])
    }

    /// A stuck worker restarts its whole database: the other subscription there is disabled and
    /// its origin freed too (a lost worker, ended, clears a registry slot the other's worker may
    /// hold), one elsewhere is left alone, and so is one the plan keeps paused.
    @Test func stuckWorkerRestartsEverySubscriptionOfItsDatabase() {
        var down = Self.sub()
        down.status = "down"
        let sibling = Self.sub("sub_zone3_zone1", provider: "zone3")
        let elsewhere = Self.sub("sub_zone3_zone1", provider: "zone3", database: "other")
        var answering = Self.zone2(timeline: 2)
        answering.leaderAnswers = true
        var zone3 = answering
        zone3.node = "zone3"
        var ledger = Self.ledger(checked: 2, leader: "z2m1")
        ledger.checkedTimelines["zone3"] = 2
        ledger.checkedLeaders["zone3"] = "z2m1"
        ledger.downSince[down.key] = 1000
        let plan = planIntegrity(IntegrityInput(ledger: ledger, ownNode: "zone1", ownTimeline: 1,
                                                subscriptions: [down, sibling, elsewhere],
                                                providers: ["zone2": answering, "zone3": zone3], now: Self.now, clock: 1010))
        let origin = { (s: SubscriptionProgress) in s.originName! }
        #expect(plan.actions == [
            .disableSubscription(database: "app", name: down.name), .disableSubscription(database: "app", name: sibling.name),
            .releaseOrigin(database: "app", subscription: down.name, origin: origin(down)),
            .releaseOrigin(database: "app", subscription: sibling.name, origin: origin(sibling)),
            .enableSubscription(database: "app", name: down.name), .enableSubscription(database: "app", name: sibling.name),
        ])
        // A sibling this plan pauses (its provider lost its leader) is not enabled by the restart.
        let leaderless = planIntegrity(IntegrityInput(ledger: ledger, ownNode: "zone1", ownTimeline: 1,
                                                      subscriptions: [down, sibling],
                                                      providers: ["zone2": answering, "zone3": Self.zone2(leader: nil)], now: Self.now, clock: 1010))
        #expect(leaderless.actions == [
            .disableSubscription(database: "app", name: sibling.name), .disableSubscription(database: "app", name: down.name),
            .releaseOrigin(database: "app", subscription: down.name, origin: origin(down)),
            .enableSubscription(database: "app", name: down.name),
        ])
    }

    @Test func aheadReportNamesTheRangeAndZones() throws {
        let plan = Self.plan(ledger: Self.ledger(), view: Self.zone2(), subs: [Self.sub(origin: "0/5000100")])
        let report = try #require(plan.ledger.divergence.first)
        #expect(report.provider == "zone2" && report.subscriber == "zone1" && report.database == "app")
        #expect(report.fromLSN.description == "0/5000000" && report.toLSN.description == "0/5000100")
        #expect(report.timeline == 2 && report.detectedAt == Self.now)
        #expect(plan.ledger.lastFailover["zone2"]?.outcome == "divergence recorded")
        // A second pass over the same state (ledger saved) does nothing and adds no report.
        let again = Self.plan(ledger: plan.ledger, view: Self.zone2(), subs: [Self.sub(origin: "0/5000000")])
        #expect(again.actions.isEmpty && again.ledger.divergence.count == 1)
    }

    @Test func twoPromotionsSinceTheLastCheckUseTheEarliestSwitchPoint() {
        var view = Self.zone2(timeline: 3)
        view.history = [TimelineHistoryEntry(timeline: 1, lsn: 0x5000000, reason: ""),
                        TimelineHistoryEntry(timeline: 2, lsn: 0x6000000, reason: "")]
        let plan = Self.plan(ledger: Self.ledger(), view: view, subs: [Self.sub(origin: "0/5800000")])
        #expect(plan.actions.contains(.moveOrigin(database: "app", subscription: "sub_zone2_zone1",
                                                  origin: "pgl_app_zone2_sub_zone2_zone1", to: LSN(0x5000000))))
    }

    @Test func ownPromotionRecordsAGapWhenTheProviderConfirmedMoreThanWeHave() {
        let zone2 = Self.zone2(timeline: 2, published: ["pgl_app_zone2_sub_zone2_zone1": "0/7000000"])
        let plan = Self.plan(ledger: Self.ledger(checked: 2, leader: "z2m1", own: 1), view: zone2,
                             subs: [Self.sub(origin: "0/6000000")], ownTimeline: 2)
        #expect(plan.ledger.divergence.map(\.kind) == [.possibleSubscriberGap])
        #expect(plan.ledger.divergence.first?.fromLSN == LSN(0x6000000))
        #expect(plan.ledger.ownTimeline == 2)
        #expect(plan.ledger.divergence.first?.verification == .pending, "the provider is asked to read the range")
        #expect(plan.ledger.lastFailover["zone1"]?.outcome == FailoverCheck.verifyingGap)
        // Not promoted (same timeline) → no gap check even if positions differ.
        let quiet = Self.plan(ledger: Self.ledger(checked: 2, leader: "z2m1", own: 2), view: zone2,
                              subs: [Self.sub(origin: "0/6000000")], ownTimeline: 2)
        #expect(quiet.ledger.divergence.isEmpty)
    }

    @Test func sameSubscriptionNameInTwoDatabasesIsTrackedSeparately() {
        let plan = Self.plan(ledger: Self.ledger(), view: Self.zone2(leader: nil),
                             subs: [Self.sub(database: "app"), Self.sub(enabled: false, database: "crm")])
        #expect(plan.ledger.pausedSubscriptions == ["app/sub_zone2_zone1"])
    }

    @Test func ledgerRoundTripsThroughJSONAndToleratesJunk() throws {
        let plan = Self.plan(ledger: Self.ledger(), view: Self.zone2(), subs: [Self.sub(origin: "0/5000100")])
        let text = plan.ledger.json.compactString
        #expect(MeshLedger.parse(text) == plan.ledger)
        #expect(MeshLedger.parse(nil) == MeshLedger())
        #expect(MeshLedger.parse("[1,2]") == MeshLedger())
        let odd = MeshLedger.parse(#"{"checked_timelines":{"zone2":"x","zone3":4},"divergence":[{"kind":"nope"}]}"#)
        #expect(odd.checkedTimelines == ["zone3": 4] && odd.divergence.isEmpty)
    }
}

struct MeshIntegritySQLTests {
    @Test(arguments: [(MeshProvider.pglogical, "pglogical.alter_subscription_disable", "pglogical.alter_subscription_enable"),
                      (MeshProvider.spock, "spock.sub_disable", "spock.sub_enable")])
    func pauseAndResumeAreImmediateWithNamedArguments(_ provider: MeshProvider, _ disable: String, _ enable: String) {
        let sql = MeshSQL(provider: provider)
        #expect(sql.statement(for: .disableSubscription(database: "app", name: "sub_a_b"))
                == "SELECT \(disable)(subscription_name => 'sub_a_b', immediate => true)::text AS result")
        #expect(sql.statement(for: .enableSubscription(database: "app", name: "sub_a'b"))
                == "SELECT \(enable)(subscription_name => 'sub_a''b', immediate => true)::text AS result")
    }

    @Test func originMovesWithTheCoreFunction() {
        let sql = MeshSQL(provider: .spock)
        #expect(sql.statement(for: .moveOrigin(database: "app", subscription: "s", origin: "spk_app_a_s", to: LSN(0x5000000)))
                == "SELECT pg_catalog.pg_replication_origin_advance('spk_app_a_s', '0/5000000'::pg_lsn)::text AS result")
    }
}
