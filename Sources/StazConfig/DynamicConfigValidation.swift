import StazCore

/// Checks a dynamic configuration before it is written to the DCS (`PATCH`/`PUT /config`,
/// `stazctl edit-config`): every key staz reads must have the right type and range (the same
/// minimums as `bootstrap.dcs`), and every PostgreSQL parameter a value the server accepts.
/// Paths are relative to the `config` key (`postgresql.parameters.work_mem`).
public enum DynamicConfigValidation {
    /// The problems of `config`. With a `catalog` (the running server's `pg_settings`) each
    /// PostgreSQL parameter is checked as the server would check it; without one, only the
    /// parameters staz owns are.
    public static func issues(_ config: JSONObject, catalog: ParameterCatalog?) -> [ConfigIssue] {
        let diagnostics = Diagnostics()
        _ = DynamicConfigParser.parse(config, path: "", diagnostics: diagnostics, strict: true)
        var issues = diagnostics.issues
        guard case .object(let postgresql)? = config["postgresql"],
              case .object(let parameters)? = postgresql["parameters"] else { return issues }
        for (name, value) in parameters.pairs where !value.isNull {
            let path = "postgresql.parameters.\(name)"
            if let refusal = ownedParameterRefusal(name: name, value: value) {
                issues.append(ConfigIssue(path: path, message: refusal))
            } else if PostgresParameterRules.isCommandLineOption(name) && catalog?.definitions[name.lowercased()] == nil {
                continue  // owned, and translated for this server version (wal_keep_segments → wal_keep_size)
            } else if let refusal = catalog?.refusal(name: name, value: value) {
                issues.append(ConfigIssue(path: path, message: refusal))
            }
        }
        return issues
    }

    /// The problems `proposed` adds to `current`: a change is refused for what it breaks, not
    /// for an odd value already stored (which members have been coping with, and which the
    /// same request may not be about).
    public static func newIssues(proposed: JSONObject, current: JSONObject, catalog: ParameterCatalog?) -> [ConfigIssue] {
        let existing = issues(current, catalog: catalog)
        return issues(proposed, catalog: catalog).filter { !existing.contains($0) }
    }

    private static func ownedParameterRefusal(name: String, value: JSONValue) -> String? {
        guard let rule = PostgresParameterRules.rule(for: name) else { return nil }
        if rule.defaultValue == nil {
            return "set by staz itself (from scope and postgresql.listen); it cannot be set here"
        }
        guard rule.validate(value) == nil else { return nil }
        return "'\(PostgresParameterRules.parameterText(value))' is not a value staz accepts for \(name.lowercased())"
            + " (its default is \(rule.defaultValue.map(PostgresParameterRules.parameterText) ?? "computed"))"
    }
}
