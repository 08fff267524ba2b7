import StazCore
import Testing
@testable import StazHA

/// The topology of Patroni's permanent_slots.feature: pg0 leads, pg1 replicates from it, pg2 is
/// `nofailover`, pg3 cascades from pg2; `test_physical` and `pg3` are permanent physical slots,
/// `test_logical` a permanent logical one.
@Suite struct SlotPlannerTests {
    static func key(_ name: String, replicateFrom: String? = nil, noFailover: Bool = false, noStream: Bool = false,
                    xlog: Int64? = nil) -> Member {
        var m = member(name, role: name == "pg0" ? "primary" : "replica", noFailover: noFailover)
        var tags = m.tags
        if let replicateFrom { tags["replicatefrom"] = .string(replicateFrom) }
        if noStream { tags["nostream"] = .bool(true) }
        if !tags.isEmpty { m.data["tags"] = .object(tags) }
        if let xlog { m.data["xlog_location"] = .int(xlog) }
        return m
    }

    static let permanent = [PermanentSlot(name: "test_physical", kind: .physical), PermanentSlot(name: "pg3", kind: .physical),
                            PermanentSlot(name: "test_logical", kind: .logical(database: "postgres", plugin: "test_decoding"))]

    static func view(status: ClusterStatus = ClusterStatus(), extra: [Member] = []) -> ClusterView {
        cluster(leader: "pg0", memberKeys: [key("pg0"), key("pg1"), key("pg2", noFailover: true),
                                            key("pg3", replicateFrom: "pg2", xlog: 0x900)] + extra)
            .with(status: status)
    }

    static func plan(_ me: String, leading: Bool = false, ttl: Double = 1800, status: ClusterStatus = ClusterStatus(),
                     extra: [Member] = [], noFailover: Bool = false) -> DesiredSlots {
        SlotPlanner.desired(SlotPlannerInput(cluster: view(status: status, extra: extra), me: me, leading: leading,
                                             noFailover: noFailover, memberSlotsTTL: ttl, permanent: permanent))
    }

    static func physicalNames(_ slots: DesiredSlots) -> [String] { slots.physical.map(\.name).sorted() }

    @Test(arguments: [
        // me, leading, nofailover, ttl, physical slots, logical slots
        ("pg0", true, false, 1800.0, ["pg1", "pg2", "pg3", "test_physical"], ["test_logical"]),
        ("pg1", false, false, 1800.0, ["pg0", "pg2", "pg3", "test_physical"], ["test_logical"]),
        // nofailover: only the members cascading from it, no permanent slot.
        ("pg2", false, true, 1800.0, ["pg3"], []),
        ("pg3", false, false, 1800.0, ["pg0", "pg1", "pg2", "test_physical"], ["test_logical"]),
        // member_slots_ttl 0: the leader keeps the slots of those streaming from it, plus the
        // permanent pg3; a replica only those cascading from it.
        ("pg0", true, false, 0.0, ["pg1", "pg2", "pg3", "test_physical"], ["test_logical"]),
        ("pg1", false, false, 0.0, ["pg3", "test_physical"], ["test_logical"]),
        ("pg2", false, true, 0.0, ["pg3"], []),
    ] as [(String, Bool, Bool, Double, [String], [String])])
    func slotsPerMember(me: String, leading: Bool, noFailover: Bool, ttl: Double, physical: [String], logical: [String]) {
        let slots = Self.plan(me, leading: leading, ttl: ttl, noFailover: noFailover)
        #expect(Self.physicalNames(slots) == physical)
        #expect(slots.logical.map(\.name) == logical)
        #expect(slots.problems.isEmpty)
    }

    @Test func theLeaderExpectsStreamingExceptFromCascadingMembers() {
        let slots = Self.plan("pg0", leading: true)
        #expect(slots.physicalSlot(named: "pg1")?.expectedActive == true)
        #expect(slots.physicalSlot(named: "pg3")?.expectedActive == false)
        #expect(slots.physicalSlot(named: "test_physical")?.expectedActive == true)
        // On a replica nothing streams from the copies, except a member cascading from it.
        let onPG2 = Self.plan("pg2", noFailover: true)
        #expect(onPG2.physicalSlot(named: "pg3")?.expectedActive == true)
        #expect(Self.plan("pg1").physical.allSatisfy { !$0.expectedActive })
    }

