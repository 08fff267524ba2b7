import Testing
import StazCore
@testable import StazConfig

/// A few PostgreSQL 15 parameters as `pg_settings` describes them.
let postgres15Catalog = ParameterCatalog([
    .init(name: "work_mem", kind: .integer, unit: "kB", minimum: 64, maximum: 2_147_483_647),
    .init(name: "shared_buffers", kind: .integer, unit: "8kB", minimum: 16, maximum: 1_073_741_823),
    .init(name: "checkpoint_timeout", kind: .integer, unit: "s", minimum: 30, maximum: 86400),
    .init(name: "max_connections", kind: .integer, minimum: 1, maximum: 262_143),
    .init(name: "random_page_cost", kind: .real, minimum: 0, maximum: 1.79769e308),
    .init(name: "hot_standby_feedback", kind: .bool),
    .init(name: "synchronous_commit", kind: .enumeration, enumValues: ["local", "remote_write", "remote_apply", "on", "off"]),
    .init(name: "log_min_messages", kind: .enumeration,
          enumValues: ["debug5", "debug4", "debug3", "debug2", "debug1", "info", "notice", "warning", "error", "log", "fatal", "panic"]),
    .init(name: "wal_level", kind: .enumeration, enumValues: ["minimal", "replica", "logical"]),
    .init(name: "search_path", kind: .string),
    .init(name: "wal_keep_size", kind: .integer, unit: "MB", minimum: 0, maximum: 2_147_483_647),
], complete: true)

@Suite struct GUCValueSyntaxTests {
    @Test(arguments: [
        ("work_mem", JSONValue.string("4MB"), true), ("work_mem", .int(64), true), ("work_mem", .string("1GB"), true),
        ("work_mem", .string(" 2048 kB"), true), ("work_mem", .string("0x100"), true), ("work_mem", .string("1.5MB"), true),
        ("work_mem", .string("lots"), false), ("work_mem", .int(63), false), ("work_mem", .string("4 mb"), false),
        ("work_mem", .string("10s"), false), ("work_mem", .string("3TB"), false), ("work_mem", .bool(true), false),
        ("work_mem", .array([.int(1)]), false),
        ("shared_buffers", .string("128MB"), true), ("shared_buffers", .string("64kB"), false),
        ("checkpoint_timeout", .string("5min"), true), ("checkpoint_timeout", .string("10"), false),
        ("checkpoint_timeout", .string("2d"), false), ("checkpoint_timeout", .string("1h"), true),
        ("max_connections", .string("100"), true), ("max_connections", .string("100MB"), false),
        ("random_page_cost", .double(1.1), true), ("random_page_cost", .string("-1"), false), ("random_page_cost", .string("x"), false),
        ("hot_standby_feedback", .string("of"), true), ("hot_standby_feedback", .string("o"), false),
        ("hot_standby_feedback", .string("TRUE"), true), ("hot_standby_feedback", .string("banana"), false),
        ("synchronous_commit", .string("remote_apply"), true), ("synchronous_commit", .string("yes"), true),
        ("synchronous_commit", .string("sometimes"), false),
        ("log_min_messages", .string("debug"), true), ("log_min_messages", .string("DEBUG3"), true),
        ("wal_level", .string("hot_standby"), true),
        ("search_path", .string("anything, at all"), true),
        ("no_such_parameter", .int(1), false), ("spock.conflict_resolution", .string("last_update_wins"), true),
    ])
    func valuesAreJudgedAsPostgreSQLWould(name: String, value: JSONValue, accepted: Bool) {
        #expect((postgres15Catalog.refusal(name: name, value: value) == nil) == accepted)
    }

    @Test func describeConfigCatalogChecksWhatItCan() {
        let text = "work_mem\tuser\tResource Usage / Memory\tINTEGER\t0\t64\t2147483647\tSets ...\t\n"
            + "synchronous_commit\tuser\tWAL\tENUM\ton\t\t\tSets ...\t\n"
            + "fsync\tsighup\tWAL\tBOOLEAN\tFALSE\t\t\tForces ...\t\n"
        let catalog = ParameterCatalog.fromDescribeConfig(text)
        #expect(!catalog.complete)
        #expect(catalog.refusal(name: "work_mem", value: "lots") != nil)
        #expect(catalog.refusal(name: "work_mem", value: 10) != nil)
        #expect(catalog.refusal(name: "work_mem", value: "4MB") == nil)
        #expect(catalog.refusal(name: "work_mem", value: "4 parsecs") != nil)
        #expect(catalog.refusal(name: "synchronous_commit", value: "whatever") == nil)
        #expect(catalog.refusal(name: "fsync", value: "nope") != nil)
        #expect(catalog.refusal(name: "fsync", value: "on") == nil, "BOOLEAN is how --describe-config names bool")
        #expect(catalog.refusal(name: "fysnc", value: "on") != nil)
    }

