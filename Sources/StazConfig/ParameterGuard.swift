import StazCore

/// A member's defence against a PostgreSQL parameter value that reached the DCS without being
/// checked (written there directly, or by an older version): a value the server would refuse
/// never goes into postgresql.conf, where it would stop the next start. The last value
/// written is kept instead; without one the parameter is left out (the server's default).
public enum ParameterGuard {
    public struct Rejection: Sendable, Equatable, CustomStringConvertible {
        public var name: String
        public var reason: String
        /// The value used instead (PostgreSQL text); nil when the parameter was left out.
        public var kept: String?
        public var description: String {
            "postgresql parameter \(name): \(reason); "
                + (kept.map { "keeping the last good value '\($0)'" } ?? "leaving it out (PostgreSQL's default)")
        }
    }

    public static func apply(_ parameters: JSONObject, catalog: ParameterCatalog, lastGood: JSONObject) -> (JSONObject, [Rejection]) {
        var result = JSONObject()
        var rejections: [Rejection] = []
        for (name, value) in parameters.pairs {
            guard let reason = catalog.refusal(name: name, value: value) else { result[name] = value; continue }
            let fallback = lastGood[name].flatMap { catalog.refusal(name: name, value: $0) == nil ? $0 : JSONValue?.none }
            if let fallback { result[name] = fallback }
            rejections.append(Rejection(name: name, reason: reason, kept: fallback.map(PostgresParameterRules.parameterText)))
        }
        return (result, rejections)
    }
}
