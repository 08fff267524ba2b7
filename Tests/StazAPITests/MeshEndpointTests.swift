import Logging
import NIOCore
import NIOHTTP1
import StazCore
import Synchronization
import Testing
@testable import StazAPI

/// `GET /mesh`, `POST /mesh/ddl` and the `staz_mesh_*` metrics.
@Suite("REST: mesh")
struct MeshEndpointTests {
    final class DDLActions: APIActions {
        let received = Mutex<[MeshDDLRequest]>([])
        func reload() async {}
        func meshDDL(_ request: MeshDDLRequest) async -> APIResponse {
            received.withLock { $0.append(request) }
            return .json(200, JSONValue.object(JSONObject([("replicated", true)])))
        }
    }


    static func withMesh() -> NodeSnapshot {
        var s = NodeSnapshot(scope: "zone-a", name: "a0")
        s.mesh = MeshStatus(json: JSONObject([("provider", "pglogical"), ("node", "zone_a")]), samples: [
            MeshMetricSample(name: "staz_mesh_subscription_up", help: "1 if the subscription is replicating, 0 otherwise.",
                             labels: [MeshMetricLabel("subscription", "sub_zone_b_zone_a"), MeshMetricLabel("provider", "zone_b")],
                             value: 1),
            MeshMetricSample(name: "staz_mesh_subscription_lag_bytes", help: "WAL bytes not confirmed.",
                             labels: [MeshMetricLabel("subscription", "sub_zone_a_zone_b"), MeshMetricLabel("provider", "zone_a")],
                             value: 4096),
        ])
        s.meshExtras = JSONObject([("slots_ready", .object(JSONObject([("a1", true)])))])
        return s
    }

    @Test func getWithoutMeshIs404() async {
        let response = await RouterHarness.respond(RouterHarness.router(NodeSnapshot(scope: "s", name: "n")), .GET, "/mesh")
        #expect(response.status.code == 404)
        #expect(RouterHarness.text(response).contains("not configured"))
    }

    @Test func getMergesTheExtras() async throws {
        let response = await RouterHarness.respond(RouterHarness.router(Self.withMesh()), .GET, "/mesh")
        #expect(response.status.code == 200)
        let body = try JSONValue.parse(RouterHarness.text(response))
        #expect(body["provider"] == "pglogical")
        #expect(body["slots_ready"]?["a1"] == true)
    }

    @Test func ddlIsValidatedAndPassedOn() async {
        let actions = DDLActions()
        let router = RouterHarness.router(Self.withMesh(), actions)
        let ok = await RouterHarness.respond(router, .POST, "/mesh/ddl", body: #"{"command": "CREATE TABLE t (id int)", "database": "app"}"#)
        #expect(ok.status.code == 200)
        #expect(actions.received.withLock { $0 } == [MeshDDLRequest(command: "CREATE TABLE t (id int)", database: "app")])
        for (body, message) in [(#"{"database": "app"}"#, "'command'"), (#"{"command": "  "}"#, "'command'"),
                                (#"{"command": "x", "database": 5}"#, "'database'"), (#"{"command": "x", "db": "a"}"#, "unknown key 'db'")] {
            let response = await RouterHarness.respond(router, .POST, "/mesh/ddl", body: body)
            #expect(response.status.code == 400, "\(body)")
            #expect(RouterHarness.text(response).contains(message), "\(body): \(RouterHarness.text(response))")
        }
        #expect(await RouterHarness.respond(router, .POST, "/mesh/other", body: #"{"command": "x"}"#).status.code == 404)
        #expect(actions.received.withLock { $0.count } == 1)
    }

    @Test func ddlWithoutMeshActionsIs503() async {
        let response = await RouterHarness.respond(RouterHarness.router(Self.withMesh()), .POST, "/mesh/ddl", body: #"{"command": "x"}"#)
        #expect(response.status.code == 503)
    }

    @Test func metricsPerPeer() {
        let text = MetricsEndpoint.render(Self.withMesh())
        #expect(text.contains(#"staz_mesh_subscription_up{scope="zone-a",name="a0",subscription="sub_zone_b_zone_a",provider="zone_b"} 1"#), "\(text)")
        #expect(text.contains(#"staz_mesh_subscription_lag_bytes{scope="zone-a",name="a0",subscription="sub_zone_a_zone_b",provider="zone_a"} 4096"#))
        #expect(!MetricsEndpoint.render(NodeSnapshot(scope: "s", name: "n")).contains("staz_mesh_"))
    }
}
