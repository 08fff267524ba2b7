import StazCore
import Testing
@testable import StazMesh

@Suite struct GapVerificationTests {
    static func gap(timeline: Int64 = 2, requestedAt: Double = 1000) -> DivergenceReport {
        DivergenceReport(kind: .possibleSubscriberGap, database: "app", subscription: "sub_zone2_zone1", provider: "zone2",
                         subscriber: "zone1", fromLSN: LSN(0x6000000), toLSN: LSN(0x6000180), timeline: timeline,
                         detectedAt: "2026-12-03T18:00:00Z", action: "asking zone2", verification: .pending,
                         requestedAt: requestedAt)
    }

    /// zone1 was promoted and recorded a possible gap it asks zone2 about.
    static func subscriberLedger() -> MeshLedger {
        var ledger = MeshLedger()
        ledger.divergence = [gap()]
        ledger.lastFailover["zone1"] = FailoverCheck(timeline: 2, checkedAt: "t", outcome: FailoverCheck.verifyingGap)
        return ledger
    }

    static func providerAnswering(_ answer: RangeVerification) -> MeshLedger {
        var ledger = MeshLedger()
        ledger.verifiedRanges[GapVerification.key(gap())] = answer
        return ledger
    }

    @Test func aRangeWithoutCommitsIsNoGap() {
        let (settled, lines) = GapVerification.settle(Self.subscriberLedger(),
                                                      providerLedgers: ["zone2": Self.providerAnswering(.commits([]))], clock: 1001)
        #expect(settled.divergence.isEmpty)
        #expect(settled.lastFailover["zone1"]?.outcome == "clean")
        #expect(lines.count == 1 && lines[0].contains("no gap"))
    }

    @Test func commitsInTheRangeAreReportedWithTheirTransactionIDs() throws {
        let (settled, lines) = GapVerification.settle(Self.subscriberLedger(),
                                                      providerLedgers: ["zone2": Self.providerAnswering(.commits(["771", "772"]))], clock: 1001)
        let report = try #require(settled.divergence.first)
        #expect(report.verification == .verified(["771", "772"]))
        #expect(report.action.contains("2 commit(s)") && report.action.contains("771, 772"))
        #expect(settled.lastFailover["zone1"]?.outcome == "divergence recorded")
        #expect(lines.first?.hasPrefix("GAP") == true)
    }

    @Test func anUnreadableRangeOrNoAnswerKeepsTheReportUnverified() {
        let (unreadable, _) = GapVerification.settle(Self.subscriberLedger(),
                                                     providerLedgers: ["zone2": Self.providerAnswering(.unreadable("WAL removed"))], clock: 1001)
        #expect(unreadable.divergence.first?.verification == .unverifiable("WAL removed"))
        // No answer: pending while the provider may still answer, unverifiable after.
        let (early, _) = GapVerification.settle(Self.subscriberLedger(), providerLedgers: [:], clock: 1000 + GapVerification.answerWait - 1)
        #expect(early.divergence.first?.verification == .pending)
        #expect(early.lastFailover["zone1"]?.outcome == FailoverCheck.verifyingGap)
        let (late, _) = GapVerification.settle(Self.subscriberLedger(), providerLedgers: [:], clock: 1000 + GapVerification.answerWait + 1)
        guard case .unverifiable = late.divergence.first?.verification else { Issue.record("still \(String(describing: late.divergence.first?.verification))"); return }
        #expect(late.lastFailover["zone1"]?.outcome == "divergence recorded")
    }

    @Test func theProviderReadsOnlyWhatIsAskedOfItOnce() {
        var other = Self.gap()
        other.provider = "zone3"
        var ledger = Self.subscriberLedger()
        ledger.divergence.append(other)
        let checks = GapVerification.pendingChecks(peerLedgers: ["zone1": ledger], ownNode: "zone2", answered: [:])
        #expect(checks.map(\.database) == ["app"])
        #expect(checks.first?.fromLSN == LSN(0x6000000) && checks.first?.toLSN == LSN(0x6000180))
        let answered = [GapVerification.key(Self.gap()): RangeVerification.commits([])]
        #expect(GapVerification.pendingChecks(peerLedgers: ["zone1": ledger], ownNode: "zone2", answered: answered).isEmpty)
        // Answers are published while asked for, and dropped once the subscriber settled.
        #expect(GapVerification.answers(current: answered, new: [:], peerLedgers: ["zone1": ledger], ownNode: "zone2") == answered)
        #expect(GapVerification.answers(current: answered, new: [:], peerLedgers: ["zone1": MeshLedger()], ownNode: "zone2").isEmpty)
    }

    @Test func reportsAndAnswersSurviveTheDCS() {
        var ledger = Self.subscriberLedger()
        ledger.divergence.append(DivergenceReport(kind: .possibleSubscriberGap, database: "app", subscription: "s", provider: "zone3",
                                                  subscriber: "zone1", fromLSN: LSN(1), toLSN: LSN(2), timeline: 2, detectedAt: "t",
                                                  action: "a", verification: .verified(["9"]), requestedAt: 5))
        ledger.verifiedRanges = ["k1": .commits(["1", "2"]), "k2": .unreadable("gone")]
        #expect(MeshLedger.parse(ledger.json.compactString) == ledger)
    }

    @Test func theQueryCountsLocalCommitsOfTheDatabaseInTheRange() {
        let sql = GapVerification.query(database: "app's", from: LSN(0x6000000), to: LSN(0x6000180))
        #expect(sql.contains("pg_get_wal_records_info('0/6000000'::pg_lsn, '0/6000180'::pg_lsn)"))
        #expect(sql.contains("NOT LIKE '%origin: %'"))
        #expect(sql.contains("datname = 'app''s'"))
    }
}
