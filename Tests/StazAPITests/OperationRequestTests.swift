import NIOCore
import StazCore
import Testing
@testable import StazAPI

/// Validation of the unsafe endpoints' bodies, with Patroni's texts and codes (Patroni's patroni/api.py `do_POST_*` handlers).
@Suite("REST operations: request validation")
struct OperationRequestTests {
    static let now = 1_700_000_000.0  // 2023-11-14T22:13:20Z

    static func body(_ text: String) -> JSONObject { (try? JSONValue.parse(text))?.objectValue ?? JSONObject() }

    static func message(_ response: APIResponse) -> String { response.body.map { String(buffer: $0) } ?? "" }

    struct Rejection: Sendable, CustomTestStringConvertible {
        let action: String
        let json: String
        let paused: Bool
        let status: Int
        let text: String
        var testDescription: String { "\(action) \(json)\(paused ? " (paused)" : "") → \(status)" }
    }

    static let switchoverRejections: [Rejection] = [
        Rejection(action: "failover", json: #"{"leader": "a"}"#, paused: false, status: 400,
                  text: "Failover could be performed only to a specific candidate"),
        Rejection(action: "switchover", json: #"{"candidate": "b"}"#, paused: false, status: 400,
                  text: "Switchover could be performed only from a specific leader"),
        Rejection(action: "failover", json: #"{"candidate": "b", "scheduled_at": "2030-01-01T00:00:00+00:00"}"#, paused: false,
                  status: 400, text: "Failover can't be scheduled"),
        Rejection(action: "switchover", json: #"{"leader": "a", "candidate": "b", "scheduled_at": "2030-01-01T00:00:00+00:00"}"#,
                  paused: true, status: 400, text: "Can't schedule switchover in the paused state"),
        Rejection(action: "switchover", json: #"{"leader": "a"}"#, paused: true, status: 400,
                  text: "Switchover is possible only to a specific candidate in a paused state"),
        Rejection(action: "switchover", json: #"{"leader": "a", "candidate": "a"}"#, paused: false, status: 400,
                  text: "Switchover target and source are the same"),
        Rejection(action: "switchover", json: #"{"leader": "a", "scheduled_at": "2030-01-01T00:00:00"}"#, paused: false,
                  status: 400, text: "Timezone information is mandatory for the scheduled switchover"),
        Rejection(action: "switchover", json: #"{"leader": "a", "scheduled_at": "2020-01-01T00:00:00Z"}"#, paused: false,
                  status: 422, text: "Cannot schedule switchover in the past"),
        Rejection(action: "switchover", json: #"{"leader": "a", "scheduled_at": "next tuesday"}"#, paused: false,
                  status: 422, text: "Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601"),
    ]

    @Test(arguments: switchoverRejections)
    func switchoverRejected(_ row: Rejection) {
        guard case .failure(let response) = SwitchoverRequest.validate(Self.body(row.json), action: row.action, paused: row.paused, now: Self.now) else {
            Issue.record("accepted"); return
        }
        #expect(response.status.code == UInt(row.status))
        #expect(Self.message(response) == row.text)
    }

