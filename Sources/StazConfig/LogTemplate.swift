/// Python `logging` LogRecord attributes staz can fill in, with the kind of value Python
/// holds for each: what `%d` or `%f` may format, and what a JSON log line carries
/// (`"lineno": 42`, not `"42"`). Other attributes (`args`, `exc_info`, `stack_info`, ...)
/// have nothing to show in staz and are rejected, so a typo is a config error rather than a
/// `null` in every line.
public enum LogField: String, CaseIterable, Sendable {
    case asctime, created, filename, funcName, levelname, levelno, lineno, message, module, msecs
    case name, pathname, process, processName, relativeCreated, thread, threadName

    public enum Kind: Sendable { case text, integer, real }

    public var kind: Kind {
        switch self {
        case .levelno, .lineno, .process, .thread: return .integer
        case .created, .msecs, .relativeCreated: return .real
        default: return .text
        }
    }

    static var knownNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// One `%(field)...` conversion: Python's printf-style flags, width, precision and type.
public struct LogConversion: Sendable, Equatable {
    /// Any of `#0- +`, in the order written.
    public var flags: String
    public var width: Int?
    public var precision: Int?
    /// One of `s r a d i u o x X e E f F g G`.
    public var type: Character

    public init(flags: String = "", width: Int? = nil, precision: Int? = nil, type: Character = "s") {
        self.flags = flags; self.width = width; self.precision = precision; self.type = type
    }
}

/// Why a `log.format` string cannot be used; the message does not repeat the key.
public struct LogFormatProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A Python `logging` format string (`%(asctime)s %(levelname)s: %(message)s`), parsed once
/// at configuration time so that every problem Python would only hit while logging (an
/// unknown field, `%d` of text) is reported by key before the daemon starts.
public struct LogTemplate: Sendable, Equatable {
    public enum Piece: Sendable, Equatable {
        case literal(String)
        case field(LogField, LogConversion)
    }

    public let pieces: [Piece]

    /// Patroni's default, `PatroniLogger.DEFAULT_FORMAT`.
    public static let patroniDefault = try! LogTemplate(parsing: "%(asctime)s %(levelname)s: %(message)s")

    /// The fields in order of first use, each once (a JSON line has one key per field).
    public var fields: [LogField] {
        var seen: [LogField] = []
        for case .field(let field, _) in pieces where !seen.contains(field) { seen.append(field) }
        return seen
    }

    public init(parsing text: String) throws {
        var pieces: [Piece] = []
        var literal = ""
        var rest = Substring(text)
        while let percent = rest.firstIndex(of: "%") {
            literal += rest[..<percent]
            rest = rest[rest.index(after: percent)...]
            if rest.first == "%" {
                literal += "%"; rest = rest.dropFirst(); continue
            }
            guard rest.first == "(" else {
                throw LogFormatProblem(message: "'%' must be followed by '(field)' or by another '%' (got '%\(rest.prefix(1))')")
            }
            guard let close = rest.firstIndex(of: ")") else {
                throw LogFormatProblem(message: "'\(String(rest.prefix(20)))' has no closing ')'")
            }
            let name = String(rest[rest.index(after: rest.startIndex)..<close])
            guard let field = LogField(rawValue: name) else {
                throw LogFormatProblem(message: "unknown field '%(\(name))'; staz knows \(LogField.knownNames)")
            }
            rest = rest[rest.index(after: close)...]
            let conversion = try LogTemplate.conversion(of: field, in: &rest)
            if !literal.isEmpty { pieces.append(.literal(literal)); literal = "" }
            pieces.append(.field(field, conversion))
        }
        literal += rest
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        // Python's Formatter refuses a format without any field (ValueError at start).
        guard pieces.contains(where: { if case .field = $0 { return true }; return false }) else {
            throw LogFormatProblem(message: "'\(text)' has no %(field) conversion, e.g. %(message)s")
        }
        self.pieces = pieces
    }

    /// Reads `[flags][width][.precision][length]type` after `%(field)`.
    private static func conversion(of field: LogField, in rest: inout Substring) throws -> LogConversion {
        var conversion = LogConversion()
        conversion.flags = String(rest.prefix { "#0- +".contains($0) })
        rest = rest.dropFirst(conversion.flags.count)
        let width = rest.prefix { $0.isASCII && $0.isNumber }
        if !width.isEmpty { conversion.width = Int(width); rest = rest.dropFirst(width.count) }
        if rest.first == "." {
            rest = rest.dropFirst()
            let precision = rest.prefix { $0.isASCII && $0.isNumber }
            conversion.precision = Int(precision) ?? 0
            rest = rest.dropFirst(precision.count)
        }
        if let length = rest.first, "hlL".contains(length) { rest = rest.dropFirst() }  // Python ignores these
        guard let type = rest.first else {
            throw LogFormatProblem(message: "'%(\(field.rawValue))' ends without a conversion type such as s or d")
        }
        rest = rest.dropFirst()
        conversion.type = type
        switch type {
        case "s", "r", "a":
            break
        case "d", "i", "u", "e", "E", "f", "F", "g", "G":
            guard field.kind != .text else {
                throw LogFormatProblem(message: "'%(\(field.rawValue))\(type)' formats text as a number; use %(\(field.rawValue))s")
            }
        case "o", "x", "X":
            guard field.kind == .integer else {
                throw LogFormatProblem(message: "'%(\(field.rawValue))\(type)' needs an integer field; \(field.rawValue) is \(field.kind == .text ? "text" : "a real number")")
            }
        case "*":
            throw LogFormatProblem(message: "'*' widths need positional arguments, which log formats do not have")
        default:
            throw LogFormatProblem(message: "'%(\(field.rawValue))\(type)': unsupported conversion type '\(type)'")
        }
        return conversion
    }
}
