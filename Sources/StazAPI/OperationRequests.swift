import Foundation
import NIOCore
import StazCore

/// Request bodies of the unsafe endpoints, validated exactly as Patroni's `api.py` does (same
/// order of checks, same status codes and texts), so the daemon only sees valid requests.
public enum RequestBody {
    /// Patroni's `_read_json_content`: a JSON object; an empty body counts as `{}` when the
    /// body is optional. Anything else is a 400.
    public static func object(_ body: ByteBuffer?, optional: Bool) -> Result<JSONObject, APIResponse> {
        let text = body.map { String(buffer: $0) } ?? ""
        if optional && text.isEmpty { return .success(JSONObject()) }
        guard let object = (try? JSONValue.parse(text))?.objectValue, optional || !object.isEmpty else {
            return .failure(.httpError(400))
        }
        return .success(object)
    }
}

/// A validated `POST /switchover` or `POST /failover`.
public struct SwitchoverRequest: Sendable, Equatable {
    /// `switchover` or `failover` (a failover naming a leader becomes a switchover).
    public var action: String
    public var leader: String?
    public var candidate: String?
    public var scheduledAt: ISOTimestamp?

    public init(action: String, leader: String?, candidate: String?, scheduledAt: ISOTimestamp? = nil) {
        self.action = action; self.leader = leader; self.candidate = candidate; self.scheduledAt = scheduledAt
    }

    /// Patroni's `do_POST_failover` checks that need no DCS access beyond `paused`.
    public static func validate(_ body: JSONObject, action requested: String, paused: Bool, now: Double) -> Result<SwitchoverRequest, APIResponse> {
        let leader = nonEmptyText(body["leader"])
        let candidate = nonEmptyText(body["candidate"]) ?? nonEmptyText(body["member"])
        let schedule = body["scheduled_at"].flatMap { pythonTruthy($0) ? $0 : nil }
        var error: String?
        var status = 400
        var scheduledAt: ISOTimestamp?
        if requested == "failover" && candidate == nil {
            error = "Failover could be performed only to a specific candidate"
        } else if requested == "switchover" && leader == nil {
            error = "Switchover could be performed only from a specific leader"
        }
        if error == nil, let schedule {
            if requested == "failover" {
                error = "Failover can't be scheduled"
            } else if paused {
                error = "Can't schedule switchover in the paused state"
            } else {
                switch parseSchedule(schedule, action: requested, now: now) {
                case .success(let at): scheduledAt = at
                case .failure(let failure): (status, error) = (failure.status, failure.message)
                }
            }
        }
        if error == nil && paused && candidate == nil {
            error = "Switchover is possible only to a specific candidate in a paused state"
        }
        let action = requested == "failover" && leader != nil ? "switchover" : requested
        if error == nil && leader == candidate {
            error = "Switchover target and source are the same"
        }
        if let error { return .failure(.text(status, error)) }
        return .success(SwitchoverRequest(action: action, leader: leader, candidate: candidate, scheduledAt: scheduledAt))
    }
}

/// A validated `POST /restart`.
public struct RestartRequest: Sendable, Equatable {
    public var role: MemberRole?
    /// `postgres_version` as server_version_num (`15.2` → 150002).
    public var postgresVersion: Int?
    /// The body had a `restart_pending` key (Patroni tests presence, not the value).
    public var restartPending: Bool
    public var timeout: Double?
    public var schedule: ISOTimestamp?
    /// The request as Patroni keeps it (`schedule` in isoformat, `timeout` parsed), for the
    /// `scheduled_restart` field of the member key and the status JSON.
    public var published: JSONObject

    public init(role: MemberRole? = nil, postgresVersion: Int? = nil, restartPending: Bool = false, timeout: Double? = nil,
                schedule: ISOTimestamp? = nil, published: JSONObject = JSONObject()) {
        self.role = role; self.postgresVersion = postgresVersion; self.restartPending = restartPending
        self.timeout = timeout; self.schedule = schedule; self.published = published
    }

