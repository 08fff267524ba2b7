import StazCore

/// Reads typed values out of one mapping of the raw configuration, recording every problem
/// in `Diagnostics` (instead of stopping at the first) and remembering which keys were used,
/// so that whatever is left over can be reported as unknown.
final class SectionReader {
    let path: String
    let object: JSONObject
    let diagnostics: Diagnostics
    private var consumed = Set<String>()

    init(path: String, object: JSONObject, diagnostics: Diagnostics) {
        self.path = path; self.object = object; self.diagnostics = diagnostics
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// The raw value of `key` (nil when absent or null), marking the key as known.
    func raw(_ key: String) -> JSONValue? {
        consumed.insert(key)
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    func has(_ key: String) -> Bool { object[key] != nil && object[key]?.isNull == false }

    func typeError(_ key: String, expected: String, got value: JSONValue) {
        diagnostics.error(keyPath(key), "expected \(expected), got \(describeKind(value))")
    }

    /// A nested mapping as its own reader; a non-mapping value is an error.
    func section(_ key: String) -> SectionReader? {
        guard let value = raw(key) else { return nil }
        guard case .object(let child) = value else {
            typeError(key, expected: "a mapping", got: value); return nil
        }
        return SectionReader(path: keyPath(key), object: child, diagnostics: diagnostics)
    }

    func mapping(_ key: String) -> JSONObject? {
        guard let value = raw(key) else { return nil }
        guard case .object(let child) = value else { typeError(key, expected: "a mapping", got: value); return nil }
        return child
    }

    /// Scalar text; numbers are accepted and rendered (YAML `password: 1234` is an int).
    func string(_ key: String, required: Bool = false) -> String? {
        guard let value = raw(key) else {
            if required { diagnostics.error(keyPath(key), "missing required key") }
            return nil
        }
        switch value {
        case .array, .object:
            typeError(key, expected: "a string", got: value); return nil
        default:
            let text = YAMLConversion.scalarText(value) ?? ""
            if required && text.isEmpty { diagnostics.error(keyPath(key), "must not be empty"); return nil }
            return text
        }
    }

    /// Lenient boolean (true/false, on/off, yes/no, 1/0).
    func bool(_ key: String) -> Bool? {
        guard let value = raw(key) else { return nil }
        switch value {
        case .bool, .int, .string:
            if let b = value.boolValue { return b }
        default: break
        }
        typeError(key, expected: "a boolean (true/false, on/off, yes/no)", got: value)
        return nil
    }

    func int(_ key: String, min: Int? = nil, max: Int? = nil) -> Int? {
        guard let value = raw(key) else { return nil }
        guard let i = value.intValue, value.arrayValue == nil else {
            typeError(key, expected: "an integer", got: value); return nil
        }
        if let min, i < min { diagnostics.error(keyPath(key), "must be at least \(min), got \(i)"); return nil }
        if let max, i > max { diagnostics.error(keyPath(key), "must be at most \(max), got \(i)"); return nil }
        return Int(i)
    }

    func number(_ key: String, min: Double? = nil, exclusiveMin: Double? = nil) -> Double? {
        guard let value = raw(key) else { return nil }
        let parsed: Double?
        switch value {
        case .int, .double: parsed = value.doubleValue
        case .string(let s): parsed = Double(s.trimmingCharacters(in: .whitespaces))
        default: parsed = nil
        }
        guard let d = parsed, d.isFinite else { typeError(key, expected: "a number", got: value); return nil }
        if let min, d < min { diagnostics.error(keyPath(key), "must be at least \(formatNumber(min)), got \(formatNumber(d))"); return nil }
        if let exclusiveMin, d <= exclusiveMin {
            diagnostics.error(keyPath(key), "must be greater than \(formatNumber(exclusiveMin)), got \(formatNumber(d))"); return nil
        }
        return d
    }

    /// A list of strings, written as a YAML list or as one comma-separated string.
    func stringList(_ key: String) -> [String]? {
        guard let value = raw(key) else { return nil }
        switch value {
        case .array(let items):
            var result: [String] = []
            for (index, item) in items.enumerated() {
                guard let text = YAMLConversion.scalarText(item) else {
                    diagnostics.error(keyPath(key) + "[\(index)]", "expected a string, got \(describeKind(item))")
                    continue
                }
                result.append(text)
            }
            return result
        case .string(let s):
            return s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        default:
            typeError(key, expected: "a list of strings", got: value); return nil
        }
    }

    /// Keys present but not read, accepted or declared unsupported so far, in file order.
    func unreadKeys() -> [String] { object.keys.filter { !consumed.contains($0) } }

    /// Marks keys as known and used without reading them.
    func accept(_ keys: String...) { consumed.formUnion(keys) }

    /// Patroni keys that staz knows but does not implement: an error when present, since
    /// running without what the key asks for (a cipher list, a proxy, another DCS) would
    /// silently differ from what the user configured.
    func unsupported(_ keys: String...) {
        for key in keys where object[key] != nil {
            consumed.insert(key)
            diagnostics.error(keyPath(key), "a Patroni setting staz does not implement; remove it to run staz without it")
        }
    }

    /// Warns about every key not read, accepted or declared unsupported.
    func finish() {
        for key in object.keys where !consumed.contains(key) {
            diagnostics.warn(.unknownKey(keyPath(key)))
        }
    }

    /// Like `finish`, but every key not read is an error: for security settings, where a
    /// misspelt key (`pasword`) would otherwise leave the protection silently off.
    func finishRejectingUnknownKeys(_ why: String = "not allowed in a security section; misspelt?") {
        for key in object.keys where !consumed.contains(key) {
            diagnostics.error(keyPath(key), "unknown key (\(why))")
        }
    }
}

func formatNumber(_ d: Double) -> String {
    d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d)
}

/// `host:port` split the way Patroni's `split_host_port` does: the port is after the last
/// colon, IPv6 hosts may be bracketed.
func splitHostPort(_ text: String, defaultPort: Int?) -> (host: String, port: String?) {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    if trimmed.hasPrefix("["), let close = trimmed.firstIndex(of: "]") {
        let host = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
        let rest = trimmed[trimmed.index(after: close)...]
        return (host, rest.hasPrefix(":") ? String(rest.dropFirst()) : defaultPort.map(String.init))
    }
    guard let colon = trimmed.lastIndex(of: ":") else { return (trimmed, defaultPort.map(String.init)) }
    return (String(trimmed[..<colon]), String(trimmed[trimmed.index(after: colon)...]))
}

/// Checks that `value` is `host:port` with a numeric port in 1...65535; records an issue at `path`.
@discardableResult
func validateListenAddress(_ value: String, path: String, diagnostics: Diagnostics) -> Bool {
    guard value.contains(":") else {
        diagnostics.error(path, "expected host:port, got '\(value)'"); return false
    }
    let (_, port) = splitHostPort(value, defaultPort: nil)
    guard let portText = port, let number = Int(portText) else {
        diagnostics.error(path, "port '\(port ?? "")' is not a number"); return false
    }
    guard (1...65535).contains(number) else {
        diagnostics.error(path, "port \(number) is out of range 1-65535"); return false
    }
    return true
}

/// The address others should use when `connect_address` is not given: `listen`, with a
/// wildcard host replaced by 127.0.0.1 and only the first of several hosts.
func defaultConnectAddress(fromListen listen: String) -> String {
    let (hosts, port) = splitHostPort(listen, defaultPort: nil)
    let first = hosts.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    let host = ["", "*", "0.0.0.0", "::"].contains(first) ? "127.0.0.1" : (first.contains(":") ? "[\(first)]" : first)
    return host + ":" + (port ?? "")
}