    @Test func positionsComeFromTheStatusKeyOrACascadingMembersOwnPosition() {
        let status = ClusterStatus(slots: [("pg0", 0x700), ("pg2", 0x600), ("pg3", 0x500), ("test_physical", 0x400), ("test_logical", 0x300)])
        let slots = Self.plan("pg1", status: status)
        #expect(slots.physicalSlot(named: "pg0")?.position == LSN(0x700))
        #expect(slots.physicalSlot(named: "pg2")?.position == LSN(0x600))
        // pg3 cascades: its own position (0x900) is further than the leader's idle slot.
        #expect(slots.physicalSlot(named: "pg3")?.position == LSN(0x900))
        #expect(slots.physicalSlot(named: "test_physical")?.position == LSN(0x400))
        #expect(slots.logicalSlot(named: "test_logical")?.position == LSN(0x300))
    }

    @Test func retainedSlotsAreKeptButNeverOurOwn() {
        let status = ClusterStatus(retainSlots: ["pg1", "gone_member"])
        #expect(Self.physicalNames(Self.plan("pg1", status: status)).contains("gone_member"))
        #expect(!Self.physicalNames(Self.plan("pg1", status: status)).contains("pg1"))
        #expect(Self.physicalNames(Self.plan("pg2", status: status, noFailover: true)) == ["pg3"])
    }

    @Test func nostreamMembersGetNoSlotAndANostreamMemberNoLogicalSlot() {
        let slots = Self.plan("pg0", leading: true, extra: [Self.key("pg4", noStream: true)])
        #expect(!Self.physicalNames(slots).contains("pg4"))
        let mine = SlotPlanner.desired(SlotPlannerInput(cluster: Self.view(), me: "pg1", leading: false, noStream: true,
                                                        permanent: Self.permanent))
        #expect(mine.logical.isEmpty)
        #expect(Self.physicalNames(mine).contains("test_physical"))
    }

    @Test func conflictsAreReported() {
        let clash = [PermanentSlot(name: "pg1", kind: .logical(database: "postgres", plugin: "test_decoding"))]
        let slots = SlotPlanner.desired(SlotPlannerInput(cluster: Self.view(extra: [Self.key("PG1")]), me: "pg0", leading: true,
                                                         permanent: clash))
        #expect(slots.logical.isEmpty)
        #expect(slots.problems.count == 2)
    }

    @Test func useSlotsOffMeansNoSlots() {
        let slots = SlotPlanner.desired(SlotPlannerInput(cluster: Self.view(), me: "pg0", leading: true, useSlots: false,
                                                         permanent: Self.permanent))
        #expect(slots == DesiredSlots())
    }
}

@Suite struct RetainedSlotsTests {
    @Test func membersSlotsAreRetainedForTheTTLAndPermanentOnesNever() {
        var retained = RetainedSlots()
        let members = [member("pg0"), member("pg1"), member("pg2")]
        retained.update(slots: ["pg0", "pg1", "pg2", "pg3"], members: members, me: "pg0", permanentPhysical: ["pg2"], ttl: 100, now: 0)
        #expect(retained.names == ["pg0", "pg1"])
        // pg1's key expires: its name stays until 100 s after it was last seen.
        let expired = retained.update(slots: ["pg0"], members: [member("pg0")], me: "pg0", permanentPhysical: ["pg2"], ttl: 100, now: 60)
        #expect(expired.isEmpty)
        #expect(retained.names == ["pg0", "pg1"])
        #expect(retained.update(slots: ["pg0"], members: [member("pg0")], me: "pg0", permanentPhysical: [], ttl: 100, now: 100) == ["pg1"])
        #expect(retained.names == ["pg0"])
    }

    @Test func aNewLeaderInheritsTheRetainedNames() {
        var retained = RetainedSlots.inherited(["pg1", "pg2"], now: 50)
        #expect(retained.update(slots: [], members: [], me: "pg0", permanentPhysical: [], ttl: 10, now: 55).isEmpty)
        #expect(retained.update(slots: [], members: [], me: "pg0", permanentPhysical: [], ttl: 10, now: 60) == ["pg1", "pg2"])
    }

    @Test func ourOwnNameCountsEvenWithoutOurMemberKey() {
        var retained = RetainedSlots()
        retained.update(slots: ["pg0", "pg9"], members: [], me: "pg0", permanentPhysical: [], ttl: 10, now: 0)
        #expect(retained.names == ["pg0"])
    }
}

extension ClusterView {
    func with(status: ClusterStatus) -> ClusterView {
        var copy = self
        copy.status = status
        return copy
    }
}