    @Test func switchoverAccepted() throws {
        let scheduled = try SwitchoverRequest.validate(Self.body(#"{"leader": "a", "member": "b", "scheduled_at": "2030-01-01T01:00:00.5+01:00"}"#),
                                                       action: "switchover", paused: false, now: Self.now).get()
        #expect(scheduled.candidate == "b")
        #expect(scheduled.scheduledAt?.isoformat == "2030-01-01T01:00:00.500000+01:00")
        #expect(scheduled.scheduledAt?.epochSeconds == 1_893_456_000.5)
        // A failover naming the leader is a switchover; in pause a named candidate is fine.
        let converted = try SwitchoverRequest.validate(Self.body(#"{"leader": "a", "candidate": "b"}"#),
                                                       action: "failover", paused: true, now: Self.now).get()
        #expect(converted.action == "switchover")
        #expect(converted.scheduledAt == nil)
    }

    static let restartRejections: [(String, Bool, Int, String)] = [
        (#"{"schedule": "2030-01-01T00:00:00Z"}"#, true, 500, "Can't schedule restart in the paused state"),
        (#"{"role": "master"}"#, false, 400, "PostgreSQL role should be either primary, standby_leader, or replica"),
        (#"{"postgres_version": "9.6"}"#, false, 400, "Invalid PostgreSQL major version format: X.Y or X.Y.Z is accepted: 9.6"),
        (#"{"postgres_version": "15.x"}"#, false, 400, "Invalid PostgreSQL version format: X.Y or X.Y.Z is accepted: 15.x"),
        (#"{"timeout": 0}"#, false, 400, "Timeout should be a positive number of seconds"),
        (#"{"timeout": "soon"}"#, false, 400, "Timeout should be a positive number of seconds"),
        (#"{"bogus": 1}"#, false, 400, "Unknown filter for the scheduled restart: bogus"),
        (#"{"schedule": "2020-01-01T00:00:00Z"}"#, false, 422, "Cannot schedule restart in the past"),
    ]

    @Test(arguments: restartRejections)
    func restartRejected(_ row: (String, Bool, Int, String)) {
        guard case .failure(let response) = RestartRequest.validate(Self.body(row.0), paused: row.1, now: Self.now) else {
            Issue.record("accepted \(row.0)"); return
        }
        #expect(response.status.code == UInt(row.2))
        #expect(Self.message(response) == row.3)
    }

    @Test func restartAccepted() throws {
        let request = try RestartRequest.validate(Self.body(#"{"role": "replica", "postgres_version": "15.4", "timeout": "30s", "restart_pending": false, "schedule": "2030-01-01T00:00:00Z"}"#),
                                                  paused: false, now: Self.now).get()
        #expect(request.role == .replica)
        #expect(request.postgresVersion == 150004)
        #expect(request.timeout == 30)
        #expect(request.restartPending)  // Patroni tests the key's presence
        #expect(request.published.keys == ["role", "postgres_version", "timeout", "restart_pending", "schedule"])
        #expect(request.published["schedule"] == .string("2030-01-01T00:00:00+00:00"))
        #expect(request.published["timeout"] == .int(30))
        #expect(try RestartRequest.validate(JSONObject(), paused: true, now: Self.now).get() == RestartRequest())
    }

    @Test func postgresVersions() throws {
        #expect(try postgresVersionNumber("15.2").get() == 150002)
        #expect(try postgresVersionNumber("9.6.24").get() == 90624)
        #expect(throws: RequestFailure.self) { try postgresVersionNumber("15").get() }
    }

    @Test func timestamps() throws {
        let zulu = try #require(ISOTimestamp.parse("2023-11-14T22:13:20Z"))
        #expect(zulu.epochSeconds == Self.now)
        #expect(zulu.isoformat == "2023-11-14T22:13:20+00:00")
        let offset = try #require(ISOTimestamp.parse("2023-11-15 00:13:20.25+0200"))
        #expect(offset.epochSeconds == Self.now + 0.25)
        #expect(offset.isoformat == "2023-11-15T00:13:20.250000+02:00")
        #expect(ISOTimestamp.parse("2023-11-14T22:13")?.hasTimeZone == false)
        #expect(ISOTimestamp.parse("2023-02-30T00:00:00Z") == nil)
        #expect(ISOTimestamp.parse("2023-11-14T22:13:20Z trailing") == nil)
    }

    @Test func bodies() {
        guard case .failure(let empty) = RequestBody.object(nil, optional: false) else { Issue.record("empty accepted"); return }
        #expect(empty.status.code == 400)
        guard case .failure(let emptyObject) = RequestBody.object(ByteBuffer(string: "{}"), optional: false) else { Issue.record("{} accepted"); return }
        #expect(emptyObject.status.code == 400)
        #expect((try? RequestBody.object(nil, optional: true).get()) == JSONObject())
        guard case .failure(let array) = RequestBody.object(ByteBuffer(string: "[1]"), optional: true) else { Issue.record("array accepted"); return }
        #expect(array.status.code == 400)
    }

    @Test func mergePatch() {
        var config = Self.body(#"{"ttl": 30, "loop_wait": 10, "postgresql": {"parameters": {"max_connections": 100, "work_mem": "4MB"}}}"#)
        #expect(ConfigPatch.apply(Self.body(#"{"ttl": "30"}"#), to: &config) == false)  // Python str() equal
        #expect(ConfigPatch.apply(Self.body(#"{"loop_wait": null, "pause": true, "postgresql": {"parameters": {"work_mem": null, "max_connections": 200}}}"#), to: &config))
        #expect(config == Self.body(#"{"ttl": 30, "postgresql": {"parameters": {"max_connections": 200}}, "pause": true}"#))
        #expect(ConfigPatch.apply(Self.body(#"{"missing": null}"#), to: &config) == false)
    }
}
