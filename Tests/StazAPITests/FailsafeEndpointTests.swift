import Logging
import NIOCore
import NIOHTTP1
import StazCore
import Synchronization
import Testing
@testable import StazAPI

/// `POST /failsafe` and `GET /failsafe` (Patroni's `do_GET_failsafe`/`do_POST_failsafe`): 502 outside failsafe mode,
/// 400 naming what is wrong with a body, the daemon's answer otherwise.
@Suite("REST: failsafe endpoints")
struct FailsafeEndpointTests {
    final class FailsafeActions: APIActions {
        let received = Mutex<[FailsafeRequest]>([])
        func reload() async {}
        func acceptFailsafe(_ request: FailsafeRequest) async -> APIResponse {
            received.withLock { $0.append(request) }
            var response = APIResponse.text(200, "Accepted")
            response.extraHeaders = [("lsn", "123")]
            return response
        }
    }


    static func snapshot(enabled: Bool, key: JSONObject? = nil) -> NodeSnapshot {
        var s = Fixtures.replica()
        s.failsafeModeEnabled = enabled
        s.clusterView?.failsafe = key
        return s
    }

    static let valid = #"{"name": "node1", "conn_url": "postgres://10.0.0.1:5432/postgres", "api_url": "http://10.0.0.1:8008/patroni", "slots": {"node2": 50331648}}"#

    @Test func disabledModeAnswers502EvenForGarbage() async {
        let actions = FailsafeActions()
        let router = RouterHarness.router(Self.snapshot(enabled: false), actions)
        #expect(await RouterHarness.respond(router, .POST, "/failsafe", body: Self.valid).status.code == 502)
        #expect(await RouterHarness.respond(router, .POST, "/failsafe", body: "not json").status.code == 502)
        #expect(actions.received.withLock { $0.isEmpty })
    }

    struct BadBody: Sendable, CustomTestStringConvertible {
        let body: String
        let problem: String
        var testDescription: String { problem }
    }

    static let badBodies: [BadBody] = [
        BadBody(body: "", problem: "POST /failsafe: empty body; expected a JSON object {name, conn_url, api_url, slots}"),
        BadBody(body: "{not json", problem: "POST /failsafe: body is not valid JSON"),
        BadBody(body: "[1, 2]", problem: "POST /failsafe: body must be a JSON object, not [1,2]"),
        BadBody(body: #"{"conn_url": "postgres://a", "api_url": "http://a"}"#, problem: "POST /failsafe: 'name' is missing"),
        BadBody(body: #"{"name": 7, "conn_url": "postgres://a", "api_url": "http://a"}"#,
                problem: "POST /failsafe: 'name' must be a non-empty string"),
        BadBody(body: #"{"name": "a", "conn_url": "", "api_url": "http://a"}"#,
                problem: "POST /failsafe: 'conn_url' must be a non-empty string"),
        BadBody(body: #"{"name": "a", "conn_url": "postgres://a"}"#, problem: "POST /failsafe: 'api_url' is missing"),
        BadBody(body: #"{"name": "a", "conn_url": "postgres://a", "api_url": "http://a", "slots": [1]}"#,
                problem: "POST /failsafe: 'slots' must be an object mapping slot names to LSNs"),
        BadBody(body: #"{"name": "a", "conn_url": "postgres://a", "api_url": "http://a", "slots": {"s": "0/3000000"}}"#,
                problem: "POST /failsafe: 'slots.s' must be a non-negative integer LSN"),
    ]

    @Test(arguments: badBodies)
    func badBodyIsA400NamingTheProblem(_ row: BadBody) async {
        let actions = FailsafeActions()
        let response = await RouterHarness.respond(RouterHarness.router(Self.snapshot(enabled: true), actions), .POST, "/failsafe", body: row.body)
        #expect(response.status.code == 400)
        #expect(RouterHarness.text(response) == row.problem)
        #expect(actions.received.withLock { $0.isEmpty }, "nothing half-applied")
    }

    @Test func validBodyReachesTheDaemon() async throws {
        let actions = FailsafeActions()
        let response = await RouterHarness.respond(RouterHarness.router(Self.snapshot(enabled: true), actions), .POST, "/failsafe", body: Self.valid)
        #expect(response.status.code == 200)
        #expect(RouterHarness.text(response) == "Accepted")
        #expect(response.extraHeaders.first { $0.0 == "lsn" }?.1 == "123")
        let request = try #require(actions.received.withLock { $0.first })
        #expect(request == FailsafeRequest(name: "node1", connURL: "postgres://10.0.0.1:5432/postgres",
                                           apiURL: "http://10.0.0.1:8008/patroni", slots: JSONObject([("node2", .int(50_331_648))])))
        // `slots` may be absent or null.
        let minimal = #"{"name": "n", "conn_url": "postgres://n", "api_url": "http://n", "slots": null}"#
        #expect(try FailsafeRequest.validate(ByteBuffer(string: minimal)).get().slots.isEmpty)
    }

    @Test func getFailsafeServesTheLastKnownKey() async {
        let key = JSONObject([("node1", .string("http://10.0.0.1:8008/patroni")), ("node2", .string("http://10.0.0.2:8008/patroni"))])
        let withKey = await RouterHarness.respond(RouterHarness.router(Self.snapshot(enabled: true, key: key), NoAPIActions()), .GET, "/failsafe")
        #expect(withKey.status.code == 200)
        #expect(RouterHarness.text(withKey) == #"{"node1": "http://10.0.0.1:8008/patroni", "node2": "http://10.0.0.2:8008/patroni"}"#)
        let without = await RouterHarness.respond(RouterHarness.router(Self.snapshot(enabled: true), NoAPIActions()), .GET, "/failsafe")
        #expect(without.status.code == 502)
    }

    @Test func defaultActionsRefuse() async {
        let response = await NoAPIActions().acceptFailsafe(FailsafeRequest(name: "a", connURL: "b", apiURL: "c"))
        #expect(response.status.code == 502)
    }
}
