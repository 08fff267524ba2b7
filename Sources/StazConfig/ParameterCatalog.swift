import Foundation
import StazCore

/// What one PostgreSQL server accepts for its parameters (GUCs): kind, unit, range and enum
/// values of each name. Built from `pg_settings` of a running server (`complete`), or from
/// `postgres --describe-config`, which has no units and no enum values: such a catalog checks
/// only what it can (names, booleans, number syntax, ranges of unit-less numbers).
public struct ParameterCatalog: Sendable, Equatable {
    public struct Definition: Sendable, Equatable {
        public enum Kind: String, Sendable { case bool, integer, real, string, enumeration }
        public var name: String
        public var kind: Kind
        /// `pg_settings.unit` (`kB`, `8kB`, `ms`, `s`, `min`, ...); nil when the value has none.
        public var unit: String?
        public var minimum: Double?
        public var maximum: Double?
        /// Lower-cased `enumvals` (empty when unknown).
        public var enumValues: [String]

        public init(name: String, kind: Kind, unit: String? = nil, minimum: Double? = nil, maximum: Double? = nil,
                    enumValues: [String] = []) {
            self.name = name.lowercased(); self.kind = kind; self.unit = unit
            self.minimum = minimum; self.maximum = maximum; self.enumValues = enumValues.map { $0.lowercased() }
        }
    }

    public let definitions: [String: Definition]
    /// Whether units and enum values are known (from `pg_settings`).
    public let complete: Bool

    public init(_ definitions: [Definition], complete: Bool) {
        self.definitions = Dictionary(definitions.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.complete = complete
    }

    /// One `pg_settings` row (`name, vartype, unit, min_val, max_val, enumvals` as text).
    public static func definition(settingsRow row: [String: String?]) -> Definition? {
        guard let name = row["name"] ?? nil, let vartype = row["vartype"] ?? nil,
              let kind = kind(vartype) else { return nil }
        let enumValues = (row["enumvals"] ?? nil).map(parseTextArray) ?? []
        return Definition(name: name, kind: kind, unit: (row["unit"] ?? nil).flatMap { $0.isEmpty ? nil : $0 },
                          minimum: (row["min_val"] ?? nil).flatMap(Double.init), maximum: (row["max_val"] ?? nil).flatMap(Double.init),
                          enumValues: enumValues)
    }

    /// The output of `postgres --describe-config`: name, context, group, vartype, reset value,
    /// min, max, ... separated by tabs.
    public static func fromDescribeConfig(_ text: String) -> ParameterCatalog {
        let definitions = text.split(separator: "\n").compactMap { line -> Definition? in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 7, let kind = kind(fields[3]) else { return nil }
            let numeric = kind == .integer || kind == .real
            return Definition(name: fields[0], kind: kind, minimum: numeric ? Double(fields[5]) : nil,
                              maximum: numeric ? Double(fields[6]) : nil)
        }
        return ParameterCatalog(definitions, complete: false)
    }

    private static func kind(_ vartype: String) -> Definition.Kind? {
        switch vartype.lowercased() {
        case "bool", "boolean": return .bool  // pg_settings says bool, --describe-config BOOLEAN
        case "integer": return .integer
        case "real": return .real
        case "string": return .string
        case "enum": return .enumeration
        default: return nil
        }
    }

    /// `{a,b,"c d"}` → `[a, b, c d]`.
    private static func parseTextArray(_ text: String) -> [String] {
        guard text.hasPrefix("{"), text.hasSuffix("}") else { return [] }
        return text.dropFirst().dropLast().split(separator: ",").map {
            $0.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
    }

    /// Why PostgreSQL would refuse `value` for `name` in postgresql.conf; nil when it would not
    /// (or this catalog cannot tell).
    public func refusal(name: String, value: JSONValue) -> String? {
        let lower = name.lowercased()
        guard let definition = definitions[lower] else {
            // PostgreSQL accepts any `prefix.name` as a placeholder for an extension's setting.
            return lower.contains(".") ? nil : "unrecognized configuration parameter"
        }
        if case .array = value { return "expected a single value, got a list" }
        if case .object = value { return "expected a single value, got a mapping" }
        let text = PostgresParameterRules.parameterText(value)
        return GUCValueSyntax.refusal(text, for: definition, unitsKnown: complete)
    }
}
