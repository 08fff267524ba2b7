extension JSONValue {
    /// Serialises like Python's `json.dumps(value)` with default separators (`", "`, `": "`),
    /// which is what Patroni's REST API sends. Tools that compare responses byte for byte
    /// (and people reading them) then see the same text from staz and Patroni.
    public var pythonJSONString: String {
        var out = ""
        writePython(into: &out)
        return out
    }

    func writePython(into out: inout String) {
        switch self {
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += ", " }
                item.writePython(into: &out)
            }
            out += "]"
        case .object(let object):
            out += "{"
            for (index, (key, value)) in object.pairs.enumerated() {
                if index > 0 { out += ", " }
                out += JSONValue.string(key).compactString
                out += ": "
                value.writePython(into: &out)
            }
            out += "}"
        case .double(let d) where !d.isFinite:
            out += d.isNaN ? "NaN" : (d > 0 ? "Infinity" : "-Infinity")
        default:
            // Scalars are identical in the compact form (same escaping: ensure_ascii).
            out += compactString
        }
    }
}

/// Python's truth value of a JSON value (`bool(x)`), which patronictl and Patroni use to decide
/// whether a column or flag is shown.
public func pythonTruthy(_ value: JSONValue) -> Bool {
    switch value {
    case .null: return false
    case .bool(let b): return b
    case .int(let i): return i != 0
    case .double(let d): return d != 0
    case .string(let s): return !s.isEmpty
    case .array(let a): return !a.isEmpty
    case .object(let o): return !o.isEmpty
    }
}
