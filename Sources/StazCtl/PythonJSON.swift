import StazCore

extension JSONValue {
    /// Python `json.dumps(value)` text (separators `", "` and `": "`), as patronictl prints.
    public var pythonJSONText: String {
        switch self {
        case .array(let items): return "[" + items.map(\.pythonJSONText).joined(separator: ", ") + "]"
        case .object(let o):
            return "{" + o.pairs.map { JSONValue.string($0.0).compactString + ": " + $0.1.pythonJSONText }
                .joined(separator: ", ") + "}"
        case .double(let d) where !d.isFinite: return d.isNaN ? "NaN" : (d > 0 ? "Infinity" : "-Infinity")
        default: return compactString
        }
    }
}
