import StazCore
import Testing
@testable import StazCtl

/// stazctl's output compared with what the real patronictl 4.1.5 printed for the same DCS keys.
struct RenderingTests {
    static let scopes = ["demo", "paused", "fresh"]
    static let listCases: [(String, String, OutputFormat)] = scopes.flatMap { scope in
        [("pretty", OutputFormat.pretty), ("tsv", .tsv), ("json", .json), ("yaml", .yaml)].map { (scope, $0.0, $0.1) }
    }

    static func expected(_ name: String) -> String {
        (Golden.outputs[name] ?? "<missing golden \(name)>") + "\n"
    }

    @Test(arguments: listCases)
    func list(_ scope: String, _ formatName: String, _ format: OutputFormat) {
        #expect(renderClusterList(Golden.view(scope), name: scope, format: format) == Self.expected("list-\(scope)-\(formatName)"))
    }

    @Test(arguments: scopes)
    func listExtended(_ scope: String) {
        #expect(renderClusterList(Golden.view(scope), name: scope, extended: true) == Self.expected("list-\(scope)-extended"))
    }

    @Test(arguments: scopes)
    func topology(_ scope: String) {
        #expect(renderClusterList(Golden.view(scope), name: scope, format: .topology) == Self.expected("topology-\(scope)"))
    }

    @Test(arguments: scopes)
    func history(_ scope: String) {
        let view = Golden.view(scope)
        #expect(renderHistory(view) == Self.expected("history-\(scope)"))
        #expect(renderHistory(view, format: .tsv) == Self.expected("history-\(scope)-tsv"))
        #expect(renderHistory(view, format: .json) == Self.expected("history-\(scope)-json"))
        #expect(renderHistory(view, format: .yaml) == Self.expected("history-\(scope)-yaml"))
    }

    @Test(arguments: scopes)
    func showConfig(_ scope: String) {
        let expected = Golden.outputs["showconfig-\(scope)"].map { $0.isEmpty ? "" : $0 + "\n" }
        #expect(renderShowConfig(Golden.view(scope)) == expected)
    }

    @Test(arguments: [("demo", nil, nil, "dsn-demo"), ("demo", "replica", nil, "dsn-demo-replica"),
                      ("demo", nil, "node3", "dsn-demo-node3"), ("paused", nil, nil, "dsn-paused"),
                      ("paused", "replica", nil, "dsn-paused-replica"), ("fresh", "replica", nil, "dsn-fresh-replica")]
                      as [(String, String?, String?, String)])
    func dsn(_ scope: String, _ role: String?, _ member: String?, _ golden: String) throws {
        let rendered = try renderDSN(Golden.view(scope), role: role.flatMap(MemberRoleFilter.init(rawValue:)), member: member)
        #expect(rendered == Golden.dsn[golden])
    }

    @Test(arguments: [("fresh", nil as String?), ("paused", "node3" as String?)])
    func dsnWithoutSuitableMember(_ scope: String, _ member: String?) {
        #expect(Golden.dsn[member == nil ? "dsn-\(scope)" : "dsn-\(scope)-\(member!)"] == "Error: Can not find a suitable member")
        #expect(throws: CtlError.self) { try renderDSN(Golden.view(scope), role: nil, member: member) }
    }

    @Test func emptyClusterTable() {
        let expected = """
        + Cluster: nosuch (uninitialized) --+-------------+-----+------------+-----+
        | Member | Host | Role | State | TL | Receive LSN | Lag | Replay LSN | Lag |
        +--------+------+------+-------+----+-------------+-----+------------+-----+
        +--------+------+------+-------+----+-------------+-----+------------+-----+

        """
        #expect(renderClusterList(ClusterView(), name: "nosuch") == expected)
        #expect(renderClusterList(ClusterView(), name: "nosuch", format: .json) == "[]\n")
        #expect(renderClusterList(ClusterView(), name: "nosuch", format: .yaml) == "[]\n\n")
    }

    @Test func lagRoundsHalfToEvenInMegabytes() {
        var view = Golden.view("demo")
        view.status.optime = 67108864 + 2_621_440  // 2.5 MB ahead of node2's receive LSN
        let row = renderClusterList(view, name: "demo", format: .tsv).split(separator: "\n")[2]
        #expect(row.hasSuffix("0/4000000\t2\t0/3000000\t18"))
    }
}
