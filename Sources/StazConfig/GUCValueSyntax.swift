import Foundation

/// PostgreSQL's own rules for a parameter value's text (`parse_bool`, `parse_int`,
/// `parse_real`, `convert_to_base_unit` and `config_enum_lookup_by_name` in guc.c), so that a
/// value the server would refuse at start-up is found before it reaches postgresql.conf.
enum GUCValueSyntax {
    typealias Definition = ParameterCatalog.Definition

    /// Why `text` is not a valid value for `definition`, or nil. With `unitsKnown` false (a
    /// catalog without units), numbers with a unit are accepted if the unit exists at all.
    static func refusal(_ text: String, for definition: Definition, unitsKnown: Bool) -> String? {
        switch definition.kind {
        case .string: return nil
        case .bool:
            return parseBool(text) == nil ? "'\(text)' is not a boolean (on/off, true/false, yes/no, 1/0)" : nil
        case .enumeration:
            guard unitsKnown, !definition.enumValues.isEmpty else { return nil }
            if acceptedEnumValues(definition).contains(text.lowercased()) { return nil }
            return "'\(text)' is not one of: \(definition.enumValues.joined(separator: ", "))"
        case .integer, .real:
            return numberRefusal(text, for: definition, unitsKnown: unitsKnown)
        }
    }

    /// `parse_bool`: any case, and any unambiguous prefix of true/false/yes/no, on/off (two
    /// letters at least), 1/0.
    static func parseBool(_ text: String) -> Bool? {
        let lower = text.lowercased()
        guard !lower.isEmpty else { return nil }
        if "true".hasPrefix(lower) || "yes".hasPrefix(lower) || lower == "1" { return true }
        if "false".hasPrefix(lower) || "no".hasPrefix(lower) || lower == "0" { return false }
        if lower.count >= 2 && "off".hasPrefix(lower) { return false }
        if lower == "on" { return true }
        return nil
    }

    /// `enumvals` lists only the visible values; PostgreSQL also accepts hidden spellings: the
    /// boolean words for enums that have on and off, `debug` for the message levels, and the
    /// old `wal_level` names.
    private static func acceptedEnumValues(_ definition: Definition) -> Set<String> {
        var accepted = Set(definition.enumValues)
        if accepted.contains("on") && accepted.contains("off") {
            accepted.formUnion(["true", "false", "yes", "no", "1", "0"])
        }
        if accepted.contains("debug1") { accepted.insert("debug") }
        if definition.name == "wal_level" { accepted.formUnion(["archive", "hot_standby"]) }
        return accepted
    }