    @Test func settingsRowsBecomeDefinitions() throws {
        let row: [String: String?] = ["name": "synchronous_commit", "vartype": "enum", "unit": nil, "min_val": nil,
                                      "max_val": nil, "enumvals": "{local,remote_write,remote_apply,on,off}"]
        let definition = try #require(ParameterCatalog.definition(settingsRow: row))
        #expect(definition.kind == .enumeration)
        #expect(definition.enumValues == ["local", "remote_write", "remote_apply", "on", "off"])
    }
}

@Suite struct DynamicConfigValidationTests {
    func issues(_ json: String, catalog: ParameterCatalog? = postgres15Catalog) throws -> [String] {
        guard case .object(let object) = try JSONValue.parse(json) else { throw ConfigError(issues: []) }
        return DynamicConfigValidation.issues(object, catalog: catalog).map(\.path)
    }

    @Test func theIssueReportsExamplesAreRefusedByKey() throws {
        #expect(try issues(#"{"postgresql":{"parameters":{"work_mem":"lots"}}}"#) == ["postgresql.parameters.work_mem"])
        #expect(try issues(#"{"ttl":"abc"}"#) == ["ttl"])
        #expect(try issues(#"{"loop_wait":-1}"#) == ["loop_wait"])
        #expect(try issues(#"{"synchronous_mode":"banana"}"#) == ["synchronous_mode"])
        #expect(try issues(#"{"postgresql":"notamap"}"#) == ["postgresql"])
        #expect(try issues(#"{"ttl":30,"loop_wait":40}"#) == ["loop_wait"])
    }

    @Test func ownedParametersFollowStazRulesEvenWithoutACatalog() throws {
        #expect(try issues(#"{"postgresql":{"parameters":{"max_connections":"many"}}}"#, catalog: nil) == ["postgresql.parameters.max_connections"])
        #expect(try issues(#"{"postgresql":{"parameters":{"port":5433}}}"#, catalog: nil) == ["postgresql.parameters.port"])
        #expect(try issues(#"{"postgresql":{"parameters":{"work_mem":"lots"}}}"#, catalog: nil) == [])
        // Owned parameters the server does not know are translated, not refused...
        #expect(try issues(#"{"postgresql":{"parameters":{"wal_keep_segments":100}}}"#) == [])
        // ...and those it knows are checked by it too.
        #expect(try issues(#"{"postgresql":{"parameters":{"max_connections":1000000}}}"#) == ["postgresql.parameters.max_connections"])
    }

    @Test func aGoodConfigurationHasNoIssues() throws {
        let good = #"{"ttl":30,"loop_wait":10,"retry_timeout":10,"maximum_lag_on_failover":1048576,"synchronous_mode":"quorum","#
            + #""postgresql":{"use_pg_rewind":true,"parameters":{"work_mem":"8MB","max_connections":200,"wal_level":"logical","#
            + #""synchronous_commit":"on","hot_standby_feedback":"on","shared_buffers":"256MB"}}}"#
        #expect(try issues(good) == [])
    }

    /// Changes Patroni's own acceptance features make through PATCH /config must all pass.
    @Test(arguments: [
        #"{"ttl": 20, "synchronous_mode": true}"#,
        #"{"pause": true, "maximum_lag_on_syncnode": 15000000, "postgresql": {"parameters": {"synchronous_commit": "remote_apply"}}}"#,
        #"{"synchronous_mode": null, "master_start_timeout": 0}"#,
        #"{"loop_wait": 2, "ttl": 20, "retry_timeout": 3, "failsafe_mode": true}"#,
        #"{"postgresql": {"parameters": {"wal_level": "logical"}}, "slots": {"dcs_slot_1": null, "postgres_0": null}}"#,
        #"{"slots": {"dcs_slot_0": {"type": "logical", "database": "postgres", "plugin": "test_decoding"}}}"#,
        #"{"ignore_slots": [{"name": "unmanaged_slot_3"}], "postgresql": {"parameters": {"wal_level": "logical"}}}"#,
        #"{"ttl": 20, "postgresql": {"parameters": {"max_connections": "101"}}}"#,
        #"{"slots": {"test_physical": 0, "postgres_3": 0}, "postgresql": {"parameters": {"wal_level": "logical"}}}"#,
        #"{"synchronous_mode": "quorum", "synchronous_mode_strict": true, "synchronous_node_count": 2}"#,
        #"{"standby_cluster": null}"#,
    ])
    func patroniAcceptanceChangesPass(_ json: String) throws {
        #expect(try issues(json) == [])
    }

