import Foundation
import StazCore
import Testing
@testable import StazCtl

struct SwitchoverTests {
    static let demo = Golden.view("demo")      // leader node1, replicas node2..node4
    static let paused = Golden.view("paused")  // leader alpha, beta nofailover, sync mode, paused

    static func plan(_ view: ClusterView, _ action: String, candidate: String? = nil, leader: String? = nil,
                     scheduled: String? = nil, force: Bool = true, answers: [String] = []) -> (FailoverPlan?, String?, String) {
        let terminal = ScriptedTerminal(answers)
        var plan: FailoverPlan?
        let error = ctlErrorMessage {
            plan = try terminal.run {
                try planFailover(view, action: action, clusterName: "c", candidate: candidate, force: force,
                                 switchoverLeader: leader, scheduled: scheduled)
            }
        }
        return (plan, error, terminal.transcript)
    }

    @Test(arguments: [
        ("switchover", "node2", "node3", nil, "Member node3 is not the leader of cluster c"),
        ("switchover", "node1", nil, nil, "Member node1 is already the leader of cluster c"),
        ("switchover", "nodeX", nil, nil, "Member nodeX does not exist in cluster c or is tagged as nofailover"),
        ("failover", nil, nil, nil, "Failover could be performed only to a specific candidate"),
        ("switchover", "node2", nil, "bad", "Unable to parse scheduled timestamp (bad). It should be in an unambiguous format (e.g. ISO 8601)"),
    ] as [(String, String?, String?, String?, String)])
    func refused(_ action: String, _ candidate: String?, _ leader: String?, _ scheduled: String?, _ message: String) {
        #expect(Self.plan(Self.demo, action, candidate: candidate, leader: leader, scheduled: scheduled).1 == message)
    }

    @Test func pausedClusterRefusesSchedulesAndNofailoverCandidates() {
        #expect(Self.plan(Self.paused, "switchover", candidate: "gamma", scheduled: "2030-01-01T00:00Z").1
                == "Can't schedule switchover in the paused state")
        #expect(Self.plan(Self.paused, "switchover", candidate: "beta").1
                == "Member beta does not exist in cluster c or is tagged as nofailover")
        #expect(Self.plan(ClusterView(), "switchover").1 == "This cluster has no leader")
    }

    @Test func forcedSwitchoverBodies() throws {
        let (plan, error, _) = Self.plan(Self.demo, "switchover", scheduled: "2030-01-01T10:00+01:00")
        #expect(error == nil)
        let p = try #require(plan)
        #expect(p.requestBody.pythonJSONString == #"{"candidate": null, "leader": "node1", "scheduled_at": "2030-01-01T10:00:00+01:00"}"#)
        #expect(p.dcsValue.compactString == #"{"leader":"node1","scheduled_at":"2030-01-01T10:00:00+01:00"}"#)
        let failover = try #require(Self.plan(Self.demo, "failover", candidate: "node3").0)
        #expect(failover.requestBody.pythonJSONString == #"{"candidate": "node3"}"#)
        #expect(failover.dcsValue.compactString == #"{"member":"node3"}"#)
    }

    @Test func interactiveSwitchoverTranscript() throws {
        let (plan, error, transcript) = Self.plan(Self.demo, "switchover", force: false, answers: ["", "node2", "", "y"])
        #expect(error == nil)
        #expect(plan?.candidate == "node2" && plan?.leader == "node1" && plan?.scheduledAt == nil)
        #expect(transcript.hasPrefix("Primary [node1]: Candidate ['node2', 'node3', 'node4'] []: When should the switchover take place (e.g. "))
        #expect(transcript.hasSuffix(" )  [now]: Are you sure you want to switchover cluster c, demoting current leader node1? [y/N]: "))
    }

    @Test func declinedScheduledSwitchover() {
        let (_, error, transcript) = Self.plan(Self.demo, "switchover", candidate: "node2", leader: "node1",
                                               scheduled: "2030-01-01T10:00Z", force: false, answers: ["n"])
        #expect(error == "Aborting scheduled switchover")
        #expect(transcript == "Are you sure you want to schedule switchover of cluster c at 2030-01-01T10:00:00+00:00, demoting current leader node1? [y/N]: ")
    }

    @Test func failoverToAsynchronousNodeAsks() {
        var view = Self.paused
        view.config?.data["pause"] = nil
        let (_, error, transcript) = Self.plan(view, "failover", candidate: "gamma", force: false, answers: ["n"])
        #expect(error == "Aborting failover")
        #expect(transcript == "Are you sure you want to failover to the asynchronous node gamma? [y/N]: ")
    }

    @Test func removalNeedsThreeAnswers() {
        func attempt(_ answers: [String]) -> String? {
            ctlErrorMessage { try ScriptedTerminal(answers).run { try confirmClusterRemoval(Self.demo, clusterName: "demo") } }
        }
        #expect(attempt(["demo", "Yes I am aware", "node1"]) == nil)
        #expect(attempt(["other"]) == "Cluster names specified do not match")
        #expect(attempt(["demo", "yes"]) == "You did not exactly type \"Yes I am aware\"")
        #expect(attempt(["demo", "Yes I am aware", "node2"]) == "You did not specify the current leader of the cluster")
        #expect(attempt(["demo"]) == "CtlAborted")
        #expect(ctlErrorMessage { try ScriptedTerminal(["fresh", "Yes I am aware"]).run {
            try confirmClusterRemoval(Golden.view("fresh"), clusterName: "fresh") } } == nil)
    }
}

