import Foundation
import StazCore
import Testing
@testable import StazCtl

/// A scripted terminal: answers from `input` (then EOF), everything written is kept.
final class ScriptedTerminal: @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [String]
    private var written = ""
    init(_ answers: [String]) { self.answers = answers }
    var transcript: String { lock.withLock { written } }
    var io: CtlIO {
        CtlIO(write: { text in self.lock.withLock { self.written += text } },
              readLine: { self.lock.withLock { self.answers.isEmpty ? nil : self.answers.removeFirst() } })
    }
    func run<T>(_ body: () throws -> T) rethrows -> T { try CtlIO.$current.withValue(io) { try body() } }
}

func ctlErrorMessage(_ body: () throws -> Void) -> String? {
    do { try body(); return nil } catch let error as CtlError { return error.message } catch { return "\(type(of: error))" }
}

struct PromptTests {
    @Test(arguments: [(["y"], true), (["YES"], true), (["n"], false), ([""], false), (["maybe", "y"], true)])
    func confirmAnswers(_ answers: [String], _ expected: Bool) throws {
        let terminal = ScriptedTerminal(answers)
        #expect(try terminal.run { try confirm("Apply these changes?") } == expected)
        let invalid = answers.count > 1 ? "Apply these changes? [y/N]: Error: invalid input\n" : ""
        #expect(terminal.transcript == invalid + "Apply these changes? [y/N]: ")
    }

    @Test func endOfInputAborts() {
        let terminal = ScriptedTerminal([])
        #expect(throws: CtlAborted.self) { try terminal.run { try confirm("Sure?") } }
        #expect(throws: CtlAborted.self) { try terminal.run { try prompt("Candidate ['b']", default: "") } }
    }

    @Test func promptDefaultsAndRepeats() throws {
        let terminal = ScriptedTerminal(["", "", "x"])
        #expect(try terminal.run { try prompt("Primary", default: "m0") } == "m0")
        #expect(try terminal.run { try prompt("Please confirm the cluster name to remove") } == "x")
        #expect(terminal.transcript == "Primary [m0]: " + String(repeating: "Please confirm the cluster name to remove: ", count: 2))
    }

    @Test func flushRejectsUnknownTarget() async {
        #expect(await StazCtlMain.main(["flush", "-d", "etcd3://127.0.0.1:1", "demo", "bogus"]) == 1)
    }

    @Test(arguments: [(6, "2024-03-05 06:07:08.12345"), (0, "2024-03-05 06:07:08"), (3, "2024-03-05 06:07:08.12")])
    func timestampPrecision(_ precision: Int, _ expected: String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .current
        let date = calendar.date(from: DateComponents(year: 2024, month: 3, day: 5, hour: 6, minute: 7, second: 8, nanosecond: 123_456_000))!
        #expect(ctlTimestamp(precision: precision, now: date) == expected)
    }
}

struct SchedulingTests {
    static let utc = TimeZone(identifier: "UTC")!
    static let berlin = TimeZone(identifier: "Europe/Berlin")!

    @Test(arguments: [
        ("2030-01-01T10:00", "2030-01-01T10:00:00+00:00", "2030-01-01 10:00:00+00:00"),
        ("2030-01-01 10:00:05", "2030-01-01T10:00:05+00:00", "2030-01-01 10:00:05+00:00"),
        ("2023-05-29T04:32:31-3", "2023-05-29T04:32:31-03:00", "2023-05-29 04:32:31-03:00"),
        ("2023-05-29T04:32:31.5+05:30", "2023-05-29T04:32:31.500000+05:30", "2023-05-29 04:32:31.500000+05:30"),
        ("2031-02-03T04:05Z", "2031-02-03T04:05:00+00:00", "2031-02-03 04:05:00+00:00"),
        ("2031-02-03", "2031-02-03T00:00:00+00:00", "2031-02-03 00:00:00+00:00"),
    ])
    func parses(_ text: String, _ iso: String, _ str: String) throws {
        let time = try #require(try ScheduledTime.parse(text, localZone: Self.utc))
        #expect(time.isoFormat == iso)
        #expect(time.pythonString == str)
    }

