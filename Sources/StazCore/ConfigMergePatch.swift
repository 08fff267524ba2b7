/// Patroni's `patch_config`: a recursive JSON merge-patch where `null` deletes a key, nested
/// objects merge, and a value counts as changed only when Python's `str()` of it differs (so
/// `1` and `1.0` differ, as in Patroni). Used by `PATCH /config` and `stazctl edit-config`.
extension JSONObject {
    /// Applies `patch` in place; returns whether anything changed.
    @discardableResult
    public mutating func applyPatroniPatch(_ patch: JSONObject) -> Bool {
        var changed = false
        for (name, value) in patch.pairs {
            if value.isNull {
                if let old = self[name] {
                    self[name] = JSONValue?.none
                    if !old.isNull { changed = true }
                }
            } else if let old = self[name] {
                if case .object(let nestedPatch) = value {
                    if case .object(var nested) = old {
                        if nested.applyPatroniPatch(nestedPatch) { changed = true }
                        self[name] = .object(nested)
                    } else {
                        self[name] = value
                        changed = true
                    }
                } else if old.pythonComparisonText != value.pythonComparisonText {
                    self[name] = value
                    changed = true
                }
            } else {
                self[name] = value
                changed = true
            }
        }
        return changed
    }
}

extension JSONValue {
    /// Python's `str()` of a decoded JSON value, as Patroni compares config values.
    public var pythonStr: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .bool(let b): return b ? "True" : "False"
        case .null: return "None"
        case .double(let d): return "\(d)"
        default: return pythonJSONString
        }
    }

    var pythonComparisonText: String {
        switch self {
        case .array, .object: return pythonJSONString
        case .double(let d) where d.rounded() == d && abs(d) < 1e16: return String(Int64(d)) + ".0"
        default: return pythonStr
        }
    }
}
