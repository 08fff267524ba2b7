import Foundation
import Testing
import StazCore
@testable import StazConfig

@Suite struct DynamicSettingsTests {
    let local: StazConfiguration

    init() throws { local = try ConfigLoader.parse(try sampleRaw()).0 }

    func object(_ yaml: String) throws -> JSONObject {
        try #require(try YAMLConversion.parse(yaml).objectValue)
    }

    @Test func bootstrapDCSUsedWhenDCSHasNoConfig() {
        let (s, _) = DynamicSettings.resolve(dcsConfig: nil, bootstrapDCS: local.bootstrap.dcs, local: local)
        #expect(s.synchronousMode == "on")
        #expect(s.parameters["max_connections"] == .int(200))
        #expect(s.usePgRewind)
        #expect(s.pgHBA?.count == 2)
        #expect(s.source == local.bootstrap.dcs)
    }

    @Test func dcsConfigWinsOverBootstrapAndLocalWinsWhereAllowed() throws {
        let dcs = try object("""
        ttl: 20
        loop_wait: 5
        retry_timeout: 5
        master_start_timeout: 60
        primary_stop_timeout: 7
        maximum_lag_on_failover: 100
        check_timeline: true
        pause: true
        synchronous_mode: quorum
        synchronous_mode_strict: on
        synchronous_node_count: 2
        failsafe_mode: true
        member_slots_ttl: 30min
        ignore_slots:
        - {name: spock_slot, type: logical}
        slots:
          keep_me:
          logical1: {type: logical, database: app, plugin: pgoutput}
        postgresql:
          use_pg_rewind: false
          use_slots: false
          pg_hba: [host all all 0.0.0.0/0 trust]
        """)
        var localRewind = local
        localRewind.postgresql.usePgRewind = true
        let (s, warnings) = DynamicSettings.resolve(dcsConfig: dcs, bootstrapDCS: local.bootstrap.dcs, local: localRewind)
        #expect(warnings.isEmpty, "\(warnings)")
        #expect((s.ttl, s.loopWait, s.retryTimeout) == (20, 5, 5))
        #expect(s.primaryStartTimeout == 60)
        #expect(s.primaryStopTimeout == 7)
        #expect(s.maximumLagOnFailover == 100)
        #expect(s.checkTimeline && s.pause && s.synchronousModeStrict && s.failsafeMode)
        #expect(s.synchronousMode == "quorum")
        #expect(s.synchronousNodeCount == 2)
        #expect(s.memberSlotsTTL == 1800)
        #expect(s.ignoreSlots.first?["name"] == "spock_slot")
        #expect(s.permanentSlots.keys == ["keep_me", "logical1"])
        #expect(s.permanentSlots["keep_me"]?["type"] == "physical")
        #expect(!s.useSlots, "use_slots is dynamic-only")
        #expect(s.usePgRewind, "local use_pg_rewind wins")
        #expect(s.pgHBA == ["host all all 0.0.0.0/0 trust"], "local sample has no pg_hba, so the dynamic one is used")
        #expect(s.parameters.isEmpty)
    }