    @Test func naiveTimeGetsLocalOffset() throws {
        #expect(try ScheduledTime.parse("2030-07-01T10:00", localZone: Self.berlin)?.isoFormat == "2030-07-01T10:00:00+02:00")
        #expect(try ScheduledTime.parse("2030-01-01T10:00", localZone: Self.berlin)?.isoFormat == "2030-01-01T10:00:00+01:00")
    }

    @Test(arguments: [nil, "", "now"] as [String?])
    func immediate(_ text: String?) throws {
        #expect(try ScheduledTime.parse(text) == nil)
    }

    @Test(arguments: ["garbage", "2030-13-01", "2030-02-30T10:00", "2030-01-01T25:00", "2030-01-01T10:00 extra"])
    func rejects(_ text: String) {
        #expect(ctlErrorMessage { _ = try ScheduledTime.parse(text) }
                == "Unable to parse scheduled timestamp (\(text)). It should be in an unambiguous format (e.g. ISO 8601)")
    }

    @Test(arguments: [
        ("9.5.2", nil), ("10.1", nil), ("15", "Invalid PostgreSQL version format: X.Y or X.Y.Z is accepted: 15"),
        ("9.6", "Invalid PostgreSQL version format: X.Y or X.Y.Z is accepted: 9.6"),
        ("a.b.c", "Invalid PostgreSQL version: a.b.c"), ("1.2.3.4", "Invalid PostgreSQL version format: X.Y or X.Y.Z is accepted: 1.2.3.4"),
    ] as [(String, String?)])
    func postgresVersion(_ text: String, _ error: String?) {
        #expect(ctlErrorMessage { try validatePostgresVersion(text) } == error)
    }
}

struct MemberActionTests {
    static let demo = Golden.view("demo")

    @Test(arguments: [
        ([], MemberRoleFilter.any, "'any'", "reload", ["y"], ["node1", "node2", "node3", "node4"], nil as String?),
        (["node2", "nodeX"], .any, "'any'", "restart", ["y"], ["node2"], nil),
        (["nodeX"], .any, "'any'", "reload", [], [], "No 'any' among provided members"),
        (["node1"], .replica, "replica", "reinitialize", [], [], "No replica among provided members"),
        ([], .replica, "replica", "reinitialize", ["node3", "y"], ["node3"], nil),
        ([], .replica, "replica", "reinitialize", ["node1"], [], "node1 is not a member of cluster"),
        ([], .any, "'any'", "reload", ["n"], [], "Aborted reload"),
    ] as [([String], MemberRoleFilter, String, String, [String], [String], String?)])
    func selection(_ names: [String], _ role: MemberRoleFilter, _ roleText: String, _ action: String,
                   _ answers: [String], _ expected: [String], _ error: String?) {
        let terminal = ScriptedTerminal(answers)
        var selected: [Member] = []
        let message = ctlErrorMessage {
            selected = try terminal.run {
                try selectMembers(Self.demo, clusterName: "demo", memberNames: names, role: role,
                                  roleDescription: roleText, force: false, action: action)
            }
        }
        #expect(message == error)
        #expect(selected.map(\.name) == expected)
        #expect(terminal.transcript.hasPrefix(renderClusterList(Self.demo, name: "demo")))
    }

