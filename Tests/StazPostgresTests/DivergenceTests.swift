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
    static func slot(_ name: String, _ type: String = "physical", active: Bool = false, restart: UInt64? = 0x100,
                     xmin: UInt32? = nil, plugin: String? = nil, database: String? = nil, walStatus: String? = nil) -> ReplicationSlotInfo {
        ReplicationSlotInfo(name: name, type: type, restartLSN: restart.map(LSN.init), active: active, plugin: plugin,
                            database: database, walStatus: walStatus, xmin: xmin)
    }

    static func physical(_ names: String..., active: Bool = false, at position: UInt64? = nil) -> DesiredSlots {
        DesiredSlots(physical: names.map { DesiredPhysicalSlot(name: $0, position: position.map(LSN.init), expectedActive: active) })
    }

    @Test func createsMissingDesiredSlotsOnce() {
        let desired = DesiredSlots(physical: [DesiredPhysicalSlot(name: "pg2", expectedActive: true),
                                              DesiredPhysicalSlot(name: "pg3", expectedActive: true),
                                              DesiredPhysicalSlot(name: "pg3", expectedActive: true)])
        let plan = SlotRules.plan(existing: [Self.slot("pg2")], desired: desired, context: SlotRuleContext(owned: ["pg2"]))
        #expect(plan.create == ["pg3"])
        #expect(plan.drop.isEmpty)
    }

    @Test func neverDropsUnknownOrLogicalSlots() {
        let existing = [Self.slot("spock_sub_n1_n2", "logical"), Self.slot("manual_physical"),
                        Self.slot("pglogical_slot", "logical", active: true)]
        let plan = SlotRules.plan(existing: existing, desired: DesiredSlots(), context: SlotRuleContext())
        #expect(plan.drop.isEmpty)
        #expect(plan.ignored == ["spock_sub_n1_n2", "manual_physical", "pglogical_slot"])
    }

    @Test func dropsOnlyOwnedInactiveSlotsNoLongerDesired() {
        let existing = [Self.slot("old_member"), Self.slot("busy_member", active: true), Self.slot("pg2"),
                        Self.slot("external"), Self.slot("old_permanent", "logical", plugin: "test_decoding", database: "postgres")]
        let plan = SlotRules.plan(existing: existing, desired: Self.physical("pg2", active: true),
                                  context: SlotRuleContext(owned: ["old_member", "busy_member", "pg2", "gone", "old_permanent"]))
        #expect(plan.drop == ["old_member", "old_permanent"])
        #expect(plan.ignored == ["external"])
        #expect(plan.forget == ["gone"])
        #expect(plan.create.isEmpty)
    }

    @Test func ignoreSlotsAndPauseKeepOwnedSlots() {
        let existing = [Self.slot("old_member"), Self.slot("kept_logical", "logical", plugin: "test_decoding", database: "postgres")]
        let owned: Set<String> = ["old_member", "kept_logical"]
        let ignoring = SlotRules.plan(existing: existing, desired: DesiredSlots(),
                                      context: SlotRuleContext(owned: owned, ignore: [SlotMatcher(name: "old_member"),
                                                                                      SlotMatcher(type: "logical", plugin: "test_decoding")]))
        #expect(ignoring.drop.isEmpty)
        let paused = SlotRules.plan(existing: existing, desired: DesiredSlots(), context: SlotRuleContext(owned: owned, paused: true))
        #expect(paused.drop.isEmpty)
        // A matcher on another plugin does not protect the slot.
        let other = SlotRules.plan(existing: existing, desired: DesiredSlots(),
                                   context: SlotRuleContext(owned: owned, ignore: [SlotMatcher(plugin: "pgoutput")]))
        #expect(other.drop == ["old_member", "kept_logical"])
    }

    @Test func advancesInactivePhysicalSlotsToThePublishedPosition() {
        let existing = [Self.slot("behind", restart: 0x100), Self.slot("ahead", restart: 0x900), Self.slot("streamed", restart: 0x100)]
        var desired = Self.physical("behind", "ahead", at: 0x500)
        desired.physical.append(DesiredPhysicalSlot(name: "streamed", position: LSN(0x500), expectedActive: true))
        let plan = SlotRules.plan(existing: existing, desired: desired, context: SlotRuleContext(owned: ["behind", "ahead", "streamed"]))
        #expect(plan.advance == [PhysicalSlotAdvance(name: "behind", target: LSN(0x500))])
        #expect(plan.drop.isEmpty)
    }

    @Test func remakesSlotsHoldingAStaleXminOrLostWAL() {
        let existing = [Self.slot("old_leader", xmin: 777), Self.slot("lost", walStatus: "lost"), Self.slot("no_wal", restart: nil)]
        let desired = Self.physical("old_leader", "lost", "no_wal", at: 0x500)
        let context = SlotRuleContext(owned: ["old_leader", "lost", "no_wal"], cleanInactiveWithXmin: true)
        let plan = SlotRules.plan(existing: existing, desired: desired, context: context)
        #expect(plan.drop == ["old_leader", "lost", "no_wal"])
        #expect(plan.advance.isEmpty)
        // Without a leader the xmin stays (Patroni: nothing is cleaned while nobody leads).
        var noLeader = context
        noLeader.cleanInactiveWithXmin = false
        #expect(SlotRules.plan(existing: existing, desired: desired, context: noLeader).drop == ["lost", "no_wal"])
    }

    @Test func adoptsDesiredPhysicalSlotsButNeverForeignLogicalOnes() {
        let existing = [Self.slot("pg2"), Self.slot("sub_slot", "logical", plugin: "spock_output", database: "app")]
        let desired = DesiredSlots(physical: [DesiredPhysicalSlot(name: "pg2", expectedActive: true)],
                                   logical: [DesiredLogicalSlot(name: "sub_slot", database: "app", plugin: "test_decoding")])
        let plan = SlotRules.plan(existing: existing, desired: desired, context: SlotRuleContext(primary: true))
        #expect(plan.adopt == ["pg2"])
        #expect(plan.drop.isEmpty)
        #expect(plan.conflicts.count == 1)
        #expect(plan.createLogical.isEmpty)
    }

    @Test func logicalSlotsAreCreatedOnlyOnAPrimary() {
        let wanted = DesiredLogicalSlot(name: "test_logical", database: "postgres", plugin: "test_decoding")
        let desired = DesiredSlots(logical: [wanted])
        #expect(SlotRules.plan(existing: [], desired: desired, context: SlotRuleContext(primary: true)).createLogical == [wanted])
        #expect(SlotRules.plan(existing: [], desired: desired, context: SlotRuleContext(primary: false)).createLogical.isEmpty)
        // An owned slot of the wrong plugin is made again; on a replica the copier owns it.
        let wrong = [Self.slot("test_logical", "logical", plugin: "pgoutput", database: "postgres")]
        #expect(SlotRules.plan(existing: wrong, desired: desired, context: SlotRuleContext(owned: ["test_logical"], primary: true)).drop == ["test_logical"])
        #expect(SlotRules.plan(existing: wrong, desired: desired, context: SlotRuleContext(owned: ["test_logical"])).drop.isEmpty)
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
