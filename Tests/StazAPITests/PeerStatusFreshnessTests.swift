import Logging
import NIOHTTP1
import StazCore
import Synchronization
import Testing
@testable import StazAPI

/// `GET /patroni` is what peers read in a leader race: its WAL positions are brought up to
/// date first. The health checks stay answered from memory.
struct PeerStatusFreshnessTests {
    /// Stands in for the daemon: the server has replayed further than the last cycle saw.
    final class AdvancingActions: APIActions {
        let state: APIState
        let refreshes = Mutex(0)
        init(_ state: APIState) { self.state = state }
        func reload() async {}
        func refreshWALPositions() async {
            refreshes.withLock { $0 += 1 }
            state.update { $0.xlog = .replica(receivedLocation: 80_000_000, replayedLocation: 80_000_000, replayedTimestamp: nil, paused: false) }
        }
    }

    func router(_ state: APIState, _ actions: APIActions) -> Router {
        Router(state: state, actions: actions, clusterProvider: { ClusterView() }, logger: Logger(label: "test"))
    }

    @Test func patroniServesPositionsReadForTheRequest() async throws {
        let state = APIState(Fixtures.replica(replayed: 50_331_648))
        let actions = AdvancingActions(state)
        let response = await RouterHarness.respond(router(state, actions), .GET, "/patroni")
        let body = try JSONValue.parse(RouterHarness.text(response)).objectValue
        let xlog = body?["xlog"]?.objectValue
        #expect(xlog?["received_location"]?.intValue == 80_000_000)
        #expect(xlog?["replayed_location"]?.intValue == 80_000_000)
        #expect(actions.refreshes.withLock { $0 } == 1)
    }

    @Test(arguments: ["/replica", "/health", "/read-only", "/"])
    func healthChecksDoNotQueryPostgreSQL(_ path: String) async {
        let state = APIState(Fixtures.replica())
        let actions = AdvancingActions(state)
        _ = await RouterHarness.respond(router(state, actions), .GET, path)
        #expect(actions.refreshes.withLock { $0 } == 0)
    }

    @Test func aPrimarysPatroniIsAnsweredFromMemory() async throws {
        let state = APIState(Fixtures.leader())
        let actions = AdvancingActions(state)
        let response = await RouterHarness.respond(router(state, actions), .GET, "/patroni")
        let body = try JSONValue.parse(RouterHarness.text(response)).objectValue
        #expect(body?["role"]?.stringValue == "primary")
        #expect(actions.refreshes.withLock { $0 } == 0)
    }
}