    @Test func reinitPromptsForMember() throws {
        let terminal = ScriptedTerminal(["node2", "y"])
        _ = try terminal.run {
            try selectMembers(Self.demo, clusterName: "demo", memberNames: [], role: .replica, roleDescription: "replica",
                              force: false, action: "reinitialize")
        }
        #expect(terminal.transcript.hasSuffix("Which member do you want to reinitialize [node2, node3, node4]? []: "
                                              + "Are you sure you want to reinitialize members node2? [y/N]: "))
    }

    @Test func emptyClusterHasNoMembers() {
        #expect(ctlErrorMessage {
            _ = try selectMembers(ClusterView(), clusterName: "nosuch", memberNames: [], role: .any, roleDescription: "'any'",
                                  force: true, action: "reload")
        } == "nosuch cluster doesn't have any members")
    }

    @Test func scheduledConfirmation() throws {
        let terminal = ScriptedTerminal(["n", "n"])
        let at = try #require(try ScheduledTime.parse("2030-01-01T10:00+00:00"))
        let members = Array(Self.demo.members.prefix(2))
        #expect(ctlErrorMessage { try terminal.run { try confirmMembersAction(members, force: false, action: "restart", scheduledAt: at) } }
                == "Aborted scheduled restart")
        #expect(ctlErrorMessage { try terminal.run { try confirmMembersAction(members, force: false, action: "restart", scheduledAt: at, pending: true) } }
                == "Aborted scheduled restart")
        #expect(terminal.transcript == "Are you sure you want to schedule restart of members node1, node2 at 2030-01-01 10:00:00+00:00? [y/N]: "
                + "The nodes needing a restart will be identified at the scheduled time, and might be different from the ones showing pending restart right now. Is this fine? [y/N]: ")
    }

    @Test(arguments: [
        (200, "restarted successfully", "Success: restart on member n1"),
        (202, "Restart scheduled", "Success: restart scheduled on member n1"),
        (409, "Another restart is already scheduled", "Failed: another restart is already scheduled on member n1"),
        (503, "restart conditions are not satisfied", "Failed: restart for member n1, status code=503, (restart conditions are not satisfied)"),
    ])
    func restartLines(_ status: Int, _ body: String, _ line: String) {
        #expect(restartOutcome(RESTResponse(status: status, body: body), member: "n1") == line)
    }

    @Test(arguments: [
        (200, "No changes to apply on member n1"),
        (202, "Reload request received for member n1 and will be processed within 10 seconds"),
        (401, "Failed: reload for member n1, status code=401, (no auth header received)"),
    ])
    func reloadLines(_ status: Int, _ line: String) {
        let body = status == 401 ? "no auth header received" : "x"
        #expect(reloadOutcome(RESTResponse(status: status, body: body), member: "n1", loopWait: "10") == line)
    }

    @Test func checkResponseLines() {
        let terminal = ScriptedTerminal([])
        terminal.run {
            #expect(checkResponse(RESTResponse(status: 200, body: "ok"), memberName: "a", action: "reinitialize"))
            #expect(!checkResponse(RESTResponse(status: 503, body: "I am the leader, can not reinitialize"), memberName: "b", action: "reinitialize"))
            #expect(checkResponse(RESTResponse(status: 200, body: ""), memberName: "c", action: "flush", silentSuccess: true))
        }
        #expect(terminal.transcript == "Success: reinitialize for member a\n"
                + "Failed: reinitialize for member b, status code=503, (I am the leader, can not reinitialize)\n")
    }

    @Test func leaderFirst() {
        #expect(membersLeaderFirst(Golden.view("paused")).map(\.name) == ["alpha", "beta", "gamma"])
        #expect(membersLeaderFirst(Self.demo).map(\.name) == ["node1", "node2", "node3", "node4"])
    }

    @Test(arguments: [
        ("http://127.0.0.1:8008/patroni", "switchover", "http://127.0.0.1:8008/switchover"),
        ("https://[::1]:8443/patroni", "config", "https://[::1]:8443/config"),
        ("http://h:1", "reload", "http://h:1/reload"),
    ])
    func endpointURL(_ api: String, _ endpoint: String, _ url: String) {
        #expect(memberEndpointURL(apiURL: api, endpoint: endpoint) == url)
        #expect(memberEndpointURL(apiURL: api, endpoint: nil) == api)
    }
}
