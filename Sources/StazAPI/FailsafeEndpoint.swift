import NIOCore
import StazCore

/// A validated `POST /failsafe` body: the leader that stays primary while the DCS is
/// unreachable asks this member to confirm it (Patroni's `Failsafe` and `do_POST_failsafe`).
public struct FailsafeRequest: Sendable, Equatable {
    public var name: String
    public var connURL: String
    public var apiURL: String
    /// The leader's replication slot positions (slot name → LSN), as sent.
    public var slots: JSONObject

    public init(name: String, connURL: String, apiURL: String, slots: JSONObject = JSONObject()) {
        self.name = name; self.connURL = connURL; self.apiURL = apiURL; self.slots = slots
    }

    /// The body `{name, conn_url, api_url, slots}` or a 400 that names what is wrong. Patroni
    /// would fail with a 500 (KeyError) on a missing field; a caller deserves to know why.
    public static func validate(_ body: ByteBuffer?) -> Result<FailsafeRequest, APIResponse> {
        func bad(_ problem: String) -> Result<FailsafeRequest, APIResponse> {
            .failure(.text(400, "POST /failsafe: \(problem)"))
        }
        let text = body.map { String(buffer: $0) } ?? ""
        if text.isEmpty { return bad("empty body; expected a JSON object {name, conn_url, api_url, slots}") }
        guard let value = try? JSONValue.parse(text) else { return bad("body is not valid JSON") }
        guard let object = value.objectValue else { return bad("body must be a JSON object, not \(value.compactString.prefix(40))") }
        var fields: [String: String] = [:]
        for key in ["name", "conn_url", "api_url"] {
            guard let field = object[key] else { return bad("'\(key)' is missing") }
            guard let string = field.stringValue, !string.isEmpty else { return bad("'\(key)' must be a non-empty string") }
            fields[key] = string
        }
        var slots = JSONObject()
        if let given = object["slots"], !given.isNull {
            guard let map = given.objectValue else { return bad("'slots' must be an object mapping slot names to LSNs") }
            for (slot, lsn) in map.pairs {
                guard case .int(let position) = lsn, position >= 0 else {
                    return bad("'slots.\(slot)' must be a non-negative integer LSN")
                }
                slots[slot] = .int(position)
            }
        }
        return .success(FailsafeRequest(name: fields["name"]!, connURL: fields["conn_url"]!, apiURL: fields["api_url"]!, slots: slots))
    }
}

/// `GET /failsafe` and `POST /failsafe`.
enum FailsafeEndpoint {
    /// `GET /failsafe`: the `failsafe` key as last read from the DCS; 502 when it is absent or
    /// not an object (Patroni serves its last read too, so this works while the DCS is down).
    static func get(_ snapshot: NodeSnapshot) -> APIResponse {
        guard let key = snapshot.clusterView?.failsafe else { return .httpError(502) }
        return .json(200, JSONValue.object(key))
    }

    /// `POST /failsafe`: 502 unless failsafe mode is on (checked before the body, as Patroni
    /// does), 400 for a bad body, else whatever the daemon answers (200 "Accepted" with an
    /// `lsn` header, or 500 "Running as a leader").
    static func post(actions: APIActions, state: APIState) -> Router.AsyncHandler {
        return { _, body in
            guard state.current.failsafeModeEnabled else { return .httpError(502) }
            switch FailsafeRequest.validate(body) {
            case .failure(let response): return response
            case .success(let request): return await actions.acceptFailsafe(request)
            }
        }
    }
}
