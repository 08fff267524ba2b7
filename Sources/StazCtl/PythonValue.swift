import Foundation
import StazCore

/// A query cell the way psycopg 3 hands it to patronictl: a Python object, printed with
/// `str()` in tsv and pretty tables and with `repr()` inside lists and dicts. Values with no JSON
/// form (Decimal, datetime, timedelta, UUID, IP addresses) keep their `str()` text in `.text`.
enum PythonValue: Equatable, Sendable {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case str(String)
    case bytes([UInt8])
    case list([PythonValue])
    case dict([(String, PythonValue)])
    /// `str()` and `repr()` of an object without a JSON form.
    case text(str: String, repr: String)

    static func == (a: PythonValue, b: PythonValue) -> Bool { a.repr == b.repr }

    /// Python's `str(value)`.
    var str: String {
        switch self {
        case .str(let s): return s
        case .text(let s, _): return s
        default: return repr
        }
    }

    /// Python's `repr(value)`.
    var repr: String {
        switch self {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .float(let d): return pythonFloatText(d)
        case .str(let s): return pythonStringRepr(s)
        case .bytes(let b): return pythonBytesRepr(b)
        case .list(let items): return "[" + items.map(\.repr).joined(separator: ", ") + "]"
        case .dict(let pairs): return "{" + pairs.map { pythonStringRepr($0.0) + ": " + $0.1.repr }.joined(separator: ", ") + "}"
        case .text(_, let r): return r
        }
    }

    /// What `--format json|yaml` prints: JSON types as they are, anything else as its `str()`
    /// (patronictl's `json.dumps` cannot serialise those at all).
    var json: JSONValue {
        switch self {
        case .none: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .float(let d): return .double(d)
        case .str(let s): return .string(s)
        case .list(let items): return .array(items.map(\.json))
        case .dict(let pairs): return .object(JSONObject(pairs.map { ($0.0, $0.1.json) }))
        case .bytes, .text: return .string(str)
        }
    }

    /// psycopg's `json.loads` result for a json or jsonb value.
    init(json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .float(d)
        case .string(let s): self = .str(s)
        case .array(let items): self = .list(items.map(PythonValue.init(json:)))
        case .object(let object): self = .dict(object.pairs.map { ($0.0, PythonValue(json: $0.1)) })
        }
    }
}

/// Python's `repr(float)`: the shortest text that reads back as the same double, in fixed
/// notation for decimal exponents -4 to 15 and scientific (`1e+16`, `1.5e-05`) outside.
func pythonFloatText(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d > 0 ? "inf" : "-inf" }
    // Swift's description is also the shortest round-trip form; only its layout differs.
    var text = "\(d.magnitude)"
    var exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        exponent = Int(text[text.index(after: e)...]) ?? 0
        text = String(text[..<e])
    }
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    let whole = String(parts[0]), fraction = parts.count > 1 ? String(parts[1]) : ""
    var digits = whole + fraction
    // Position of the decimal point relative to the start of `digits`.
    var point = whole.count + exponent
    while digits.count > 1 && digits.first == "0" { digits.removeFirst(); point -= 1 }
    while digits.count > 1 && digits.last == "0" { digits.removeLast() }
    let sign = d.sign == .minus ? "-" : ""
    if digits == "0" { return sign + "0.0" }
    let decimalExponent = point - 1
    if decimalExponent < -4 || decimalExponent >= 16 {
        let mantissa = digits.count > 1 ? "\(digits.first!).\(digits.dropFirst())" : digits
        let exponentText = String(format: "%02d", abs(decimalExponent))
        return sign + mantissa + "e" + (decimalExponent < 0 ? "-" : "+") + exponentText
    }
    if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + digits }
    if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) + ".0" }
    return sign + digits.prefix(point) + "." + digits.dropFirst(point)
}

/// Python's `str(Decimal(text))` for PostgreSQL's numeric output (`-12.340`, `NaN`, `Infinity`):
/// fixed notation unless the adjusted exponent is below -6 (`0.0000001` → `1E-7`).
func pythonDecimalText(_ text: String) -> String {
    guard text.first == "-" || text.first?.isNumber == true else { return text }  // NaN, ±Infinity
    let negative = text.hasPrefix("-")
    let unsigned = negative ? String(text.dropFirst()) : text
    let parts = unsigned.split(separator: ".", omittingEmptySubsequences: false)
    let scale = parts.count > 1 ? parts[1].count : 0
    var coefficient = String(parts[0]) + (parts.count > 1 ? String(parts[1]) : "")
    while coefficient.count > 1 && coefficient.first == "0" { coefficient.removeFirst() }
    let leftDigits = coefficient.count - scale
    if leftDigits > -6 { return text }
    let adjusted = leftDigits - 1
    let mantissa = coefficient.count > 1 ? "\(coefficient.first!).\(coefficient.dropFirst())" : coefficient
    return (negative ? "-" : "") + mantissa + "E" + (adjusted < 0 ? "-" : "+") + String(abs(adjusted))
}

/// Python's `repr(str)`: single quotes unless the text holds a single quote and no double one.
func pythonStringRepr(_ s: String) -> String {
    let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
    var out = String(quote)
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where Character(scalar) == quote: out += "\\" + String(quote)
        case _ where scalar.value < 0x20 || (0x7F...0xA0).contains(scalar.value):
            out += String(format: "\\x%02x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + String(quote)
}

/// Python's `repr(bytes)`: `b'...'` with printable ASCII as is and other bytes as `\xhh`.
func pythonBytesRepr(_ bytes: [UInt8]) -> String {
    let quote: UInt8 = bytes.contains(0x27) && !bytes.contains(0x22) ? 0x22 : 0x27
    var out = "b" + String(UnicodeScalar(quote))
    for byte in bytes {
        switch byte {
        case 0x5C: out += "\\\\"
        case 0x0A: out += "\\n"
        case 0x0D: out += "\\r"
        case 0x09: out += "\\t"
        case quote: out += "\\" + String(UnicodeScalar(quote))
        case 0x20..<0x7F: out.unicodeScalars.append(UnicodeScalar(byte))
        default: out += String(format: "\\x%02x", byte)
        }
    }
    return out + String(UnicodeScalar(quote))
}
