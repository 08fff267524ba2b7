import StazCore
import Testing
import StazSystem
@testable import StazPostgres

/// The replica side of logical slot failover: which published slots are copied, advanced and
/// dropped, and when the copies count as ready.
@Suite struct LogicalSlotRulesTests {
    static let plugins: Set<String> = ["pglogical_output"]

    static func copy(_ name: String, confirmed: UInt64?, active: Bool = false, plugin: String = "pglogical_output",
                     walStatus: String = "reserved", catalogXmin: UInt32? = 740) -> ReplicationSlotInfo {
        ReplicationSlotInfo(name: name, type: "logical", restartLSN: LSN(0x100), confirmedFlushLSN: confirmed.map(LSN.init),
                            active: active, plugin: plugin, database: "postgres", walStatus: walStatus, catalogXmin: catalogXmin)
    }

    static func physical(_ name: String) -> ReplicationSlotInfo {
        ReplicationSlotInfo(name: name, type: "physical", restartLSN: LSN(0x500), active: true)
    }

    static func published(_ name: String, _ position: UInt64) -> PublishedSlot { PublishedSlot(name: name, position: LSN(position)) }

    @Test func candidatesAreThePublishedSlotsThatAreNotMemberSlots() {
        let status = ClusterStatus(optime: 100, slots: [("m1", 90), ("pgl_postgres_zone_sub", 80), ("m2", 70), ("other_phys", 60)],
                                   retainSlots: ["other_phys"])
        let found = LogicalSlotRules.candidates(status: status, memberSlotNames: ["m0", "m1", "m2"])
        #expect(found == [Self.published("pgl_postgres_zone_sub", 80)])
    }

    @Test func heldCopiesArePublishedButNotCopiedToReplicas() {
        let held = HeldSlotName.forSlot("pgl_postgres_zone_sub")
        let status = ClusterStatus(optime: 100, slots: [("pgl_postgres_zone_sub", 80), (held, 70)])
        #expect(LogicalSlotRules.candidates(status: status, memberSlotNames: []) == [Self.published("pgl_postgres_zone_sub", 80)])
    }

    struct PlanRow: Sendable, CustomTestStringConvertible {
        let name: String
        let candidates: [PublishedSlot]
        let local: [ReplicationSlotInfo]
        var owned: Set<String> = []
        var replay: UInt64? = 0x1000
        var notOnPrimary: Set<String> = []
        var statusHasSlots = true
        let expected: LogicalSlotCopyPlan
        var testDescription: String { name }
    }