    /// Patroni's `do_POST_restart` checks, in its order.
    public static func validate(_ body: JSONObject, paused: Bool, now: Double) -> Result<RestartRequest, APIResponse> {
        if paused && body["schedule"] != nil {
            return .failure(.text(500, "Can't schedule restart in the paused state"))
        }
        var request = RestartRequest()
        for (key, value) in body.pairs {
            switch key {
            case "schedule":
                switch parseSchedule(value, action: "restart", now: now) {
                case .success(let at):
                    request.schedule = at
                    request.published[key] = .string(at.isoformat)
                case .failure(let failure):
                    return .failure(.text(failure.status, failure.message))
                }
            case "role":
                guard let role = value.stringValue.flatMap(MemberRole.init(rawValue:)),
                      [.primary, .standbyLeader, .replica].contains(role) else {
                    return .failure(.text(400, "PostgreSQL role should be either primary, standby_leader, or replica"))
                }
                request.role = role
                request.published[key] = value
            case "postgres_version":
                switch postgresVersionNumber(value) {
                case .success(let number): request.postgresVersion = number
                case .failure(let failure): return .failure(.text(400, failure.message))
                }
                request.published[key] = value
            case "timeout":
                guard let seconds = parseSeconds(value), seconds > 0 else {
                    return .failure(.text(400, "Timeout should be a positive number of seconds"))
                }
                request.timeout = seconds
                request.published[key] = seconds == seconds.rounded() ? .int(Int64(seconds)) : .double(seconds)
            case "restart_pending":
                request.restartPending = true
                request.published[key] = value
            default:
                return .failure(.text(400, "Unknown filter for the scheduled restart: \(key)"))
            }
        }
        return .success(request)
    }
}

/// An error message with its status code.
public struct RequestFailure: Error, Sendable, Equatable {
    public var status: Int
    public var message: String
}

/// Patroni's `parse_schedule`: 400 without a zone, 422 in the past or unparsable.
func parseSchedule(_ value: JSONValue, action: String, now: Double) -> Result<ISOTimestamp, RequestFailure> {
    guard let text = value.stringValue, let at = ISOTimestamp.parse(text) else {
        return .failure(RequestFailure(status: 422, message: "Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601"))
    }
    guard at.hasTimeZone else {
        return .failure(RequestFailure(status: 400, message: "Timezone information is mandatory for the scheduled \(action)"))
    }
    if at.epochSeconds < now {
        return .failure(RequestFailure(status: 422, message: "Cannot schedule \(action) in the past"))
    }
    return .success(at)
}

/// Patroni's `postgres_version_to_int`: `X.Y` (X ≥ 10) or `X.Y.Z` → `XXYYZZ`.
public func postgresVersionNumber(_ value: JSONValue) -> Result<Int, RequestFailure> {
    let text = value.stringValue ?? YAMLishText(value)
    let parts = text.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
    guard !parts.contains(where: { $0 == nil }) else {
        return .failure(RequestFailure(status: 400, message: "Invalid PostgreSQL version format: X.Y or X.Y.Z is accepted: \(text)"))
    }
    var components = parts.map { $0! }
    if components.count < 2 || (components.count == 2 && components[0] < 10) || components.count > 3 {
        return .failure(RequestFailure(status: 400, message: "Invalid PostgreSQL major version format: X.Y or X.Y.Z is accepted: \(text)"))
    }
    if components.count == 2 { components.insert(0, at: 1) }
    return .success(Int(components.map { String(format: "%02d", $0) }.joined()) ?? 0)
}

private func YAMLishText(_ value: JSONValue) -> String {
    if case .double(let d) = value { return String(d) }
    return value.compactString
}

/// Patroni's `parse_int(value, 's')`: a number of seconds, optionally with a unit.
func parseSeconds(_ value: JSONValue) -> Double? {
    switch value {
    case .int(let i): return Double(i)
    case .double(let d): return d.rounded(.towardZero)
    case .string(let s):
        let trimmed = s.trimmingCharacters(in: .whitespaces)
        let number = trimmed.prefix { $0.isNumber || $0 == "." || $0 == "-" }
        guard let amount = Double(number) else { return nil }
        let units: [String: Double] = ["": 1, "s": 1, "ms": 0.001, "us": 0.000001, "min": 60, "h": 3600, "d": 86400]
        guard let factor = units[trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces)] else { return nil }
        return (amount * factor).rounded(.towardZero)
    default: return nil
    }
}

/// A string value that Python would find truthy (non-empty), else nil.
func nonEmptyText(_ value: JSONValue?) -> String? {
    guard let value, pythonTruthy(value) else { return nil }
    return value.stringValue ?? value.compactString
}

/// Patroni's `patch_config`: a recursive JSON merge patch where `null` deletes a key and a
/// scalar counts as changed only when its Python `str()` differs. Returns whether anything
/// changed.
public enum ConfigPatch {
    @discardableResult
    public static func apply(_ patch: JSONObject, to config: inout JSONObject) -> Bool {
        config.applyPatroniPatch(patch)
    }
}

/// A rejected request is carried as the reply it gets (`Result<_, APIResponse>`).
extension APIResponse: Error {}
