import Logging
import NIOCore
import NIOHTTP1
import StazCore

extension JSONValue: JSONValueConvertible { public var jsonText: String { pythonJSONString } }

/// Maps requests to replies the way Patroni's `RestApiHandler` does: the first path segment
/// selects a specific handler (`do_GET_cluster`), everything else GET/HEAD/OPTIONS goes to the
/// generic health check. Unsafe methods are looked up in `unsafeRoutes`; add entries there.
/// A class: every connection's request handler holds the one router, where copying a struct
/// of existentials, closures and a dictionary cost retains on each accepted connection.
public final class Router: Sendable {
    public typealias AsyncHandler = @Sendable (RequestTarget, ByteBuffer?) async -> APIResponse

    /// What to do with one request: answer at once on the event loop, or run async work first.
    public enum Outcome: Sendable {
        case immediate(APIResponse)
        case deferred(AsyncHandler)
    }

    let state: APIState
    let actions: APIActions
    let clusterProvider: @Sendable () async throws -> ClusterView
    let logger: Logger
    /// `"<METHOD> <first segment>"` → handler, for POST/PUT/PATCH/DELETE.
    let unsafeRoutes: [String: AsyncHandler]

    public init(state: APIState, actions: APIActions,
                clusterProvider: @escaping @Sendable () async throws -> ClusterView, logger: Logger) {
        self.state = state; self.actions = actions; self.clusterProvider = clusterProvider; self.logger = logger
        var routes: [String: AsyncHandler] = [
            "POST reload": { _, _ in
                await actions.reload()
                return .text(202, "reload scheduled")
            },
        ]
        for (key, handler) in Router.operationRoutes(actions: actions, state: state, clusterProvider: clusterProvider) {
            routes[key] = handler
        }
        routes["POST mesh"] = MeshEndpoint.post(actions: actions)
        routes["POST failsafe"] = FailsafeEndpoint.post(actions: actions, state: state)
        unsafeRoutes = routes
    }

    public func route(method: HTTPMethod, uri: String, now: ContinuousClock.Instant = .now) -> Outcome {
        let target = RequestTarget(uri)
        switch method {
        case .GET:
            return routeGET(target, now: now)
        case .HEAD, .OPTIONS:
            // Patroni has no HEAD_/OPTIONS_ specific handlers: always the generic check, status only.
            let snapshot = state.live
            return .immediate(.statusOnly(HealthChecks.statusCode(for: target, snapshot: snapshot, now: now)))
        default:
            if let handler = unsafeRoutes["\(method.rawValue) \(target.firstSegment)"] {
                return .deferred(handler)
            }
            return .immediate(.text(501, "Unsupported method ('\(method.rawValue)')"))
        }
    }

    func routeGET(_ target: RequestTarget, now: ContinuousClock.Instant) -> Outcome {
        switch target.firstSegment {
        case "liveness":
            return .immediate(.statusOnly(HealthChecks.liveness(snapshot: state.current, now: now)))
        case "readiness":
            let failure = HealthChecks.readinessFailure(for: target, snapshot: state.live, now: now)
            if let failure { logger.debug("Readiness check failure: \(failure)") }
            return .immediate(.statusOnly(failure == nil ? 200 : 503))
        case "patroni":
            // Only a standby's positions are read again per request (peers compare them in a
            // leader race); anything else answers from memory, without the hop to a Task.
            guard state.current.xlog?.isStandby == true else { return .immediate(.json(200, state.liveRendered.statusBody)) }
            return .deferred { [actions, state] _, _ in
                await actions.refreshWALPositions()
                return .json(200, state.liveRendered.statusBody)
            }
        case "cluster":
            let scope = state.current.scope
            return .deferred { [clusterProvider, logger] _, _ in
                do {
                    let view = try await clusterProvider()
                    return .json(200, JSONValue.object(clusterJSON(view, scope: scope)))
                } catch {
                    logger.warning("GET /cluster: \(error)")
                    return .text(503, "\(error)")
                }
            }
        case "history":
            return viewDependent(now: now) { view in
                .json(200, JSONValue.array((view.history ?? []).map(\.json)))
            }
        case "metrics":
            return .immediate(MetricsEndpoint.response(snapshot: state.live, now: now))
        case "mesh":
            return .immediate(MeshEndpoint.get(state.current))
        case "failsafe":
            return .immediate(FailsafeEndpoint.get(state.current))
        case "config":
            return viewDependent(now: now) { view in
                guard let config = view.config, config.version != nil, config.version != "0" else {
                    return .text(502, "Bad Gateway")
                }
                return .json(200, JSONValue.object(config.data))
            }
        default:
            let rendered = state.liveRendered
            let code = HealthChecks.statusCode(for: target, snapshot: rendered.snapshot, now: now)
            return .immediate(.json(code, rendered.statusBody))
        }
    }

    /// Patroni's `dcs.cluster or dcs.get_cluster()`: the cached view if fresh, else a DCS read.
    func viewDependent(now: ContinuousClock.Instant, _ body: @escaping @Sendable (ClusterView) -> APIResponse) -> Outcome {
        if let view = state.current.freshClusterView(now: now) { return .immediate(body(view)) }
        return .deferred { [clusterProvider, logger] _, _ in
            do {
                return body(try await clusterProvider())
            } catch {
                logger.warning("DCS read for REST API failed: \(error)")
                return .text(503, "\(error)")
            }
        }
    }
}
