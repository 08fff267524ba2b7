import Foundation
import StazCore

extension PostgresController {
    /// Postmaster command-line parameters whose running value differs from `desired`, as
    /// Patroni's pending_restart_reason (`{name: {old_value, new_value}}`). The command line
    /// beats postgresql.conf, so PostgreSQL never flags these as pending itself.
    public func commandLineParameterChanges(_ desired: [(String, String)]) async -> JSONObject {
        guard !desired.isEmpty else { return JSONObject() }
        let names = desired.map { sqlLiteral($0.0) }.joined(separator: ", ")
        guard let rows = try? await queryLocal(
            "SELECT name, setting, vartype FROM pg_catalog.pg_settings WHERE name IN (\(names))", timeout: 2) else { return JSONObject() }
        var changes = JSONObject()
        for (name, wanted) in desired {
            guard let row = rows.first(where: { ($0["name"] ?? nil) == name }), let running = row["setting"] ?? nil else { continue }
            if !Self.sameSetting(running, wanted, type: (row["vartype"] ?? nil) ?? "string") {
                changes[name] = .object(JSONObject([("old_value", .string(running)), ("new_value", .string(wanted))]))
            }
        }
        return changes
    }

    static func sameSetting(_ running: String, _ wanted: String, type: String) -> Bool {
        switch type {
        case "bool":
            return parseLenientBool(running) == parseLenientBool(wanted)
        case "integer", "real":
            guard let a = Double(running), let b = Double(wanted.trimmingCharacters(in: .whitespaces)) else { return running == wanted }
            return a == b
        default:
            return running.lowercased() == wanted.lowercased()
        }
    }
}
