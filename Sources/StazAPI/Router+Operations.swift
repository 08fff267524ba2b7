import Foundation
import NIOCore
import StazCore

/// The unsafe endpoints that change the cluster (Patroni's patroni/api.py `do_POST_*` handlers): the body is validated here,
/// the work is done by `APIActions`.
extension Router {
    static func operationRoutes(actions: APIActions, state: APIState,
                                clusterProvider: @escaping @Sendable () async throws -> ClusterView) -> [String: AsyncHandler] {
        /// Patroni reads `is_paused` from a fresh DCS view; the loop's last view is the fallback.
        let paused: @Sendable () async -> Bool = {
            if let view = try? await clusterProvider() {
                return view.config?.data["pause"].map(pythonTruthy) ?? false
            }
            return state.current.pause
        }
        func failover(_ action: String) -> AsyncHandler {
            return { _, body in
                switch RequestBody.object(body, optional: false) {
                case .failure(let response): return response
                case .success(let object):
                    let now = Date().timeIntervalSince1970
                    switch SwitchoverRequest.validate(object, action: action, paused: await paused(), now: now) {
                    case .failure(let response): return response
                    case .success(let request): return await actions.switchover(request)
                    }
                }
            }
        }
        return [
            "POST switchover": failover("switchover"),
            "POST failover": failover("failover"),
            "DELETE switchover": { _, _ in await actions.deleteScheduledSwitchover() },
            "POST restart": { _, body in
                switch RequestBody.object(body, optional: true) {
                case .failure(let response): return response
                case .success(let object):
                    let isPaused = object["schedule"] != nil ? await paused() : false
                    switch RestartRequest.validate(object, paused: isPaused, now: Date().timeIntervalSince1970) {
                    case .failure(let response): return response
                    case .success(let request): return await actions.restart(request)
                    }
                }
            },
            "DELETE restart": { _, _ in await actions.deleteScheduledRestart() },
            "POST reinitialize": { _, body in
                switch RequestBody.object(body, optional: true) {
                case .failure(let response): return response
                case .success(let object):
                    let force = object["force"].map(lenientBool) ?? false
                    let fromLeader = object["from_leader"].map(lenientBool) ?? false
                    return await actions.reinitialize(force: force, fromLeader: fromLeader)
                }
            },
            "PATCH config": { _, body in
                switch RequestBody.object(body, optional: false) {
                case .failure(let response): return response
                case .success(let patch): return await actions.patchConfig(patch)
                }
            },
            "POST config": { target, body in
                guard target.path == "/config/check" else { return .text(501, "Unsupported method ('POST')") }
                switch RequestBody.object(body, optional: false) {
                case .failure(let response): return response
                case .success(let config): return await actions.checkConfig(config)
                }
            },
            "PUT config": { _, body in
                switch RequestBody.object(body, optional: false) {
                case .failure(let response): return response
                case .success(let config): return await actions.replaceConfig(config)
                }
            },
        ]
    }
}

/// Patroni's `parse_bool`: true/yes/on/1 (any case) and JSON true.
func lenientBool(_ value: JSONValue) -> Bool {
    switch value {
    case .bool(let b): return b
    case .int(let i): return i != 0
    case .string(let s): return parseLenientBool(s) ?? false
    default: return false
    }
}
