import StazCore
import Yams

/// YAML text as patronictl prints it: `yaml.safe_dump(data, default_flow_style=flow,
/// allow_unicode=True, width=200)`. PyYAML and Yams share libyaml's emitter rules, so building
/// the node tree the way PyYAML's representer does (keys sorted, strings quoted when they would
/// read back as another type) gives the same text.
public func pythonYAML(_ value: JSONValue, flow: Bool = false) -> String {
    let text = (try? Yams.serialize(node: yamlNode(value, flow: flow), indent: 2, width: 200, allowUnicode: true)) ?? ""
    return text
}

func yamlNode(_ value: JSONValue, flow: Bool) -> Node {
    switch value {
    case .null: return .scalar(Node.Scalar("null", Tag(.null), .plain))
    case .bool(let b): return .scalar(Node.Scalar(b ? "true" : "false", Tag(.bool), .plain))
    case .int(let i): return .scalar(Node.Scalar(String(i), Tag(.int), .plain))
    case .double(let d): return .scalar(Node.Scalar(pythonFloatRepr(d), Tag(.float), .plain))
    case .string(let s): return .scalar(s.represented())
    case .array(let items):
        return .sequence(Node.Sequence(items.map { yamlNode($0, flow: flow) }, Tag(.seq), flow ? .flow : .block))
    case .object(let object):
        let pairs = object.pairs.sorted { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) }
            .map { (Node.scalar($0.0.represented()), yamlNode($0.1, flow: flow)) }
        return .mapping(Node.Mapping(pairs, Tag(.map), flow ? .flow : .block))
    }
}

/// PyYAML's float representation (`.inf`, `.nan`, `1.0`, `1.0e+20`).
func pythonFloatRepr(_ d: Double) -> String {
    if d.isNaN { return ".nan" }
    if d.isInfinite { return d > 0 ? ".inf" : "-.inf" }
    var text = "\(d)"
    if !text.contains(".") && text.contains("e") { text = text.replacingOccurrences(of: "e", with: ".0e") }
    return text
}
