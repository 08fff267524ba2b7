import StazCore
import Testing
@testable import StazMesh

/// Held slots (pglogical): the provider's plan from its slots and the subscriber zones'
/// standby positions, the subscriber's standby positions, and the subscriber's pause after its
/// own promotion until its provider swapped the slot.
struct HeldSlotsTests {
    static let slot = "pgl_app_zone2_sub_zone2_zone1"
    static var held: String { HeldSlotName.forSlot(slot) }

    static func observed(_ name: String, active: Bool = true, at: String?, lost: Bool = false) -> ProviderSlotObserved {
        ProviderSlotObserved(name: name, database: "app", active: active, confirmed: at.flatMap(LSN.init(text:)), lost: lost)
    }

    @Test func heldNamesAreStableValidAndRecognisable() {
        let long = String(repeating: "x", count: 63)
        #expect(HeldSlotName.forSlot(long).count <= 63)
        #expect(HeldSlotName.forSlot(Self.slot) == HeldSlotName.forSlot(Self.slot))
        #expect(HeldSlotName.forSlot("a") != HeldSlotName.forSlot("b"))
        #expect(HeldSlotName.isHeld(HeldSlotName.forSlot(Self.slot)) && !HeldSlotName.isHeld(Self.slot))
    }

    struct PlanRow: CustomTestStringConvertible, Sendable {
        var name: String
        var slots: [ProviderSlotObserved]
        var confirmed: [String: String] = [:]
        var displaced: Set<String> = []
        var expected: [HeldSlotAction]
        var testDescription: String { name }
    }

    static let planRows: [PlanRow] = [
        PlanRow(name: "a slot without held copy gets one",
                slots: [observed(slot, at: "0/5000000")],
                expected: [.create(database: "app", slot: slot, held: held)]),
        PlanRow(name: "the held copy follows the subscriber's standbys",
                slots: [observed(slot, at: "0/5000000"), observed(held, active: false, at: "0/4000000")],
                confirmed: [slot: "0/4800000"],
                expected: [.advance(database: "app", held: held, to: LSN(0x4800000))]),
        PlanRow(name: "never past the slot itself",
                slots: [observed(slot, at: "0/5000000"), observed(held, active: false, at: "0/4000000")],
                confirmed: [slot: "0/6000000"],
                expected: [.advance(database: "app", held: held, to: LSN(0x5000000))]),
        PlanRow(name: "nothing to do when the standbys have not moved",
                slots: [observed(slot, at: "0/5000000"), observed(held, active: false, at: "0/4800000")],
                confirmed: [slot: "0/4800000"], expected: []),
        PlanRow(name: "without the subscriber's positions the copy stays where it is",
                slots: [observed(slot, at: "0/5000000"), observed(held, active: false, at: "0/4000000")],
                expected: []),
        PlanRow(name: "an idle slot ahead of its held copy is replaced by it",
                slots: [observed(slot, active: false, at: "0/5000000"), observed(held, active: false, at: "0/4800000")],
                confirmed: [slot: "0/4800000"],
                expected: [.swap(database: "app", slot: slot, held: held)]),
        PlanRow(name: "an idle slot level with its held copy is left alone",
                slots: [observed(slot, active: false, at: "0/4800000"), observed(held, active: false, at: "0/4800000")],
                confirmed: [slot: "0/4800000"], expected: []),
        PlanRow(name: "a slot serving a lost subscriber, ahead of its held copy, is taken over at once",
                slots: [observed(slot, active: true, at: "0/5000000"), observed(held, active: false, at: "0/4800000")],
                confirmed: [slot: "0/4800000"], displaced: [slot],
                expected: [.takeOver(database: "app", slot: slot, held: held)]),
        PlanRow(name: "a slot serving a lost subscriber, level with its held copy, only loses its walsender",
                slots: [observed(slot, active: true, at: "0/4800000"), observed(held, active: false, at: "0/4800000")],
                displaced: [slot], expected: [.endWalsender(database: "app", slot: slot)]),
        PlanRow(name: "a slot serving a lost subscriber without held copy loses its walsender and is held",
                slots: [observed(slot, active: true, at: "0/5000000")], displaced: [slot],
                expected: [.endWalsender(database: "app", slot: slot), .create(database: "app", slot: slot, held: held)]),
        PlanRow(name: "a displaced slot that went idle meanwhile is swapped as usual",
                slots: [observed(slot, active: false, at: "0/5000000"), observed(held, active: false, at: "0/4800000")],
                displaced: [slot], expected: [.swap(database: "app", slot: slot, held: held)]),
        PlanRow(name: "a slot in use by its own subscriber is never swapped",
                slots: [observed(slot, active: true, at: "0/5000000"), observed(held, active: false, at: "0/4800000")],
                confirmed: [slot: "0/4800000"], expected: []),
        PlanRow(name: "an invalidated held copy is made again",
                slots: [observed(slot, at: "0/5000000"), observed(held, active: false, at: "0/4000000", lost: true)],
                expected: [.drop(database: "app", held: held), .create(database: "app", slot: slot, held: held)]),
        PlanRow(name: "an invalidated slot is not held",
                slots: [observed(slot, at: "0/5000000", lost: true)], expected: []),
        PlanRow(name: "a held copy whose slot is gone and no zone subscribes to is dropped",
                slots: [observed(held, active: false, at: "0/4000000")],
                expected: [.drop(database: "app", held: held)]),
        PlanRow(name: "a held copy whose slot is missing but still subscribed is kept",
                slots: [observed(held, active: false, at: "0/4000000")],
                confirmed: [slot: "0/4000000"], expected: []),
    ]

