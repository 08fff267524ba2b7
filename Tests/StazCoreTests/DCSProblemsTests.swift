import Testing
@testable import StazCore

/// Every DCS value staz cannot use is named (issue 14: garbage keys were dropped silently, and a
/// garbage member key got a replication slot).
struct DCSProblemsTests {
    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var keys: [String: String]
        var problems: [String]
        var testDescription: String { name }
    }

    static let member = #"{"conn_url": "postgres://127.0.0.1:5432/postgres", "api_url": "http://127.0.0.1:8008/patroni"}"#

    static let rows: [Row] = [
        Row(name: "a healthy cluster has none",
            keys: ["config": #"{"ttl": 30}"#, "history": #"[[1, 100, "no recovery target specified"]]"#,
                   "failover": "{}", "failsafe": #"{"m0": "http://x"}"#, "members/m0": member],
            problems: []),
        Row(name: "config that is not JSON", keys: ["config": "ttl: 30"],
            problems: ["config: not a JSON object; read as an empty dynamic configuration"]),
        Row(name: "config that is an array", keys: ["config": "[1]"],
            problems: ["config: not a JSON object; read as an empty dynamic configuration"]),
        Row(name: "history that is garbage", keys: ["history": "{oops"], problems: ["history: not a JSON array; ignored"]),
        Row(name: "history lines that are garbage", keys: ["history": #"[[1, 100, "x"], "junk", [2]]"#],
            problems: ["history: 2 line(s) are not [timeline, lsn, reason, ...]; ignored"]),
        Row(name: "failover that is garbage", keys: ["failover": #"{"foo": 1}"#],
            problems: [#"failover: neither {"leader", "member"} nor leader:member; ignored"#]),
        Row(name: "legacy failover text is fine", keys: ["failover": "m0:m1"], problems: []),
        Row(name: "failsafe that is garbage", keys: ["failsafe": "[]"], problems: ["failsafe: not a JSON object; ignored"]),
        Row(name: "a member key without a way to reach it", keys: ["members/ghost": "boo", "members/m0": member],
            problems: ["members/ghost: no conn_url or api_url; not counted as a member (no slot, no candidate)"]),
        Row(name: "a legacy postgres:// member value is fine",
            keys: ["members/m1": "postgres://u:p@127.0.0.1:5432/postgres?application_name=http://127.0.0.1:8009/patroni"],
            problems: []),
    ]

    @Test(arguments: rows)
    func problems(_ row: Row) {
        let view = ClusterView.fromKeys(row.keys.mapValues { DCSRawValue(value: $0) })
        #expect(view.problems == row.problems)
    }

    @Test func garbageMembersAreNotUsable() {
        #expect(!Member.parse(name: "ghost", value: "boo").isUsable)
        #expect(!Member.parse(name: "ghost", value: #"{"state": "running"}"#).isUsable)
        #expect(Member.parse(name: "m0", value: Self.member).isUsable)
    }
}