    static let planRows: [PlanRow] = [
        PlanRow(name: "a published slot without a local one is copied",
                candidates: [published("pgl_a", 0x800)], local: [physical("m1")],
                expected: LogicalSlotCopyPlan(copy: ["pgl_a"])),
        PlanRow(name: "a name the primary did not return is not asked for again",
                candidates: [published("pgl_a", 0x800)], local: [], notOnPrimary: ["pgl_a"],
                expected: LogicalSlotCopyPlan()),
        PlanRow(name: "a copy behind the published position is advanced to it",
                candidates: [published("pgl_a", 0x800)], local: [copy("pgl_a", confirmed: 0x600)],
                expected: LogicalSlotCopyPlan(advance: [SlotAdvance(name: "pgl_a", database: "postgres", target: LSN(0x800))])),
        PlanRow(name: "never beyond the replay position",
                candidates: [published("pgl_a", 0x2000)], local: [copy("pgl_a", confirmed: 0x600)], replay: 0x900,
                expected: LogicalSlotCopyPlan(advance: [SlotAdvance(name: "pgl_a", database: "postgres", target: LSN(0x900))])),
        PlanRow(name: "a copy at (or past) the published position is left alone",
                candidates: [published("pgl_a", 0x800)], local: [copy("pgl_a", confirmed: 0x800)],
                expected: LogicalSlotCopyPlan()),
        PlanRow(name: "nothing is advanced while the replay position is unknown",
                candidates: [published("pgl_a", 0x800)], local: [copy("pgl_a", confirmed: 0x600)], replay: nil,
                expected: LogicalSlotCopyPlan()),
        PlanRow(name: "an invalidated copy is not advanced",
                candidates: [published("pgl_a", 0x800)], local: [copy("pgl_a", confirmed: 0x600, walStatus: "lost")],
                expected: LogicalSlotCopyPlan()),
        PlanRow(name: "a slot of another plugin with the same name is neither advanced nor replaced",
                candidates: [published("pgl_a", 0x800)], local: [copy("pgl_a", confirmed: 0x600, plugin: "test_decoding")],
                expected: LogicalSlotCopyPlan()),
        PlanRow(name: "a copy staz made that is gone from the primary is dropped",
                candidates: [published("pgl_b", 0x800)], local: [copy("pgl_a", confirmed: 0x600), copy("pgl_b", confirmed: 0x800)],
                owned: ["pgl_a", "pgl_b"],
                expected: LogicalSlotCopyPlan(drop: ["pgl_a"])),
        PlanRow(name: "a slot staz did not create is never dropped",
                candidates: [], local: [copy("pgl_a", confirmed: 0x600)], owned: [],
                expected: LogicalSlotCopyPlan()),
        PlanRow(name: "an active copy is not dropped",
                candidates: [], local: [copy("pgl_a", confirmed: 0x600, active: true)], owned: ["pgl_a"],
                expected: LogicalSlotCopyPlan()),
        PlanRow(name: "no drop when the leader published no slots at all",
                candidates: [], local: [copy("pgl_a", confirmed: 0x600)], owned: ["pgl_a"], statusHasSlots: false,
                expected: LogicalSlotCopyPlan()),
    ]

    @Test(arguments: planRows)
    func plan(_ row: PlanRow) {
        let plan = LogicalSlotRules.plan(candidates: row.candidates, local: row.local, plugins: Self.plugins, owned: row.owned,
                                         replay: row.replay.map(LSN.init), notOnPrimary: row.notOnPrimary,
                                         statusHasSlots: row.statusHasSlots)
        #expect(plan == row.expected)
    }

    @Test func readinessNeedsACopyThatReachedAPublishedPositionAndIsProtected() {
        var progress = LogicalSlotProgress()
        let candidates = [Self.published("pgl_a", 0x800)]
        func verdict(_ local: [ReplicationSlotInfo]) -> SlotNotReady? {
            LogicalSlotRules.observe(&progress, candidates: candidates, local: local, plugins: Self.plugins)
            return LogicalSlotRules.readiness(candidates: candidates, local: local, plugins: Self.plugins, progress: progress)["pgl_a"]
        }
        #expect(verdict([]) == .missing)
        #expect(verdict([Self.copy("pgl_a", confirmed: 0x400)]) == .notAdvanced)
        // The target stays the position published when the copy was first seen.
        #expect(progress.targets["pgl_a"] == LSN(0x800))
        #expect(verdict([Self.copy("pgl_a", confirmed: 0x800)]) == .catalogNotProtected)
        progress.covered.insert("pgl_a")
        #expect(verdict([Self.copy("pgl_a", confirmed: 0x800)]) == nil)
        #expect(verdict([Self.copy("pgl_a", confirmed: 0x800, walStatus: "lost")]) == .invalidated)
        #expect(verdict([Self.copy("pgl_a", confirmed: 0x800, plugin: "test_decoding")]) == .wrongKind("of plugin test_decoding"))
        #expect(progress.targets["pgl_a"] == nil, "a slot that is not a copy forgets its progress")
    }

