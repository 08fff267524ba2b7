import Foundation
import StazConfig
import StazCore

/// Python's printf-style formatting of one value (`'%-8s' % 'INFO'`, `'%03d' % 7.9`), for the
/// conversions `LogTemplate` admits; the template has already refused text for `%d`.
enum PythonPercentFormat {
    static func format(_ value: JSONValue, _ conversion: LogConversion) -> String {
        switch conversion.type {
        case "d", "i", "u":
            return number(conversion, "lld", integer(value))
        case "o", "x", "X":
            return number(conversion, "ll" + String(conversion.type), integer(value))
        case "e", "E", "f", "F", "g", "G":
            return number(conversion, String(conversion.type), value.doubleValue ?? 0)
        case "r", "a":
            return text(conversion, repr(value))
        default:
            return text(conversion, str(value))
        }
    }

    /// `int(x)`: floats are truncated toward zero, as `'%d' % 7.9` gives `7`.
    private static func integer(_ value: JSONValue) -> Int64 {
        switch value {
        case .int(let number): return number
        case .double(let number) where number.isFinite: return Int64(number.rounded(.towardZero))
        default: return 0
        }
    }

    /// C's printf agrees with Python's for these flags, widths and precisions.
    private static func number(_ conversion: LogConversion, _ type: String, _ argument: CVarArg) -> String {
        var spec = "%" + conversion.flags
        if let width = conversion.width { spec += String(width) }
        if let precision = conversion.precision { spec += "." + String(precision) }
        return String(format: spec + type, argument)
    }

    /// Strings: precision cuts, width pads (left-aligned with `-`); `0` does not apply to text.
    private static func text(_ conversion: LogConversion, _ value: String) -> String {
        var result = value
        if let precision = conversion.precision, result.count > precision { result = String(result.prefix(precision)) }
        if let width = conversion.width, result.count < width {
            let padding = String(repeating: " ", count: width - result.count)
            result = conversion.flags.contains("-") ? result + padding : padding + result
        }
        return result
    }

    /// Python's `str()`: floats keep a fractional part (`123.0`).
    static func str(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): return text
        case .double(let number): return number.rounded() == number && abs(number) < 1e16 ? String(format: "%.1f", number) : String(number)
        default: return value.compactString
        }
    }

    /// Python's `repr()`: text in single quotes, unless it contains one and no double quote.
    private static func repr(_ value: JSONValue) -> String {
        guard case .string(let text) = value else { return str(value) }
        let quote = text.contains("'") && !text.contains("\"") ? "\"" : "'"
        var escaped = text.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t")
        if quote == "'" { escaped = escaped.replacingOccurrences(of: "'", with: "\\'") }
        return quote + escaped + quote
    }
}
