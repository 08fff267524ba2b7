/// The YAML 1.1 implicit tag of a plain scalar, as PyYAML's resolver gives it (`yes` is a
/// bool, `0o17` and `1:30` are ints, `~` is null), matched by hand. Yams resolves the same
/// rules with NSRegularExpression, which runs ICU's regex compiler and engine: about 2 MB of
/// code pages that would stay resident in the daemon for the lifetime of the process, for a
/// handful of patterns read once at start.
enum YAMLImplicitTag: Equatable {
    case bool, int, float, merge, null, timestamp, value, str

    /// In the order of Yams' default rules (bool, int, float, merge, null, timestamp, value):
    /// the first that matches wins, so `123` is an int although the float rule matches it too.
    init(plain text: String) {
        let s = Array(text.utf8)
        if Self.isBool(text) { self = .bool }
        else if Self.isInt(s[...]) { self = .int }
        else if Self.isFloat(s[...]) { self = .float }
        else if text == "<<" { self = .merge }
        else if ["~", "null", "Null", "NULL", ""].contains(text) { self = .null }
        else if Self.isTimestamp(s[...]) { self = .timestamp }
        else if text == "=" { self = .value }
        else { self = .str }
    }

    static func isBool(_ text: String) -> Bool {
        ["yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
         "on", "On", "ON", "off", "Off", "OFF"].contains(text)
    }

