import Foundation
import StazCore

/// The PostgreSQL parameters staz owns, after Patroni's `ConfigHandler.CMDLINE_OPTIONS` with the
/// pgEdge fork's changes: `wal_level` defaults to `logical` and a configured `hot_standby`
/// level means `logical` too (Spock logical replication needs it); an explicit `replica` stays.
public enum PostgresParameterRules {
    struct Rule: Sendable {
        /// Default when no valid value is configured (nil: set by staz itself).
        let defaultValue: JSONValue?
        /// Returns the value to use (normalised) or nil when it fails validation. (Careful:
        /// `JSONValue` is ExpressibleByNilLiteral, so a bare `nil` in a ternary becomes `.null`.)
        let validate: @Sendable (JSONValue) -> JSONValue?
        /// Lowest server_version_num the parameter exists in.
        let minimumVersion: Int
    }

    /// In Patroni's order; all of these are dynamic-only (local values are ignored).
    static let commandLineOptions: [(name: String, rule: Rule)] = [
        ("listen_addresses", Rule(defaultValue: nil, validate: { _ in nil }, minimumVersion: 90100)),
        ("port", Rule(defaultValue: nil, validate: { _ in nil }, minimumVersion: 90100)),
        ("cluster_name", Rule(defaultValue: nil, validate: { _ in nil }, minimumVersion: 90500)),
        ("wal_level", Rule(defaultValue: "logical", validate: { value in
            guard let s = value.stringValue?.lowercased(), ["hot_standby", "replica", "logical"].contains(s) else { return nil }
            return .string(s)
        }, minimumVersion: 90100)),
        ("hot_standby", Rule(defaultValue: "on", validate: { value in value.boolValue == true ? Optional(value) : Optional.none }, minimumVersion: 90100)),
        ("max_connections", integerRule(100, minimum: 25)),
        ("max_wal_senders", integerRule(10, minimum: 3)),
        ("wal_keep_segments", integerRule(8, minimum: 1)),
        ("wal_keep_size", Rule(defaultValue: "128MB", validate: { value in
            guard let mb = megabytes(value), mb >= 16 else { return nil }
            return value
        }, minimumVersion: 130000)),
        ("max_prepared_transactions", integerRule(0, minimum: 0)),
        ("max_locks_per_transaction", integerRule(64, minimum: 32)),
        ("track_commit_timestamp", Rule(defaultValue: "off", validate: { value in value.boolValue != nil ? Optional(value) : Optional.none }, minimumVersion: 90500)),
        ("max_replication_slots", integerRule(10, minimum: 4, since: 90400)),
        ("max_worker_processes", integerRule(8, minimum: 2, since: 90400)),
        ("wal_log_hints", Rule(defaultValue: "on", validate: { value in value.boolValue != nil ? Optional(value) : Optional.none }, minimumVersion: 90400)),
    ]

    /// Defaults staz adds that are not owned (may be overridden locally or dynamically).
    static let stazDefaults: [(String, JSONValue)] = [("hot_standby_feedback", "on")]

    private static func integerRule(_ defaultValue: Int64, minimum: Int64, since: Int = 90100) -> Rule {
        Rule(defaultValue: .int(defaultValue), validate: { value in
            guard let i = value.intValue, value.arrayValue == nil, i >= minimum else { return nil }
            return .int(i)
        }, minimumVersion: since)
    }

    static func rule(for name: String) -> Rule? {
        let lower = name.lowercased()
        return commandLineOptions.first { $0.name == lower }?.rule
    }

    /// Whether `name` is one of the parameters staz owns (case-insensitive).
    public static func isCommandLineOption(_ name: String) -> Bool { rule(for: name) != nil }

    /// Whether `name` goes on the postmaster command line as `--name=value` (everything owned
    /// except `wal_keep_segments`/`wal_keep_size`, which only go to postgresql.conf).
    public static func isPostmasterCommandLineParameter(_ name: String) -> Bool {
        let lower = name.lowercased()
        return isCommandLineOption(lower) && lower != "wal_keep_segments" && lower != "wal_keep_size"
    }

    /// `--name=value` arguments for the postmaster, in Patroni's order.
    public static func postmasterArguments(_ parameters: JSONObject) -> [String] {
        commandLineOptions.compactMap { option in
            guard isPostmasterCommandLineParameter(option.name), let value = parameters[option.name] else { return nil }
            return "--\(option.name)=\(parameterText(value))"
        }
    }

    /// A parameter value as PostgreSQL text: booleans as on/off, numbers plainly.
    public static func parameterText(_ value: JSONValue) -> String {
        switch value {
        case .bool(let b): return b ? "on" : "off"
        case .null: return ""
        default: return YAMLConversion.scalarText(value) ?? value.compactString
        }
    }