    static let memoryUnitsInKB: [String: Double] = ["B": 1.0 / 1024, "kB": 1, "MB": 1024, "GB": 1024 * 1024, "TB": 1024 * 1024 * 1024]
    static let timeUnitsInMS: [String: Double] = ["us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000]

    private static func numberRefusal(_ text: String, for definition: Definition, unitsKnown: Bool) -> String? {
        let kindName = definition.kind == .integer ? "an integer" : "a number"
        let unitHint = definition.unit.map { " (\($0))" } ?? ""
        guard let (number, rest) = leadingNumber(text, integer: definition.kind == .integer) else {
            return "'\(text)' is not \(kindName)\(unitHint)"
        }
        let unit = rest.trimmingCharacters(in: .whitespaces)
        var value = number
        var rangeCheckable = true
        if !unit.isEmpty {
            if unitsKnown {
                guard let base = definition.unit, let factor = conversion(from: unit, toBase: base) else {
                    return definition.unit.map { "'\(text)': unit '\(unit)' is not valid here; \(validUnits(for: $0))" }
                        ?? "'\(text)': this parameter takes no unit"
                }
                value = number * factor
            } else {
                guard memoryUnitsInKB[unit] != nil || timeUnitsInMS[unit] != nil else {
                    return "'\(text)': '\(unit)' is not a unit PostgreSQL knows"
                }
                rangeCheckable = false
            }
        }
        if definition.kind == .integer {
            value = value.rounded(.toNearestOrEven)
            if abs(value) > Double(Int32.max) { return "'\(text)' is outside the range of an integer" }
        }
        guard value.isFinite, rangeCheckable else { return value.isFinite ? nil : "'\(text)' is not \(kindName)" }
        let shown = value == value.rounded() ? String(Int64(value)) : String(value)
        if let minimum = definition.minimum, value < minimum {
            return "'\(text)' (\(shown)\(definition.unit.map { " × \($0)" } ?? "")) is below the minimum \(format(minimum))\(unitHint)"
        }
        if let maximum = definition.maximum, value > maximum {
            return "'\(text)' (\(shown)\(definition.unit.map { " × \($0)" } ?? "")) is above the maximum \(format(maximum))\(unitHint)"
        }
        return nil
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e18 ? String(Int64(value)) : String(value)
    }

    /// The number at the start of `text` and what follows it: `strtol` with base 0 (0x hex,
    /// leading-0 octal) for integers, falling back to a decimal fraction or exponent as
    /// `parse_int` does; `strtod` for reals.
    static func leadingNumber(_ text: String, integer: Bool) -> (Double, Substring)? {
        var rest = Substring(text).drop { $0 == " " || $0 == "\t" }
        var sign = 1.0
        if let first = rest.first, first == "+" || first == "-" {
            sign = first == "-" ? -1 : 1
            rest = rest.dropFirst()
        }
        let lower = rest.lowercased()
        if lower.hasPrefix("0x") {
            let digits = rest.dropFirst(2).prefix { $0.isHexDigit }
            guard !digits.isEmpty, let value = UInt64(digits, radix: 16) else { return nil }
            return (sign * Double(value), rest.dropFirst(2 + digits.count))
        }
        let integerDigits = rest.prefix { $0.isASCII && $0.isNumber }
        var end = rest.index(rest.startIndex, offsetBy: integerDigits.count)
        var fractional = false
        if end < rest.endIndex, rest[end] == "." {
            fractional = true
            end = rest.index(after: end)
            end = rest[end...].firstIndex { !($0.isASCII && $0.isNumber) } ?? rest.endIndex
        }
        let mantissa = rest[rest.startIndex..<end]
        guard mantissa.contains(where: { $0.isNumber }) else { return nil }
        if end < rest.endIndex, rest[end] == "e" || rest[end] == "E" {
            var exponentEnd = rest.index(after: end)
            if exponentEnd < rest.endIndex, rest[exponentEnd] == "+" || rest[exponentEnd] == "-" {
                exponentEnd = rest.index(after: exponentEnd)
            }
            let exponentDigits = rest[exponentEnd...].prefix { $0.isASCII && $0.isNumber }
            if !exponentDigits.isEmpty {
                fractional = true
                end = rest.index(exponentEnd, offsetBy: exponentDigits.count)
            }
        }
        let numberText = rest[rest.startIndex..<end]
        if integer && !fractional && numberText.count > 1 && numberText.hasPrefix("0") {
            let octal = numberText.prefix { ("0"..."7").contains($0) }
            guard let value = UInt64(octal, radix: 8) else { return nil }
            return (sign * Double(value), rest.dropFirst(octal.count))
        }
        guard let value = Double(numberText) else { return nil }
        return (sign * value, rest[end...])
    }

    /// Factor turning a value in `unit` into the parameter's base unit (`8kB`, `ms`, ...).
    static func conversion(from unit: String, toBase base: String) -> Double? {
        let multiplierDigits = base.prefix { $0.isNumber }
        let multiplier = Double(multiplierDigits) ?? 1
        let baseUnit = String(base.dropFirst(multiplierDigits.count))
        if let from = memoryUnitsInKB[unit], let to = memoryUnitsInKB[baseUnit] { return from / (to * multiplier) }
        if let from = timeUnitsInMS[unit], let to = timeUnitsInMS[baseUnit] { return from / (to * multiplier) }
        return nil
    }

    private static func validUnits(for base: String) -> String {
        let baseUnit = String(base.drop { $0.isNumber })
        if memoryUnitsInKB[baseUnit] != nil { return "valid units are B, kB, MB, GB and TB" }
        return "valid units are us, ms, s, min, h and d"
    }
}