    @Test func onlyProblemsAChangeAddsAreRefused() throws {
        guard case .object(let current) = try JSONValue.parse(#"{"ttl":"abc","loop_wait":10}"#),
              case .object(let proposed) = try JSONValue.parse(#"{"ttl":"abc","loop_wait":5}"#),
              case .object(let worse) = try JSONValue.parse(#"{"ttl":"abc","loop_wait":"x"}"#) else { return }
        #expect(DynamicConfigValidation.newIssues(proposed: proposed, current: current, catalog: nil).isEmpty)
        #expect(DynamicConfigValidation.newIssues(proposed: worse, current: current, catalog: nil).map(\.path) == ["loop_wait"])
    }

    /// Random configurations, bounded in number: validation never traps, and whatever it
    /// accepts is taken by members as it is (no key falls back to a default, no parameter
    /// would be refused by the server).
    @Test func fuzzedConfigurationsAcceptedAreUsedAsWritten() {
        var generator = SplitMix64(seed: 0x5747A2)
        let keys = ["ttl", "loop_wait", "retry_timeout", "maximum_lag_on_failover", "synchronous_mode", "pause",
                    "synchronous_node_count", "failsafe_mode", "member_slots_ttl", "postgresql", "check_timeline"]
        let parameterNames = postgres15Catalog.definitions.keys.sorted() + ["bogus"]  // sorted: the same cases every run
        var accepted = 0
        for _ in 0..<3000 {
            var config = JSONObject()
            for _ in 0..<Int.random(in: 0...4, using: &generator) {
                let key = keys.randomElement(using: &generator)!
                if key == "postgresql" {
                    var parameters = JSONObject()
                    for _ in 0..<Int.random(in: 0...3, using: &generator) {
                        parameters[parameterNames.randomElement(using: &generator)!] = randomScalar(&generator)
                    }
                    config[key] = Bool.random(using: &generator) ? .object(JSONObject([("parameters", .object(parameters))])) : randomScalar(&generator)
                } else {
                    config[key] = randomScalar(&generator)
                }
            }
            guard DynamicConfigValidation.issues(config, catalog: postgres15Catalog).isEmpty else { continue }
            accepted += 1
            let diagnostics = Diagnostics()
            let settings = DynamicConfigParser.parse(config, path: "config", diagnostics: diagnostics, strict: false)
            #expect(diagnostics.issues.isEmpty, "accepted \(config) but members would fall back: \(diagnostics.issues)")
            for (name, value) in settings.parameters.pairs where !value.isNull {  // null: not set
                #expect(postgres15Catalog.refusal(name: name, value: value) == nil, "accepted \(name)=\(value)")
            }
        }
        #expect(accepted > 100)
    }

    private func randomScalar(_ generator: inout SplitMix64) -> JSONValue {
        let texts = ["abc", "4MB", "on", "quorum", "-1", "0x10", "1e3", "5min", "", "10 s", "banana", "1.5", "debug", "yes"]
        switch Int.random(in: 0..<6, using: &generator) {
        case 0: return .int(Int64.random(in: -100...100_000, using: &generator))
        case 1: return .double(Double.random(in: -10...1000, using: &generator))
        case 2: return .bool(Bool.random(using: &generator))
        case 3: return .null
        case 4: return .array([.int(1)])
        default: return .string(texts.randomElement(using: &generator)!)
        }
    }
}

/// A seeded generator, so a failing fuzz case is the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct ParameterGuardTests {
    @Test func aRefusedValueKeepsTheLastGoodOne() {
        let (accepted, rejections) = ParameterGuard.apply(
            JSONObject([("work_mem", "lots"), ("checkpoint_timeout", "never"), ("search_path", "app")]),
            catalog: postgres15Catalog, lastGood: JSONObject([("work_mem", "4MB"), ("checkpoint_timeout", "1s")]))
        #expect(accepted["work_mem"] == "4MB")
        #expect(accepted["checkpoint_timeout"] == nil, "the last value was bad too: left out")
        #expect(accepted["search_path"] == "app")
        #expect(rejections.map(\.name) == ["work_mem", "checkpoint_timeout"])
        #expect(rejections.first?.description.contains("keeping the last good value '4MB'") == true)
    }
}
