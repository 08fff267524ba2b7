import Foundation
import StazConfig
import StazCore

/// The pure parts of `edit-config`: patronictl's `apply_config_changes` (`-s`/`-p`),
/// `patch_config` (`--apply`/`--replace`) and Python's `==` on the result.
public enum ConfigEditing {
    /// `-s key.path=value` pairs: value parsed as YAML; `null` (or nothing) deletes the key and
    /// mappings left empty; under `postgresql.parameters` the rest of the path is one name
    /// (GUCs may contain dots).
    public static func applyChanges(_ data: JSONObject, pairs: [String]) throws -> JSONObject {
        var changed = data
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "=") else { throw CtlError("Invalid parameter setting \(pair)") }
            let keyPath = pair[..<equals].trimmingCharacters(in: .whitespacesAndNewlines)
            let valueText = String(pair[pair.index(after: equals)...])
            let value: JSONValue
            do {
                value = try YAMLConversion.parse(valueText)
            } catch {
                throw CtlError("Invalid value in parameter setting \(pair): \(error)")
            }
            setPath(&changed, path: keyPath.components(separatedBy: "."), value: value, prefix: [])
        }
        return changed
    }

    private static func setPath(_ config: inout JSONObject, path: [String], value: JSONValue, prefix: [String]) {
        var path = path
        if prefix == ["postgresql", "parameters"] { path = [path.joined(separator: ".")] }
        let key = path[0]
        if path.count == 1 {
            // Spelled out: a bare `nil` here would become JSONValue.null (ExpressibleByNilLiteral).
            config[key] = value.isNull ? JSONValue?.none : value
            return
        }
        var child = config[key]?.objectValue ?? JSONObject()
        setPath(&child, path: Array(path.dropFirst()), value: value, prefix: prefix + [key])
        config[key] = child.isEmpty ? JSONValue?.none : JSONValue.object(child)
    }

    /// Patroni's `patch_config`: `null` deletes, mappings merge recursively, other values
    /// replace unless their Python `str()` is the same. Returns whether anything changed.
    @discardableResult
    public static func patch(_ config: inout JSONObject, with data: JSONObject) -> Bool {
        config.applyPatroniPatch(data)
    }

    /// `--apply`/`--replace` text: must be a YAML mapping, applied with `patch`.
    public static func applyYAML(_ data: JSONObject, yaml: String, source: String) throws -> JSONObject {
        let parsed: JSONValue
        do {
            parsed = try YAMLConversion.parse(yaml)
        } catch {
            throw CtlError("Can not parse \(source): \(error)")
        }
        guard case .object(let options) = parsed else {
            throw CtlError("\(source) does not contain a YAML mapping")
        }
        var changed = data
        patch(&changed, with: options)
        return changed
    }

    /// Python `str(value)` closely enough to compare two values.
    /// Python's `==` on parsed JSON/YAML: numbers compare by value (`1 == 1.0 == True`),
    /// mappings ignore key order.
    public static func pythonEqual(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
        func number(_ v: JSONValue) -> Double? {
            switch v {
            case .int(let i): return Double(i)
            case .double(let d): return d
            case .bool(let b): return b ? 1 : 0
            default: return nil
            }
        }
        switch (lhs, rhs) {
        case (.object(let l), .object(let r)):
            return l.pairs.count == r.pairs.count && l.pairs.allSatisfy { key, value in
                r[key].map { pythonEqual(value, $0) } ?? false
            }
        case (.array(let l), .array(let r)):
            return l.count == r.count && zip(l, r).allSatisfy { pythonEqual($0, $1) }
        default:
            if let l = number(lhs), let r = number(rhs) { return l == r }
            return lhs == rhs
        }
    }
}
