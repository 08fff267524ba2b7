import StazCore

/// One reason a configuration was rejected, naming the key it is about.
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    /// Dotted key path (`postgresql.authentication.superuser.username`, `bootstrap.initdb[1]`);
    /// empty for problems with the source itself (unreadable file, YAML syntax).
    public var path: String
    public var message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// A configuration that failed validation. Carries every problem found, not just the first,
/// so a user can fix the file in one go.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var issues: [ConfigIssue]
    public init(issues: [ConfigIssue]) { self.issues = issues }
    /// One line per issue.
    public var description: String { issues.map(\.description).joined(separator: "\n") }

    /// Whether some issue is about exactly `path`.
    public func mentions(_ path: String) -> Bool { issues.contains { $0.path == path } }
}

/// Something accepted but worth telling the user (ignored keys, adjusted values).
/// `message` is self-contained and already names the key.
public struct ConfigWarning: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
    public var description: String { message }

    static func unknownKey(_ path: String) -> ConfigWarning {
        ConfigWarning(path: path, message: "unknown key '\(path)' (ignored)")
    }
}

/// Collects issues and warnings while a configuration is read.
final class Diagnostics {
    private(set) var issues: [ConfigIssue] = []
    private(set) var warnings: [ConfigWarning] = []

    func error(_ path: String, _ message: String) { issues.append(ConfigIssue(path: path, message: message)) }
    func warn(_ warning: ConfigWarning) { warnings.append(warning) }
    func warn(_ path: String, _ message: String) { warnings.append(ConfigWarning(path: path, message: message)) }
}

/// Short description of a JSON value's kind, for "expected X, got Y" messages.
func describeKind(_ value: JSONValue) -> String {
    switch value {
    case .null: return "null"
    case .bool(let b): return "boolean \(b)"
    case .int(let i): return "number \(i)"
    case .double(let d): return "number \(d)"
    case .string(let s): return "string '\(s)'"
    case .array: return "a list"
    case .object: return "a mapping"
    }
}