    /// The value of a bool scalar (PyYAML's `construct_yaml_bool`).
    static func boolValue(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "yes", "true", "on": return true
        case "no", "false", "off": return false
        default: return nil
        }
    }

    private typealias Bytes = ArraySlice<UInt8>

    /// `[-+]?0b[0-1_]+ | [-+]?0o?[0-7_]+ | [-+]?(0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+ |
    /// [-+]?[1-9][0-9_]*(:[0-5]?[0-9])+`
    private static func isInt(_ all: Bytes) -> Bool {
        let s = dropSign(all)
        guard let first = s.first else { return false }
        if first == ascii("0") {
            let rest = s.dropFirst()
            if rest.isEmpty { return true }
            if rest.first == ascii("b") { return isRun(rest.dropFirst(), of: { $0 == ascii("0") || $0 == ascii("1") || $0 == ascii("_") }) }
            if rest.first == ascii("x") { return isRun(rest.dropFirst(), of: { isHexDigit($0) || $0 == ascii("_") }) }
            let octal = rest.first == ascii("o") ? rest.dropFirst() : rest
            return isRun(octal, of: { (ascii("0")...ascii("7")).contains($0) || $0 == ascii("_") })
        }
        guard (ascii("1")...ascii("9")).contains(first) else { return false }
        let head = s.prefix { isDigit($0) || $0 == ascii("_") }
        let tail = s.dropFirst(head.count)
        return tail.isEmpty || isSexagesimalTail(tail)
    }

    /// `[-+]?[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)? | \.[0-9_]+([eE][-+][0-9]+)? |
    /// [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)`
    private static func isFloat(_ all: Bytes) -> Bool {
        if ["nan", "NaN", "NAN"].contains(where: { all.elementsEqual(Array(".\($0)".utf8)) }) { return true }
        let unsigned = dropSign(all)
        if ["inf", "Inf", "INF"].contains(where: { unsigned.elementsEqual(Array(".\($0)".utf8)) }) { return true }
        if all.first == ascii(".") {
            // Unsigned only, and an exponent needs its sign here.
            let digits = all.dropFirst().prefix { isDigit($0) || $0 == ascii("_") }
            guard !digits.isEmpty else { return false }
            let rest = all.dropFirst(1 + digits.count)
            return rest.isEmpty || isExponent(rest, signRequired: true)
        }
        guard let first = unsigned.first, isDigit(first) else { return false }
        let head = unsigned.prefix { isDigit($0) || $0 == ascii("_") }
        var rest = unsigned.dropFirst(head.count)
        if rest.first == ascii(":") {
            // Sexagesimal: groups, then a mandatory fraction point.
            guard let point = rest.firstIndex(of: ascii(".")), isSexagesimalTail(rest[..<point]) else { return false }
            return isRun(rest[(point + 1)...], of: { isDigit($0) || $0 == ascii("_") }, allowEmpty: true)
        }
        if rest.first == ascii(".") {
            rest = rest.dropFirst().drop { isDigit($0) || $0 == ascii("_") }
        }
        return rest.isEmpty || isExponent(rest, signRequired: false)
    }

    /// `[0-9]{4}-[0-9]{2}-[0-9]{2}` or `[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?`
    private static func isTimestamp(_ all: Bytes) -> Bool {
        var s = all
        func digits(_ range: ClosedRange<Int>) -> Int? {
            let run = s.prefix(range.upperBound).prefix(while: isDigit)
            guard range.contains(run.count) else { return nil }
            s = s.dropFirst(run.count)
            return run.count
        }
        func take(_ byte: Character) -> Bool {
            guard s.first == byte.asciiValue else { return false }
            s = s.dropFirst()
            return true
        }
        guard digits(4...4) != nil, take("-"), let month = digits(1...2), take("-"), let day = digits(1...2) else { return false }
        if s.isEmpty { return month == 2 && day == 2 }
        if !(take("T") || take("t")) {
            let blanks = s.prefix { $0 == ascii(" ") || $0 == ascii("\t") }
            guard !blanks.isEmpty else { return false }
            s = s.dropFirst(blanks.count)
        }
        guard digits(1...2) != nil, take(":"), digits(2...2) != nil, take(":"), digits(2...2) != nil else { return false }
        // A run of digits after the seconds would make a longer match impossible: the regex
        // takes exactly two.
        if take(".") { s = s.drop(while: isDigit) }
        s = s.drop { $0 == ascii(" ") || $0 == ascii("\t") }
        if s.isEmpty { return all.last.map { $0 != ascii(" ") && $0 != ascii("\t") } ?? false }
        if take("Z") { return s.isEmpty }
        guard take("+") || take("-"), digits(1...2) != nil else { return false }
        if s.isEmpty { return true }
        return take(":") && digits(2...2) != nil && s.isEmpty
    }

    /// `(:[0-5]?[0-9])+` covering all of `s`.
    private static func isSexagesimalTail(_ tail: Bytes) -> Bool {
        guard tail.first == ascii(":") else { return false }
        for group in tail.dropFirst().split(separator: ascii(":"), omittingEmptySubsequences: false) {
            switch group.count {
            case 1 where isDigit(group.first!): continue
            case 2 where (ascii("0")...ascii("5")).contains(group.first!) && isDigit(group.last!): continue
            default: return false
            }
        }
        return true
    }

    /// `[eE][-+]?[0-9]+` (sign required: `[eE][-+][0-9]+`) covering all of `s`.
    private static func isExponent(_ s: Bytes, signRequired: Bool) -> Bool {
        guard s.first == ascii("e") || s.first == ascii("E") else { return false }
        var rest = s.dropFirst()
        if rest.first == ascii("+") || rest.first == ascii("-") { rest = rest.dropFirst() } else if signRequired { return false }
        return isRun(rest, of: isDigit)
    }

    private static func dropSign(_ s: Bytes) -> Bytes {
        s.first == ascii("+") || s.first == ascii("-") ? s.dropFirst() : s
    }

    private static func isRun(_ s: Bytes, of member: (UInt8) -> Bool, allowEmpty: Bool = false) -> Bool {
        (allowEmpty || !s.isEmpty) && s.allSatisfy(member)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (ascii("0")...ascii("9")).contains(byte) }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (ascii("a")...ascii("f")).contains(byte) || (ascii("A")...ascii("F")).contains(byte)
    }

    private static func ascii(_ character: Character) -> UInt8 { character.asciiValue! }
}
