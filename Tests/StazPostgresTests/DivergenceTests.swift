import StazCore
import Testing
@testable import StazPostgres

@Suite struct DivergenceTests {
    /// A real `00000003.history` from a cluster promoted twice.
    static let history = "1\t0/3000148\tno recovery target specified\n\n2\t0/5000060\tno recovery target specified\n"

    @Test func parsesHistoryFile() {
        let parsed = TimelineHistory.parse(Self.history + "# comment\nbroken line\n")
        #expect(parsed == [
            TimelineSwitch(timeline: 1, switchPoint: LSN(text: "0/3000148")!, reason: "no recovery target specified"),
            TimelineSwitch(timeline: 2, switchPoint: LSN(text: "0/5000060")!, reason: "no recovery target specified"),
        ])
    }

    @Test(arguments: [
        // local TL, local LSN, in recovery, leader TL -> verdict
        (Int64(4), "0/6000000", false, Int64(3), RewindVerdict.needed),          // we are ahead: diverged
        (Int64(3), "0/9000000", false, Int64(3), RewindVerdict.notNeeded),       // same timeline
        (Int64(2), "0/5000060", true, Int64(3), RewindVerdict.notNeeded),        // replica exactly at switch point
        (Int64(2), "0/5000061", true, Int64(3), RewindVerdict.needed),           // replica past switch point
        (Int64(2), "0/5000060", false, Int64(3), RewindVerdict.needed),          // shut-down primary at switch point
        (Int64(2), "0/5000000", false, Int64(3), RewindVerdict.notNeeded),       // clean shutdown checkpoint before switch
        (Int64(1), "0/3000100", true, Int64(3), RewindVerdict.notNeeded),        // older timeline, still behind
        (Int64(1), "0/3000200", true, Int64(3), RewindVerdict.needed),
        (Int64(5), "0/1000000", true, Int64(7), RewindVerdict.needed),           // our TL unknown to the leader
    ])
    func divergenceRule(localTL: Int64, lsn: String, inRecovery: Bool, leaderTL: Int64, expected: RewindVerdict) {
        let local = LocalWALPosition(timeline: localTL, lsn: LSN(text: lsn)!, inRecovery: inRecovery)
        let verdict = DivergenceRule.verdict(local: local, leaderTimeline: leaderTL,
                                             leaderHistory: TimelineHistory.parse(Self.history))
        #expect(verdict == expected)
    }
}

@Suite struct SlotRuleTests {
    static func slot(_ name: String, _ type: String = "physical", active: Bool = false) -> ReplicationSlotInfo {
        ReplicationSlotInfo(name: name, type: type, active: active)
    }

    @Test func createsMissingDesiredSlotsOnce() {
        let plan = SlotRules.plan(existing: [Self.slot("pg2")], desired: ["pg2", "pg3", "pg3"], owned: ["pg2"])
        #expect(plan.create == ["pg3"])
        #expect(plan.drop.isEmpty)
    }

    @Test func neverDropsUnknownOrLogicalSlots() {
        let existing = [Self.slot("spock_sub_n1_n2", "logical"), Self.slot("manual_physical"),
                        Self.slot("pglogical_slot", "logical", active: true)]
        let plan = SlotRules.plan(existing: existing, desired: [], owned: [])
        #expect(plan.drop.isEmpty)
        #expect(plan.ignored == ["spock_sub_n1_n2", "manual_physical", "pglogical_slot"])
    }

    @Test func dropsOnlyOwnedInactivePhysicalSlotsNoLongerDesired() {
        let existing = [Self.slot("old_member"), Self.slot("busy_member", active: true), Self.slot("pg2"),
                        Self.slot("external")]
        let plan = SlotRules.plan(existing: existing, desired: ["pg2"], owned: ["old_member", "busy_member", "pg2", "gone"])
        #expect(plan.drop == ["old_member"])
        #expect(plan.ignored == ["external"])
        #expect(plan.forget == ["gone"])
        #expect(plan.create.isEmpty)
    }

    @Test func ownershipRecordIsBoundToTheMember() {
        let text = SlotOwnership.encode(["b", "a"], member: "pg1")
        #expect(text == "{\"member\":\"pg1\",\"slots\":[\"a\",\"b\"]}\n")
        #expect(SlotOwnership.decode(text, member: "pg1") == ["a", "b"])
        // A copy that arrived through pg_basebackup from pg1 means nothing to pg2.
        #expect(SlotOwnership.decode(text, member: "pg2").isEmpty)
        #expect(SlotOwnership.decode("not json", member: "pg1").isEmpty)
    }
}