    @Test func aCopyLackingItsWALIsNeverReady() {
        var progress = LogicalSlotProgress()
        let candidates = [Self.published("pgl_a", 0x800)]
        let local = [Self.copy("pgl_a", confirmed: 0x800)]
        LogicalSlotRules.observe(&progress, candidates: candidates, local: local, plugins: Self.plugins)
        progress.covered.insert("pgl_a")
        #expect(LogicalSlotRules.readiness(candidates: candidates, local: local, plugins: Self.plugins, progress: progress,
                                           lackingWAL: ["pgl_a": LSN(0x100)])["pgl_a"] == .lacksWAL(LSN(0x100)))
        #expect(LogicalSlotRules.readiness(candidates: candidates, local: local, plugins: Self.plugins, progress: progress)["pgl_a"] == nil)
    }

    @Test func aPublishedNameThePrimaryDisownsDoesNotCount() {
        // e.g. a physical slot that is not a member's (the leader publishes every physical slot).
        let notReady = LogicalSlotRules.readiness(candidates: [Self.published("pg_basebackup_1234", 0x800)], local: [],
                                                  plugins: Self.plugins, progress: LogicalSlotProgress(),
                                                  notOnPrimary: ["pg_basebackup_1234"])
        #expect(notReady.isEmpty)
    }

    @Test func nothingPublishedMeansReady() {
        #expect(LogicalSlotRules.readiness(candidates: [], local: [Self.copy("pgl_x", confirmed: 1)], plugins: Self.plugins,
                                           progress: LogicalSlotProgress()).isEmpty)
    }

    @Test func reachedOnceStaysReachedWhileTheTargetMovesOn() {
        var progress = LogicalSlotProgress()
        LogicalSlotRules.observe(&progress, candidates: [Self.published("pgl_a", 0x800)], local: [Self.copy("pgl_a", confirmed: 0x800)],
                                 plugins: Self.plugins)
        LogicalSlotRules.observe(&progress, candidates: [Self.published("pgl_a", 0x9000)], local: [Self.copy("pgl_a", confirmed: 0x900)],
                                 plugins: Self.plugins)
        #expect(progress.reached == ["pgl_a"])
        LogicalSlotRules.observe(&progress, candidates: [], local: [Self.copy("pgl_a", confirmed: 0x900)], plugins: Self.plugins)
        #expect(progress.reached.isEmpty, "unpublished slots are forgotten")
    }

    @Test(arguments: [
        // physical catalog_xmin, copy catalog_xmin, covered
        (UInt32?.some(700), UInt32?.some(740), true),
        (UInt32?.some(740), UInt32?.some(740), true),
        (UInt32?.some(741), UInt32?.some(740), false),
        (UInt32?.none, UInt32?.some(740), false),           // no feedback from this replica yet
        (UInt32?.some(700), UInt32?.none, false),
        (UInt32?.some(0xFFFF_FFF0), UInt32?.some(5), true), // across the 2^32 wraparound
        (UInt32?.some(5), UInt32?.some(0xFFFF_FFF0), false),
    ])
    func feedbackCoverage(physical: UInt32?, copy: UInt32?, covered: Bool) {
        #expect(LogicalSlotRules.feedbackCovers(physicalCatalogXmin: physical, copyCatalogXmin: copy) == covered)
    }

    /// A real PostgreSQL 15 state file of a `test_decoding` slot named `lslot`, read with
    /// `encode(pg_read_binary_file('pg_replslot/lslot/state'), 'hex')`.
    static let realStateFile = "a11c05016df64e2902000000b80000006c736c6f740000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000050000000000000000000000e0020000088e000700000000000000000000000040f8000700000000000000000000000000746573745f6465636f64696e6700000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"

    @Test func readsAndVerifiesARealStateFile() throws {
        let file = try #require(SlotStateFile(hex: Self.realStateFile))
        #expect(file.isValid)
        #expect(file.slotName == "lslot")
        #expect(file.restartLSN == LSN(text: "0/7008E08"))
        #expect(file.confirmedFlushLSN == LSN(text: "0/700F840"))
        #expect(file.catalogXmin == 736)
    }

    @Test func aDamagedStateFileIsRefused() throws {
        var hex = Array(Self.realStateFile)
        hex[200] = hex[200] == "0" ? "1" : "0"   // one bit inside the checksummed slot data
        #expect(try #require(SlotStateFile(hex: String(hex))).isValid == false)
        #expect(SlotStateFile(hex: "zz") == nil)
        #expect(SlotStateFile(hex: String(Self.realStateFile.prefix(100))) == nil, "too short to hold a slot name")
    }

    @Test func crc32cMatchesPostgres() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }
}

