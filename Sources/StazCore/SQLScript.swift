import Foundation

/// SQL text as PostgreSQL's simple-query protocol sees it, for a driver (PostgresNIO) that only
/// speaks the extended protocol, where one message holds one statement.
///
/// psycopg 3 sends a query without parameters as one simple-protocol message, so what
/// `patronictl query -c "A; B"` does is PostgreSQL's: the statements run in order in one
/// implicit transaction (unless they manage transactions themselves), the first error rolls
/// back all of them, and psycopg shows the first statement's result.
public struct SQLScript: Equatable, Sendable {
    public var statements: [String]

    public init(_ text: String) { statements = Self.split(text) }

    /// Whether the script needs an explicit BEGIN/COMMIT around it to run in one transaction,
    /// as the simple protocol would: several statements, none of them transaction control.
    public var needsImplicitTransaction: Bool {
        statements.count > 1 && !statements.contains { Self.controlsTransactions($0) }
    }

    public static let transactionKeywords: Set<String> = ["BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT",
                                                   "SAVEPOINT", "RELEASE", "PREPARE"]

    public static func controlsTransactions(_ statement: String) -> Bool {
        guard let word = firstWord(statement) else { return false }
        return transactionKeywords.contains(word)
    }

    /// The first keyword, upper-cased, after comments and blanks.
    public static func firstWord(_ statement: String) -> String? {
        var lexer = Lexer(Array(statement.unicodeScalars))
        while let token = lexer.next() {
            if case .word(let word) = token { return word.uppercased() }
            if case .other = token { return nil }
        }
        return nil
    }

    /// Statements split at top-level semicolons: not inside quotes, dollar quotes, comments or a
    /// `BEGIN ATOMIC ... END` function body. Statements holding only blanks and comments are
    /// dropped, as PostgreSQL skips them.
    public static func split(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var lexer = Lexer(scalars)
        var statements: [String] = []
        var start = 0
        var hasContent = false
        var firstWordOfStatement: String?
        var blockDepth = 0
        func finish(upTo end: Int) {
            if hasContent {
                var statement = String(String.UnicodeScalarView(scalars[start..<end]))
                statement = statement.trimmingCharacters(in: .whitespacesAndNewlines)
                statements.append(statement)
            }
            hasContent = false; firstWordOfStatement = nil; blockDepth = 0
        }
        while let token = lexer.next() {
            switch token {
            case .semicolon where blockDepth == 0:
                finish(upTo: lexer.position - 1)
                start = lexer.position
            case .word(let word):
                hasContent = true
                let upper = word.uppercased()
                if firstWordOfStatement == nil { firstWordOfStatement = upper }
                // psql's rule: in CREATE statements, BEGIN opens a body that END closes; CASE
                // inside such a body also ends with END.
                if firstWordOfStatement == "CREATE" {
                    if upper == "BEGIN" || (upper == "CASE" && blockDepth > 0) { blockDepth += 1 }
                    if upper == "END" && blockDepth > 0 { blockDepth -= 1 }
                }
            case .comment:
                continue
            case .semicolon, .quoted, .other:
                hasContent = true
            }
        }
        finish(upTo: scalars.count)
        return statements
    }

    enum Token { case word(String), quoted, comment, semicolon, other }

    /// Just enough of PostgreSQL's lexer to find where statements end.
    struct Lexer {
        let s: [Unicode.Scalar]
        var position = 0

        init(_ s: [Unicode.Scalar]) { self.s = s }

        func peek(_ offset: Int = 0) -> Unicode.Scalar? {
            position + offset < s.count ? s[position + offset] : nil
        }

        static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool {
            c == "_" || (c.value >= 0x80) || ("a"..."z").contains(c) || ("A"..."Z").contains(c)
        }

        static func isIdentifierPart(_ c: Unicode.Scalar) -> Bool {
            isIdentifierStart(c) || ("0"..."9").contains(c) || c == "$"
        }

        mutating func next() -> Token? {
            while let c = peek(), c.properties.isWhitespace { position += 1 }
            guard let c = peek() else { return nil }
            if c == "-" && peek(1) == "-" {
                while let d = peek(), d != "\n" { position += 1 }
                return .comment
            }
            if c == "/" && peek(1) == "*" {
                position += 2
                var depth = 1
                while depth > 0, let d = peek() {
                    if d == "/" && peek(1) == "*" { depth += 1; position += 2 } else if d == "*" && peek(1) == "/" { depth -= 1; position += 2 } else { position += 1 }
                }
                return .comment
            }
            if c == ";" { position += 1; return .semicolon }
            if c == "'" { position += 1; skipQuoted("'", backslashEscapes: false); return .quoted }
            if c == "\"" { position += 1; skipQuoted("\"", backslashEscapes: false); return .quoted }
            if (c == "E" || c == "e") && peek(1) == "'" {
                position += 2; skipQuoted("'", backslashEscapes: true); return .quoted
            }
            if c == "$", let tag = dollarTag() {
                position += tag.count
                skipDollarQuoted(tag)
                return .quoted
            }
            if Self.isIdentifierStart(c) {
                let begin = position
                while let d = peek(), Self.isIdentifierPart(d) { position += 1 }
                return .word(String(String.UnicodeScalarView(s[begin..<position])))
            }
            position += 1
            return .other
        }

        /// `$tag$` at the current position (`$$` included), or nil (`$1` is a parameter).
        func dollarTag() -> [Unicode.Scalar]? {
            var index = position + 1
            if index < s.count, s[index] != "$" {
                guard Self.isIdentifierStart(s[index]) else { return nil }
                while index < s.count, Self.isIdentifierPart(s[index]), s[index] != "$" { index += 1 }
            }
            guard index < s.count, s[index] == "$" else { return nil }
            return Array(s[position...index])
        }

        mutating func skipQuoted(_ quote: Unicode.Scalar, backslashEscapes: Bool) {
            while let d = peek() {
                position += 1
                if backslashEscapes && d == "\\" { position += 1; continue }
                if d == quote {
                    if peek() == quote { position += 1; continue }  // doubled quote
                    return
                }
            }
        }

        mutating func skipDollarQuoted(_ tag: [Unicode.Scalar]) {
            while position < s.count {
                if s[position] == "$" && position + tag.count <= s.count && Array(s[position..<position + tag.count]) == tag {
                    position += tag.count
                    return
                }
                position += 1
            }
        }
    }
}