    @Test func permanentSlotsAreTypedAsPatroniReadsThem() throws {
        let dcs = try object("""
        slots:
          test_physical: 0
          postgres_3:
          untyped_logical: {database: postgres, plugin: test_decoding}
          typed_physical: {type: physical}
          Bad-Name: {type: physical}
          half_logical: {type: logical, plugin: test_decoding}
        ignore_slots:
        - {name: keep_this}
        - {type: logical, plugin: spock_output}
        """)
        let (s, warnings) = DynamicSettings.resolve(dcsConfig: dcs, bootstrapDCS: JSONObject(), local: local)
        #expect(s.permanentSlotList == [
            PermanentSlot(name: "test_physical", kind: .physical), PermanentSlot(name: "postgres_3", kind: .physical),
            PermanentSlot(name: "untyped_logical", kind: .logical(database: "postgres", plugin: "test_decoding")),
            PermanentSlot(name: "typed_physical", kind: .physical),
        ])
        #expect(warnings.contains { "\($0.path) \($0.message)".contains("Bad-Name") && $0.message.contains("invalid slot name") }, "\(warnings)")
        #expect(warnings.contains { "\($0.path) \($0.message)".contains("half_logical.database") }, "\(warnings)")
        #expect(s.ignoreSlotMatchers == [SlotMatcher(name: "keep_this"), SlotMatcher(type: "logical", plugin: "spock_output")])
    }

    @Test(arguments: [
        (JSONValue.bool(true), "on"), (.bool(false), "off"), (.string("on"), "on"), (.string("off"), "off"),
        (.string("quorum"), "quorum"), (.string("QUORUM"), "quorum"),
    ])
    func synchronousModeForms(value: JSONValue, expected: String) {
        let (s, _) = DynamicSettings.resolve(dcsConfig: JSONObject([("synchronous_mode", value)]), bootstrapDCS: JSONObject(), local: local)
        #expect(s.synchronousMode == expected)
    }

    @Test(arguments: [
        (JSONValue.int(3600), 3600.0), (.string("1h"), 3600), (.string("90s"), 90), (.string("2d"), 172800), (.string("500ms"), 0.5),
    ])
    func memberSlotsTTLUnits(value: JSONValue, seconds: Double) {
        let (s, _) = DynamicSettings.resolve(dcsConfig: JSONObject([("member_slots_ttl", value)]), bootstrapDCS: JSONObject(), local: local)
        #expect(s.memberSlotsTTL == seconds)
    }

    @Test func invalidDCSValuesWarnAndKeepDefaults() {
        let dcs = JSONObject([("ttl", "abc"), ("synchronous_node_count", 0), ("postgresql", ["parameters": ["max_connections": 5, "wal_level": "minimal", "port": 1]])])
        let (s, warnings) = DynamicSettings.resolve(dcsConfig: dcs, bootstrapDCS: JSONObject(), local: local)
        #expect(s.ttl == 30)
        #expect(s.synchronousNodeCount == 1)
        #expect(s.parameters.isEmpty)
        let paths = Set(warnings.map(\.path))
        #expect(paths.isSuperset(of: ["config.ttl", "config.synchronous_node_count", "config.postgresql.parameters.max_connections",
                                      "config.postgresql.parameters.wal_level", "config.postgresql.parameters.port"]))
        #expect(warnings.contains { $0.message == "postgresql parameter max_connections=5 failed validation, defaulting to 100" })
    }

    /// (ttl, loop_wait, retry_timeout) configured → expected, and whether a warning is given.
    @Test(arguments: [
        ((30.0, 10.0, 10.0), (30.0, 10.0, 10.0), false),
        ((10, 2, 4), (10, 2, 4), false),
        ((4, 1, 1), (4, 1, 1), false),
        ((2, 1, 1), (4, 1, 1), true),          // ttl floor 4
        ((30, 0.5, 10), (30, 1, 10), true),   // loop_wait floor 1
        ((30, 10, 15), (30, 10, 10), true),   // retry lowered first
        ((10, 10, 10), (10, 8, 1), true),     // then loop_wait
        ((12, 4, 6), (12, 4, 4), true),
        ((5, 1, 0.5), (5, 1, 1), true),       // retry floor 1
    ] as [((Double, Double, Double), (Double, Double, Double), Bool)])
    func timingRule(configured: (Double, Double, Double), expected: (Double, Double, Double), warns: Bool) {
        var s = DynamicSettings()
        (s.ttl, s.loopWait, s.retryTimeout) = configured
        let warnings = s.applyTimingRule()
        #expect(s.ttl == expected.0 && s.loopWait == expected.1 && s.retryTimeout == expected.2,
                "got \(s.ttl), \(s.loopWait), \(s.retryTimeout)")
        #expect(s.loopWait + 2 * s.retryTimeout <= s.ttl)
        #expect(!warnings.isEmpty == warns)
    }

    @Test func resolveAppliesTimingRule() {
        let (s, warnings) = DynamicSettings.resolve(dcsConfig: JSONObject([("ttl", 10), ("loop_wait", 10), ("retry_timeout", 10)]),
                                                    bootstrapDCS: JSONObject(), local: local)
        #expect((s.ttl, s.loopWait, s.retryTimeout) == (10, 8, 1))
        #expect(warnings.contains { $0.path == "retry_timeout" && $0.message.contains("loop_wait=8") })
    }
}
