import Foundation
import Logging
import StazAPI
import StazCore
import Synchronization
import Testing

final class RecordingActions: APIActions {
    let reloads = Mutex(0)
    func reload() async { reloads.withLock { $0 += 1 } }
}

struct ServerTests {
    static func withServer(port: Int, snapshot: NodeSnapshot, actions: APIActions = NoAPIActions(),
                           cluster: @escaping @Sendable () async throws -> ClusterView = { ClusterView() },
                           limits: RESTServerLimits = RESTServerLimits(), logger: Logger = Logger(label: "test"),
                           _ body: @escaping (APIState, RawHTTPClient) throws -> Void) async throws {
        let state = APIState(snapshot)
        let server = try RESTServer(listen: "127.0.0.1:\(port)", state: state, actions: actions,
                                    clusterProvider: cluster, logger: logger, limits: limits)
        try await server.start()
        do {
            // The client blocks in recv(); run it on its own thread so it never starves the
            // concurrency pool that the server's async handlers (/cluster, POST) need.
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                Thread {
                    do {
                        let client = try RawHTTPClient(port: port)
                        try body(state, client)
                        continuation.resume()
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }.start()
            }
        } catch {
            await server.shutdown()
            throw error
        }
        await server.shutdown()
    }

    @Test func leaderEndpointsOverHTTPWithKeepAlive() async throws {
        try await Self.withServer(port: 26001, snapshot: Fixtures.leader(at: .now)) { (state: APIState, client: RawHTTPClient) throws in
            let primary = try client.request("GET", "/primary")
            #expect(primary.statusCode == 200)
            #expect(primary.headers["content-type"] == "application/json")
            #expect(primary.body == String(buffer: state.rendered.statusBody))
            #expect(primary.body.hasPrefix(#"{"state": "running", "postmaster_start_time""#))
            // Same connection: keep-alive works and the replica check fails on a leader.
            let replica = try client.request("GET", "/replica")
            #expect(replica.statusCode == 503)
            #expect(replica.body == primary.body)
            #expect(try client.request("GET", "/").statusCode == 200)
            #expect(try client.request("GET", "/patroni").statusCode == 200)
            #expect(try client.request("GET", "/unknown-path").statusCode == 503)
            // The lease running out flips /primary without any other change.
            state.update { $0.leaseValidUntil = .now - .seconds(1) }
            #expect(try client.request("GET", "/primary").statusCode == 503)
            #expect(try client.request("GET", "/patroni").statusCode == 200)
        }
    }

    @Test func headAndOptionsHaveNoBody() async throws {
        try await Self.withServer(port: 26002, snapshot: Fixtures.replica(at: .now)) { (_: APIState, client: RawHTTPClient) throws in
            let head = try client.request("HEAD", "/replica")
            #expect(head.statusCode == 200)
            #expect(head.body.isEmpty)
            let options = try client.request("OPTIONS", "/primary")
            #expect(options.statusCode == 503)
            #expect(options.body.isEmpty)
            #expect(options.headers["content-length"] == "0")
            // The connection is still usable after body-less replies.
            let lagged = try client.request("GET", "/replica?lag=16kB&tag_dc=east")
            #expect(lagged.statusCode == 200)
            #expect(lagged.body.contains(#""role": "replica""#))
        }
    }

    @Test func livenessReadinessAndUnsafeMethods() async throws {
        let actions = RecordingActions()
        try await Self.withServer(port: 26003, snapshot: Fixtures.replica(at: .now), actions: actions) { (state: APIState, client: RawHTTPClient) throws in
            let live = try client.request("GET", "/liveness")
            #expect(live.statusCode == 200)
            #expect(live.body.isEmpty)
            #expect(try client.request("GET", "/readiness").statusCode == 200)
            state.update { $0.lastLoopInstant = .now - .seconds(300) }
            #expect(try client.request("GET", "/liveness").statusCode == 503)

            let reload = try client.request("POST", "/reload")
            #expect(reload.statusCode == 202)
            #expect(reload.body == "reload scheduled")
            #expect(actions.reloads.withLock { $0 } == 1)
            // RecordingActions has no restart: the protocol's default answers 503.
            #expect(try client.request("POST", "/restart", body: "{}").statusCode == 503)
            #expect(try client.request("POST", "/nothing", body: "{}").statusCode == 501)
            #expect(try client.request("PUT", "/nothing").statusCode == 501)
            #expect(try client.request("GET", "/primary").statusCode == 503)
        }
    }

    @Test func clusterHistoryAndConfig() async throws {
        let view = ClusterJSONTests.view()
        try await Self.withServer(port: 26004, snapshot: Fixtures.leader(at: .now), cluster: { view }) { (state: APIState, client: RawHTTPClient) throws in
            let cluster = try client.request("GET", "/cluster")
            #expect(cluster.statusCode == 200)
            #expect(cluster.body == JSONValue.object(clusterJSON(view, scope: "demo")).pythonJSONString)
            // The snapshot's view has no config: /config reads the DCS only when the view is stale.
            #expect(try client.request("GET", "/config").statusCode == 502)
            #expect(try client.request("GET", "/history").body == "[]")
            state.update { $0.clusterViewTime = .now - .seconds(60) }
            let config = try client.request("GET", "/config")
            #expect(config.statusCode == 200)
            #expect(config.body == #"{"ttl": 30}"#)
        }
    }

    @Test func failingClusterProviderGives503() async throws {
        struct Down: Error {}
        try await Self.withServer(port: 26005, snapshot: Fixtures.leader(at: .now), cluster: { throw Down() }) { (_: APIState, client: RawHTTPClient) throws in
            #expect(try client.request("GET", "/cluster").statusCode == 503)
            #expect(try client.request("GET", "/primary").statusCode == 200)
        }
    }

    @Test func badListenAddressIsRejected() {
        #expect(throws: RESTServerError.self) {
            _ = try RESTServer(listen: "localhost", state: APIState(Fixtures.leader(at: .now)), actions: NoAPIActions(),
                               clusterProvider: { ClusterView() }, logger: Logger(label: "test"))
        }
    }
}
