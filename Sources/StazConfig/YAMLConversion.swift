import Foundation
import StazCore
import Yams

/// YAML → `JSONValue` conversion that keeps mapping key order and resolves scalars the way
/// PyYAML's `safe_load` (YAML 1.1) does, so that `bootstrap.dcs` written into the DCS is what
/// Patroni would write: `on`/`yes` are booleans, `0x1F` is an int, `'on'` stays a string.
public enum YAMLConversion {
    public struct SyntaxError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses one YAML document. An empty document gives `.null`.
    public static func parse(_ yaml: String) throws -> JSONValue {
        // Without a `!` the document has no explicit tag, so every plain scalar's tag is
        // implicit and `YAMLImplicitTag` resolves it; Yams' own resolver (regular expressions,
        // hence ICU) is only needed where a tag may be explicit (`!!str 5` stays a string).
        let tags: ScalarTags = yaml.utf8.contains(UInt8(ascii: "!")) ? .yams : .implicitByHand
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml, tags == .yams ? .default : .basic)
        } catch {
            throw SyntaxError(description: "invalid YAML: " + describe(error, in: yaml))
        }
        guard let node else { return .null }
        return jsonValue(from: node, tags: tags)
    }

    /// Who resolves a scalar's tag: Yams (the parser's resolver) or `YAMLImplicitTag`, for a
    /// document parsed with Yams' rule-less resolver.
    public enum ScalarTags: Sendable {
        case yams, implicitByHand
    }

    /// Where and why the YAML is invalid, without any of its text: Yams' own descriptions quote
    /// the offending line, or for a duplicated key the whole document, passwords included.
    /// libyaml's problem and context phrases ("could not find expected ':'") are fixed texts.
    static func describe(_ error: Error, in yaml: String) -> String {
        guard let error = error as? YamlError else { return "cannot be parsed (\(type(of: error)))" }
        func at(_ mark: Mark) -> String { at(mark.line, mark.column) }
        func at(_ line: Int, _ column: Int) -> String { "line \(line), column \(column)" }
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let during = context.map { " (\($0.text) at \(at($0.mark)))" } ?? ""
            return "\(at(mark)): \(problem)\(during)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            // The key names are not shown either: they are text of the file. The position is
            // the first occurrence of (the first of) the repeated keys.
            let others = duplicates.count > 1 ? " (as do \(duplicates.count - 1) other keys of the same mapping)" : ""
            return "\(at(context.mark)): this key appears again later in the same mapping\(others)"
        case .reader(let problem, let offset, _, _):
            guard let offset else { return "cannot be read: \(problem)" }
            let lines = yaml.prefix(offset).split(separator: "\n", omittingEmptySubsequences: false)
            return "\(at(lines.count, (lines.last?.count ?? 0) + 1)): cannot be read: \(problem)"
        case .dataCouldNotBeDecoded(let encoding):
            return "not valid \(encoding) text"
        case .no, .memory, .writer, .emitter, .representer:
            return "cannot be parsed"
        }
    }

    /// Converts a composed YAML node.
    public static func jsonValue(from node: Node, tags: ScalarTags = .yams) -> JSONValue {
        switch node {
        case .scalar(let scalar): return scalarValue(scalar, tag: tag(of: scalar, node, tags))
        case .sequence(let sequence): return .array(sequence.map { jsonValue(from: $0, tags: tags) })
        case .mapping(let mapping):
            var object = JSONObject()
            for (key, value) in mapping {
                let converted = jsonValue(from: value, tags: tags)
                if case .scalar(let keyScalar) = key, tag(of: keyScalar, key, tags) == .merge, case .object(let merged) = converted {
                    // `<<: *anchor` — keys already present win, as in PyYAML.
                    for (k, v) in merged.pairs where object[k] == nil { object[k] = v }
                    continue
                }
                object[keyText(key)] = converted
            }
            return .object(object)
        case .alias: return .null
        }
    }

    private static func keyText(_ key: Node) -> String {
        if case .scalar(let s) = key { return s.string }
        return jsonValue(from: key).compactString
    }

    private static func tag(of scalar: Node.Scalar, _ node: Node, _ tags: ScalarTags) -> YAMLImplicitTag {
        switch tags {
        case .implicitByHand:
            return scalar.style == .plain || scalar.style == .any ? YAMLImplicitTag(plain: scalar.string) : .str
        case .yams:
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return .null
            case .bool: return .bool
            case .int: return .int
            case .float: return .float
            case .merge: return .merge
            default: return .str
            }
        }
    }

    private static func scalarValue(_ scalar: Node.Scalar, tag: YAMLImplicitTag) -> JSONValue {
        let text = scalar.string
        switch tag {
        case .null: return .null
        case .bool: return YAMLImplicitTag.boolValue(text).map { .bool($0) } ?? .string(text)
        case .int:
            if let i = Int64.construct(from: scalar) { return .int(i) }
            return Double.construct(from: scalar).map { .double($0) } ?? .string(text)
        case .float: return Double.construct(from: scalar).map { .double($0) } ?? .string(text)
        default: return .string(text)
        }
    }

    /// Renders a JSON value as a single YAML/Python-ish scalar text for messages and for
    /// environment-style string fields (`5432` → "5432", `true` → "true").
    static func scalarText(_ value: JSONValue) -> String? {
        switch value {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .bool(let b): return b ? "true" : "false"
        default: return nil
        }
    }
}

extension JSONObject {
    /// Patroni's `patch_config`: nested mappings are merged, `null` deletes a key, anything
    /// else replaces. Used to merge a directory of YAML files and the environment overrides.
    func patched(with patch: JSONObject) -> JSONObject {
        var result = self
        for (key, value) in patch.pairs {
            if value.isNull {
                result[key] = nil
            } else if case .object(let patchChild) = value, case .object(let existing)? = result[key] {
                result[key] = .object(existing.patched(with: patchChild))
            } else {
                result[key] = value
            }
        }
        return result
    }
}
