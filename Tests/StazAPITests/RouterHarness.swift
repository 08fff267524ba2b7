import Logging
import NIOCore
import NIOHTTP1
import StazCore
@testable import StazAPI

/// Drives a `Router` without a server: what the endpoint tests share.
enum RouterHarness {
    static func router(_ snapshot: NodeSnapshot, _ actions: APIActions = NoAPIActions()) -> Router {
        Router(state: APIState(snapshot), actions: actions, clusterProvider: { ClusterView() }, logger: Logger(label: "test"))
    }

    static func respond(_ router: Router, _ method: HTTPMethod, _ uri: String, body: String? = nil) async -> APIResponse {
        switch router.route(method: method, uri: uri) {
        case .immediate(let response): return response
        case .deferred(let handler): return await handler(RequestTarget(uri), body.map { ByteBuffer(string: $0) })
        }
    }

    static func text(_ response: APIResponse) -> String { response.body.map { String(buffer: $0) } ?? "" }
}
