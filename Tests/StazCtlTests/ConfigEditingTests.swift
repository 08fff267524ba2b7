import StazCore
import Testing
@testable import StazCtl

struct ConfigEditingTests {
    static let base: JSONObject = try! JSONValue.parse(
        #"{"ttl":30,"loop_wait":10,"postgresql":{"use_pg_rewind":true,"parameters":{"max_connections":100,"wal_level":"replica"}}}"#
    ).objectValue!

    static func json(_ object: JSONObject) -> String { JSONValue.object(object).compactString }

    @Test(arguments: [
        // -s pairs, expected compact JSON of the result (key order as patronictl writes it)
        (["ttl=20"], #"{"ttl":20,"loop_wait":10,"postgresql":{"use_pg_rewind":true,"parameters":{"max_connections":100,"wal_level":"replica"}}}"#),
        (["ttl=null"], #"{"loop_wait":10,"postgresql":{"use_pg_rewind":true,"parameters":{"max_connections":100,"wal_level":"replica"}}}"#),
        (["ttl="], #"{"loop_wait":10,"postgresql":{"use_pg_rewind":true,"parameters":{"max_connections":100,"wal_level":"replica"}}}"#),
        (["synchronous_mode=on", "pause='on'"], #"{"ttl":30,"loop_wait":10,"postgresql":{"use_pg_rewind":true,"parameters":{"max_connections":100,"wal_level":"replica"}},"synchronous_mode":true,"pause":"on"}"#),
        (["postgresql.parameters.auto_explain.log_min_duration=10ms"], #"{"ttl":30,"loop_wait":10,"postgresql":{"use_pg_rewind":true,"parameters":{"max_connections":100,"wal_level":"replica","auto_explain.log_min_duration":"10ms"}}}"#),
        (["postgresql.parameters.max_connections=null", "postgresql.parameters.wal_level=null", "postgresql.use_pg_rewind=null"], #"{"ttl":30,"loop_wait":10}"#),
        (["standby_cluster.host=10.0.0.1", "standby_cluster.port=5433"], #"{"ttl":30,"loop_wait":10,"postgresql":{"use_pg_rewind":true,"parameters":{"max_connections":100,"wal_level":"replica"}},"standby_cluster":{"host":"10.0.0.1","port":5433}}"#),
        (["ttl.x=1"], #"{"ttl":{"x":1},"loop_wait":10,"postgresql":{"use_pg_rewind":true,"parameters":{"max_connections":100,"wal_level":"replica"}}}"#),
        (["slots={a: {type: physical}}", "tags=[1, 2.5, x]"], #"{"ttl":30,"loop_wait":10,"postgresql":{"use_pg_rewind":true,"parameters":{"max_connections":100,"wal_level":"replica"}},"slots":{"a":{"type":"physical"}},"tags":[1,2.5,"x"]}"#),
        (["nothing.here=null"], #"{"ttl":30,"loop_wait":10,"postgresql":{"use_pg_rewind":true,"parameters":{"max_connections":100,"wal_level":"replica"}}}"#),
        ([" ttl =a=b"], #"{"ttl":"a=b","loop_wait":10,"postgresql":{"use_pg_rewind":true,"parameters":{"max_connections":100,"wal_level":"replica"}}}"#),
    ])
    func setPairs(_ pairs: [String], _ expected: String) throws {
        #expect(Self.json(try ConfigEditing.applyChanges(Self.base, pairs: pairs)) == expected)
    }

    @Test(arguments: ["ttl", "", "ttl:20"])
    func invalidPair(_ pair: String) {
        #expect(throws: CtlError.self) { try ConfigEditing.applyChanges(Self.base, pairs: [pair]) }
    }

    @Test func invalidPairMessage() {
        do {
            _ = try ConfigEditing.applyChanges(Self.base, pairs: ["ttl"])
            Issue.record("no error")
        } catch let error as CtlError {
            #expect(error.message == "Invalid parameter setting ttl")
        } catch { Issue.record("\(error)") }
    }

    @Test func applyMergesAndDeletes() throws {
        let result = try ConfigEditing.applyYAML(Self.base, yaml: "ttl: 20\npostgresql:\n  parameters:\n    max_connections: null\n    work_mem: 8MB\nloop_wait: '10'\n", source: "f")
        // loop_wait '10' has the same str() as 10, so patch_config keeps the integer.
        #expect(Self.json(result) == #"{"ttl":20,"loop_wait":10,"postgresql":{"use_pg_rewind":true,"parameters":{"wal_level":"replica","work_mem":"8MB"}}}"#)
    }

    @Test func replaceStartsFromNothing() throws {
        let result = try ConfigEditing.applyYAML(JSONObject(), yaml: "ttl: 20\nx: null\n", source: "f")
        #expect(Self.json(result) == #"{"ttl":20}"#)
        #expect(throws: CtlError.self) { try ConfigEditing.applyYAML(JSONObject(), yaml: "just text", source: "-") }
    }

    @Test(arguments: [
        (JSONValue.int(1), JSONValue.double(1.0), true), (.bool(true), .int(1), true), (.string("1"), .int(1), false),
        (["a": 1, "b": 2], ["b": 2, "a": 1], true), ([1, 2], [2, 1], false), (.null, .null, true),
    ] as [(JSONValue, JSONValue, Bool)])
    func pythonEquality(_ a: JSONValue, _ b: JSONValue, _ equal: Bool) {
        #expect(ConfigEditing.pythonEqual(a, b) == equal)
    }

    @Test(arguments: DiffGolden.cases.indices)
    func unifiedDiffMatchesDifflib(_ index: Int) {
        let c = DiffGolden.cases[index]
        #expect(unifiedDiffLines(before: c.before, after: c.after) == c.lines)
    }

    @Test func unifiedDiffWithPopularLines() {
        let before = (0..<260).map { $0 % 2 == 1 ? "x: 1" : "y\($0): 0" }.joined(separator: "\n") + "\n"
        let after = before.replacingOccurrences(of: "y100: 0\n", with: "y100: 1\nz: 2\n")
        #expect(unifiedDiffLines(before: before, after: after) == DiffGolden.long2Lines)
        #expect(unifiedDiffLines(before: before, after: before).isEmpty)
    }

    @Test func configYAMLIsSortedBlockStyle() {
        #expect(formatConfigForEditing(Self.base) == """
        loop_wait: 10
        postgresql:
          parameters:
            max_connections: 100
            wal_level: replica
          use_pg_rewind: true
        ttl: 30

        """)
    }
}