    /// Size in MB of a memory setting (plain numbers are MB, as for `wal_keep_size`).
    static func megabytes(_ value: JSONValue) -> Int64? {
        if case .int(let i) = value { return i }
        guard let text = value.stringValue?.trimmingCharacters(in: .whitespaces) else { return nil }
        let digits = text.prefix { $0.isNumber }
        guard let number = Int64(digits) else { return nil }
        let factors: [String: Double] = ["": 1, "kB": 1.0 / 1024, "MB": 1, "GB": 1024, "TB": 1024 * 1024]
        guard let factor = factors[text.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)] else { return nil }
        return Int64(Double(number) * factor)
    }

    /// Dynamic parameters with owned ones validated: invalid values are dropped (the default
    /// then applies) with Patroni's warning; listen_addresses/port/cluster_name are never settable.
    static func validatedDynamic(_ parameters: JSONObject, path: String) -> (JSONObject, [ConfigWarning]) {
        var result = JSONObject()
        var warnings: [ConfigWarning] = []
        for (name, value) in parameters.pairs {
            guard let rule = rule(for: name) else { result[name] = value; continue }
            if let valid = rule.validate(value) {
                result[name.lowercased()] = valid
            } else {
                let fallback = rule.defaultValue.map(parameterText) ?? "the value staz computes"
                warnings.append(ConfigWarning(path: "\(path).\(name)",
                    message: "postgresql parameter \(name)=\(parameterText(value)) failed validation, defaulting to \(fallback)"))
            }
        }
        return (result, warnings)
    }
}

/// The server parameters to run PostgreSQL with: owned defaults/minimums ← dynamic
/// `postgresql.parameters` ← local `postgresql.parameters` (local cannot touch owned ones),
/// then `cluster_name` = scope and `listen_addresses`/`port` from `postgresql.listen`.
/// `majorVersion` is the major (`15`) or a server_version_num (`150002`). With a `mesh`
/// section the mesh's required settings are merged last (`MeshParameterRules`);
/// `knownParameters` (the server binary's GUC names, nil: unknown) decides on the GUCs not
/// every server has.
public func effectivePostgresParameters(local: StazConfiguration, dynamic: DynamicSettings, majorVersion: Int,
                                        knownParameters: Set<String>? = nil) -> JSONObject {
    let version = majorVersion < 1000 ? majorVersion * 10000 : majorVersion
    var parameters = JSONObject()
    for option in PostgresParameterRules.commandLineOptions {
        guard let value = option.rule.defaultValue, !option.name.hasPrefix("wal_keep_") else { continue }
        parameters[option.name] = value
    }
    for (name, value) in PostgresParameterRules.stazDefaults { parameters[name] = value }
    let (dynamicParameters, _) = PostgresParameterRules.validatedDynamic(dynamic.parameters, path: "config.postgresql.parameters")
    // A null value means "not set" (PostgreSQL's default), as `work_mem:` with no value in YAML.
    for (name, value) in dynamicParameters.pairs { parameters[name] = value.isNull ? JSONValue?.none : value }
    for (name, value) in local.postgresql.parameters.pairs where !PostgresParameterRules.isCommandLineOption(name) {
        parameters[name] = value.isNull ? JSONValue?.none : value
    }
    if parameters["wal_level"]?.stringValue == "hot_standby" { parameters["wal_level"] = "logical" }

    // wal_keep_size replaced wal_keep_segments in PostgreSQL 13; convert whichever is given.
    let segments = dynamicParameters["wal_keep_segments"]?.intValue
    let sizeMB = dynamicParameters["wal_keep_size"].flatMap(PostgresParameterRules.megabytes)
    parameters["wal_keep_segments"] = nil
    parameters["wal_keep_size"] = nil
    if version >= 130000 {
        parameters["wal_keep_size"] = dynamicParameters["wal_keep_size"] ?? segments.map { .string("\($0 * 16)MB") } ?? "128MB"
    } else {
        parameters["wal_keep_segments"] = .int(segments ?? sizeMB.map { max(1, $0 / 16) } ?? 8)
    }

    if let mesh = local.mesh {
        MeshParameterRules.apply(to: &parameters, mesh: mesh, synchronousMode: dynamic.synchronousMode != "off",
                                 knownParameters: knownParameters)
    }
    parameters["cluster_name"] = .string(local.scope)
    parameters["listen_addresses"] = .string(local.postgresql.listenHosts)
    parameters["port"] = .string(String(local.postgresql.port))
    // Drop owned parameters the server version does not know.
    return JSONObject(parameters.pairs.filter { name, _ in
        guard let rule = PostgresParameterRules.rule(for: name) else { return true }
        return version >= rule.minimumVersion
    })
}

/// Whether a parameter goes on the postmaster command line (see `PostgresParameterRules`).
public func isPostmasterCommandLineParameter(_ name: String) -> Bool {
    PostgresParameterRules.isPostmasterCommandLineParameter(name)
}