struct QueryTests {
    @Test func outputFormats() {
        let result = QueryResult(columns: ["a", "b"], rows: [[.str("1"), .none]])
        #expect(renderQueryOutput(result, format: .tsv, delimiter: "\t") == "a\tb\n1\tNone\n")
        #expect(renderQueryOutput(result, format: .tsv, delimiter: ";") == "a;b\n1;None\n")
        #expect(renderQueryOutput(result, format: .json, delimiter: "\t") == "[{\"a\": \"1\", \"b\": null}]\n")
        let failure = QueryResult(columns: nil, rows: [[.str("2030-01-01 00:00:00"), .str("ERROR, SQLSTATE: 42P01")]])
        #expect(renderQueryOutput(failure, format: .tsv, delimiter: "\t") == "2030-01-01 00:00:00\tERROR, SQLSTATE: 42P01\n")
        #expect(renderQueryOutput(failure, format: .pretty, delimiter: "\t").hasPrefix("+---------------------+------------------------+\n| Field 1             | Field 2                |\n"))
    }

    @Test func memberChoice() async throws {
        let view = Golden.view("demo")
        let runner = MemberSQL()
        do {
            _ = try await queryMember(view, role: .replica, roleText: "replica", memberName: "node2", sql: "", runner: runner)
            Issue.record("--role with --member was accepted")
        } catch let error as CtlError {
            #expect(error.message == "--role and --member are mutually exclusive options")
        }
        let missing = try await queryMember(view, role: nil, roleText: nil, memberName: "nodeX", sql: "select 1", runner: runner)
        #expect(missing.columns == nil && missing.rows.first?.last == .str("No connection to member nodeX is available"))
        let noLeader = try await queryMember(Golden.view("fresh"), role: nil, roleText: nil, memberName: nil, sql: "select 1", runner: runner)
        #expect(noLeader.rows.first?.last == .str("No connection is available"))
    }

    @Test func queryKeepsItsOwnShortOptions() {
        #expect(StazCtlMain.reorder(["-c", "/x.yml", "-d", "etcd3://h:1", "query", "-c", "select 1", "-d", "db"])
                == ["query", "--config-file", "/x.yml", "--dcs-url", "etcd3://h:1", "-c", "select 1", "-d", "db"])
    }
}