/// Spock: its slot worker switched off (staz copies the slots) and the primary-side standby
/// guard, per role and version.
@Suite struct SpockSlotSettingsTests {
    static func rendered(_ version: Int, primary: Bool, slots: [String] = ["m1", "m2"]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: SpockSlotSettings.parameters(serverVersion: version, primary: primary, standbySlots: slots))
    }

    @Test func postgres15PrimaryListsTheHealthyStandbys() {
        #expect(Self.rendered(150020, primary: true) == [
            "spock.synchronize_slot_names": "",
            "spock.pg_standby_slot_names": "m1,m2",
        ])
    }

    @Test func aReplicaClearsTheGuard() {
        #expect(Self.rendered(16, primary: false)["spock.pg_standby_slot_names"] == "")
        #expect(Self.rendered(170004, primary: false)["synchronized_standby_slots"] == "")
    }

    @Test func postgres17UsesTheCoreGuard() {
        let settings = Self.rendered(170004, primary: true)
        #expect(settings["synchronized_standby_slots"] == "m1,m2")
        #expect(settings["spock.pg_standby_slot_names"] == nil)
        #expect(settings["spock.synchronize_slot_names"] == "", "the worker exists on 17: switched off")
    }

    @Test func postgres18HasNoSlotWorker() {
        #expect(Self.rendered(180000, primary: true) == ["synchronized_standby_slots": "m1,m2"])
    }

    @Test func healthyStandbysAreTheStreamingMembersExceptMeAndCascades() {
        func member(_ name: String, replicateFrom: String? = nil) -> Member {
            var data = JSONObject()
            if let replicateFrom { data["tags"] = .object(JSONObject([("replicatefrom", .string(replicateFrom))])) }
            return Member(name: name, data: data)
        }
        let members = [member("m0"), member("m1"), member("m2"), member("m3", replicateFrom: "m1"), member("Node-4")]
        let streaming = [(applicationName: "m1", state: "streaming"), (applicationName: "m2", state: "catchup"),
                         (applicationName: "m3", state: "streaming"), (applicationName: "Node-4", state: "streaming"),
                         (applicationName: "m0", state: "streaming")]
        #expect(SpockSlotSettings.healthyStandbySlots(members: members, me: "m0", streaming: streaming) == ["m1", "node_4"])
    }
}

/// A replica cascading through a `nostream` member has no slot on the primary holding its
/// catalog rows: it keeps no logical slot copies, as Patroni gives it none.
@Suite("Logical slot copies: nostream chains")
struct NoStreamChainTests {
    static func member(_ name: String, replicateFrom: String? = nil, noStream: Bool = false) -> Member {
        var tags: [(String, JSONValue)] = []
        if let replicateFrom { tags.append(("replicatefrom", .string(replicateFrom))) }
        if noStream { tags.append(("nostream", .bool(true))) }
        return Member(name: name, data: JSONObject([("tags", .object(JSONObject(tags)))]))
    }

    @Test func aChainThroughANoStreamMemberKeepsNoCopies() {
        let members = [Self.member("p0"), Self.member("n1", noStream: true), Self.member("c2", replicateFrom: "n1"),
                       Self.member("c3", replicateFrom: "c2"), Self.member("r4", replicateFrom: "p0")]
        #expect(LogicalSlotRules.cascadesThroughNoStream(from: "n1", members: members, me: "c2"))
        #expect(LogicalSlotRules.cascadesThroughNoStream(from: "c2", members: members, me: "c3"), "two hops away")
        #expect(!LogicalSlotRules.cascadesThroughNoStream(from: "p0", members: members, me: "r4"))
        #expect(!LogicalSlotRules.cascadesThroughNoStream(from: nil, members: members, me: "p0"))
    }

    @Test func aLoopOrAMissingMemberEndsTheChain() {
        let members = [Self.member("a", replicateFrom: "b"), Self.member("b", replicateFrom: "a")]
        #expect(!LogicalSlotRules.cascadesThroughNoStream(from: "b", members: members, me: "a"))
        #expect(!LogicalSlotRules.cascadesThroughNoStream(from: "gone", members: members, me: "a"))
    }
}