    @Test(arguments: planRows)
    func providerPlan(_ row: PlanRow) {
        let confirmed = row.confirmed.compactMapValues(LSN.init(text:))
        #expect(HeldSlots.plan(slots: row.slots, standbyConfirmed: confirmed, displaced: row.displaced) == row.expected)
    }

    static func progress(origin: String?, local: String?) -> SubscriptionProgress {
        SubscriptionProgress(database: "app", name: "sub_zone2_zone1", providerNode: "zone2", slotName: slot, originName: slot,
                             originLSN: origin.flatMap(LSN.init(text:)), enabled: true,
                             originLocalLSN: local.flatMap(LSN.init(text:)))
    }

    /// A subscriber zone with a new leader: the walsenders still serving its slots since before
    /// the last round serve the old primary (a partitioned one keeps them until
    /// wal_sender_timeout) and are ended; a newer one may serve the new leader and is kept.
    @Test func aSubscriberZoneWithANewLeaderHasItsOldWalsendersEnded() {
        let other = "pgl_app_zone3_sub_zone3_zone1"
        func slot(_ name: String, active: Bool = true, since: Double?) -> ProviderSlotObserved {
            ProviderSlotObserved(name: name, database: "app", active: active, confirmed: LSN(text: "0/5000000"),
                                 walsenderStartedAt: since)
        }
        let slots = [slot(Self.slot, since: 100), slot(Self.held, since: 50), slot(other, since: 100)]
        let subscriberSlots: [String: Set<String>] = ["zone2": [Self.slot], "zone3": [other]]
        let stale = { (previous: [String: String], now: [String: String], slots: [ProviderSlotObserved], lastRound: Double?) in
            HeldSlots.staleWalsenders(previousLeaders: previous, leaders: now, subscriberSlots: subscriberSlots, slots: slots,
                                      previousRoundAt: lastRound)
        }
        // A zone read without a leader key: its old walsenders are ended before a successor
        // exists (an unreadable zone, absent from both, is no change: see below).
        #expect(HeldSlots.staleWalsenders(previousLeaders: ["zone2": "b1"], leaders: [:], leaderless: ["zone2"],
                                          subscriberSlots: subscriberSlots, slots: slots, previousRoundAt: 200) == [Self.slot])
        #expect(HeldSlots.staleWalsenders(previousLeaders: [:], leaders: [:], leaderless: ["zone2"],
                                          subscriberSlots: subscriberSlots, slots: [slot(Self.slot, since: 250)],
                                          previousRoundAt: 200).isEmpty)
        #expect(stale(["zone2": "b1", "zone3": "c1"], ["zone2": "b2", "zone3": "c1"], slots, 200) == [Self.slot])
        // A walsender that started after the last round may be the new leader's own: kept.
        #expect(stale(["zone2": "b1"], ["zone2": "b2"], [slot(Self.slot, since: 250)], 200).isEmpty)
        #expect(stale(["zone2": "b1"], ["zone2": "b2"], [slot(Self.slot, since: nil)], 200).isEmpty)
        // No earlier round, same leaders, a zone seen for the first time, a zone without a leader.
        #expect(stale(["zone2": "b1"], ["zone2": "b2"], slots, nil).isEmpty)
        #expect(stale(["zone2": "b1", "zone3": "c1"], ["zone2": "b1", "zone3": "c1"], slots, 200).isEmpty)
        #expect(stale([:], ["zone2": "b2", "zone3": "c1"], slots, 200).isEmpty)
        #expect(stale(["zone2": "b1"], ["zone3": "c1"], slots, 200).isEmpty)
        // An idle slot has no walsender to end (the plan swaps it anyway).
        #expect(stale(["zone2": "b1"], ["zone2": "b2"], [slot(Self.slot, active: false, since: nil)], 200).isEmpty)
    }

    @Test func standbysConfirmAnOriginOnceTheyFlushedItsLocalCommit() {
        let sub = Self.progress(origin: "0/5000000", local: "0/9000000")
        let behind = HeldSlots.standbyConfirmed(previous: [Self.slot: LSN(0x4000000)], subscriptions: [sub],
                                                standbysFlushed: LSN(0x8FFFFFF), standbyCount: 1)
        #expect(behind == [Self.slot: LSN(0x4000000)], "kept while the standbys lack the commit")
        let caughtUp = HeldSlots.standbyConfirmed(previous: [Self.slot: LSN(0x4000000)], subscriptions: [sub],
                                                  standbysFlushed: LSN(0x9000000), standbyCount: 2)
        #expect(caughtUp == [Self.slot: LSN(0x5000000)])
        let noStandby = HeldSlots.standbyConfirmed(previous: [:], subscriptions: [sub], standbysFlushed: nil, standbyCount: 0)
        #expect(noStandby == [Self.slot: LSN(0x5000000)], "nothing can be promoted that lacks it")
        let unknown = HeldSlots.standbyConfirmed(previous: [:], subscriptions: [sub], standbysFlushed: nil, standbyCount: 1)
        #expect(unknown.isEmpty)
        let noOrigin = HeldSlots.standbyConfirmed(previous: [:], subscriptions: [Self.progress(origin: nil, local: nil)],
                                                  standbysFlushed: LSN(0x9000000), standbyCount: 1)
        #expect(noOrigin.isEmpty)
        let gone = HeldSlots.standbyConfirmed(previous: [Self.slot: LSN(0x4000000)], subscriptions: [],
                                              standbysFlushed: LSN(0x9000000), standbyCount: 1)
        #expect(gone.isEmpty, "a subscription that is gone is no longer published")
    }

    // MARK: subscriber side after our own promotion

    static func zone2(published: [String: String]) -> ProviderZoneView {
        ProviderZoneView(node: "zone2", leader: "z2m0", timeline: 1, publishedSlots: published.compactMapValues(LSN.init(text:)))
    }

    static func promotedLedger() -> MeshLedger {
        var ledger = MeshLedger()
        ledger.checkedTimelines["zone2"] = 1
        ledger.checkedLeaders["zone2"] = "z2m0"
        ledger.ownTimeline = 1
        return ledger
    }

    static func plan(_ ledger: MeshLedger, published: [String: String], origin: String = "0/6000000",
                     enabled: Bool = true, clock: Double) -> IntegrityPlan {
        var sub = progress(origin: origin, local: "0/1000000")
        sub.enabled = enabled
        return planIntegrity(IntegrityInput(ledger: ledger, ownNode: "zone1", ownTimeline: 2, subscriptions: [sub],
                                            providers: ["zone2": zone2(published: published)], now: "t", clock: clock))
    }

    @Test func aPromotionBehindTheSlotWaitsForTheHeldCopyThenResumes() {
        let key = "app/sub_zone2_zone1"
        let first = Self.plan(Self.promotedLedger(), published: [Self.slot: "0/7000000", Self.held: "0/5800000"], clock: 100)
        #expect(first.actions == [.disableSubscription(database: "app", name: "sub_zone2_zone1")])
        #expect(first.ledger.divergence.isEmpty, "no gap: the provider can send the range again")
        #expect(first.ledger.awaitingRewind[key] == 100 && first.ledger.pausedSubscriptions == [key])
        #expect(first.ledgerBeforeActions.pausedSubscriptions == [key])
        #expect(first.ledger.lastFailover["zone1"]?.outcome == "awaiting held slots")

        // The provider has not swapped yet: still paused, nothing else.
        let waiting = Self.plan(first.ledger, published: [Self.slot: "0/7000000", Self.held: "0/5800000"], enabled: false, clock: 110)
        #expect(waiting.actions.isEmpty && waiting.ledger.awaitingRewind[key] == 100)

        // Swapped: the slot is published at the held position, behind our origin.
        let swapped = Self.plan(waiting.ledger, published: [Self.slot: "0/5800000", Self.held: "0/5800000"], enabled: false, clock: 112)
        #expect(swapped.actions == [.enableSubscription(database: "app", name: "sub_zone2_zone1")])
        #expect(swapped.ledger.awaitingRewind.isEmpty && swapped.ledger.pausedSubscriptions.isEmpty)
        #expect(swapped.ledger.lastFailover["zone1"]?.outcome == "clean")
        #expect(swapped.ledger.divergence.isEmpty)
    }

    @Test func aProviderThatNeverSwapsEndsInAGapReport() {
        let first = Self.plan(Self.promotedLedger(), published: [Self.slot: "0/7000000", Self.held: "0/5800000"], clock: 100)
        let late = Self.plan(first.ledger, published: [Self.slot: "0/7000000", Self.held: "0/5800000"], enabled: false,
                             clock: 100 + heldSlotWait + 1)
        #expect(late.actions == [.enableSubscription(database: "app", name: "sub_zone2_zone1")])
        #expect(late.ledger.divergence.map(\.kind) == [.possibleSubscriberGap])
        #expect(late.ledger.lastFailover["zone1"]?.outcome == FailoverCheck.verifyingGap)
    }

    @Test func aHeldCopyAheadOfOurOriginCannotHelp() {
        let plan = Self.plan(Self.promotedLedger(), published: [Self.slot: "0/7000000", Self.held: "0/6800000"], clock: 100)
        #expect(plan.actions.isEmpty)
        #expect(plan.ledger.divergence.map(\.kind) == [.possibleSubscriberGap])
    }

    @Test func ledgerKeepsHeldSlotFieldsAcrossTheDCS() {
        var ledger = MeshLedger()
        ledger.standbyConfirmed[Self.slot] = LSN(0x5000000)
        ledger.awaitingRewind["app/sub"] = 12.5
        ledger.subscriptionSlots = [Self.slot, "pgl_app_zone3_sub_zone3_zone1"].sorted()
        #expect(MeshLedger.parse(ledger.json.compactString) == ledger)
    }

    /// CI stop 28: a subscriber zone whose standbys had not yet confirmed anything through a
    /// subscription (nothing applied yet, or the 5 s rate limit on publishing positions) lost
    /// its primary; its ledger named the slot nowhere, so the provider never ended the dead
    /// primary's walsender and the promoted standby waited for wal_sender_timeout. The ledger
    /// now names every subscription's slot from the start.
    @Test func aSubscriptionSlotWithoutConfirmedPositionsStillHasItsWalsenderEnded() {
        var ledger = MeshLedger()
        ledger.subscriptionSlots = [Self.slot]
        let slots = [ProviderSlotObserved(name: Self.slot, database: "app", active: true,
                                          confirmed: LSN(text: "0/5000000"), walsenderStartedAt: 100)]
        let published = MeshLedger.parse(ledger.json.compactString)
        #expect(published.standbyConfirmed.isEmpty)
        #expect(HeldSlots.staleWalsenders(previousLeaders: ["zone2": "b1"], leaders: ["zone2": "b2"],
                                          subscriberSlots: ["zone2": published.slotsOnProviders], slots: slots,
                                          previousRoundAt: 200) == [Self.slot])
    }
}
