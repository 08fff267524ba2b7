import Foundation

/// A small strict JSON parser that keeps object key order (Foundation's does not) and tells
/// integers from doubles and booleans (needed for byte-compatible round trips of DCS values).
public enum JSONParseError: Error, CustomStringConvertible, Equatable {
    case unexpectedEnd
    case unexpectedCharacter(Character, offset: Int)
    case invalidNumber(offset: Int)
    case invalidEscape(offset: Int)
    case trailingData(offset: Int)

    public var description: String {
        switch self {
        case .unexpectedEnd: return "unexpected end of JSON input"
        case .unexpectedCharacter(let c, let o): return "unexpected character '\(c)' at offset \(o)"
        case .invalidNumber(let o): return "invalid number at offset \(o)"
        case .invalidEscape(let o): return "invalid escape at offset \(o)"
        case .trailingData(let o): return "trailing data at offset \(o)"
        }
    }
}

extension JSONValue {
    public static func parse(_ text: String) throws -> JSONValue {
        var p = Parser(bytes: Array(text.utf8))
        p.skipWhitespace()
        let v = try p.value(depth: 0)
        p.skipWhitespace()
        if p.i < p.bytes.count { throw JSONParseError.trailingData(offset: p.i) }
        return v
    }

    public static func parse(_ data: Data) throws -> JSONValue {
        try parse(String(decoding: data, as: UTF8.self))
    }
}

private struct Parser {
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func skipWhitespace() {
        while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 }
    }

    func peek() throws -> UInt8 {
        guard i < bytes.count else { throw JSONParseError.unexpectedEnd }
        return bytes[i]
    }

    mutating func expect(_ literal: String, _ v: JSONValue) throws -> JSONValue {
        let l = Array(literal.utf8)
        guard i + l.count <= bytes.count, Array(bytes[i..<i + l.count]) == l else {
            if i >= bytes.count { throw JSONParseError.unexpectedEnd }
            throw JSONParseError.unexpectedCharacter(Character(UnicodeScalar(bytes[i])), offset: i)
        }
        i += l.count
        return v
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < 512 else { throw JSONParseError.unexpectedCharacter("[", offset: i) }
        let c = try peek()
        switch c {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        case UInt8(ascii: "N"): return try expect("NaN", .double(.nan))
        default: throw JSONParseError.unexpectedCharacter(Character(UnicodeScalar(c)), offset: i)
        }
    }

    mutating func object(depth: Int) throws -> JSONValue {
        i += 1
        var obj = JSONObject()
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") { i += 1; return .object(obj) }
        while true {
            skipWhitespace()
            guard try peek() == UInt8(ascii: "\"") else {
                throw JSONParseError.unexpectedCharacter(Character(UnicodeScalar(bytes[i])), offset: i)
            }
            let key = try string()
            skipWhitespace()
            guard try peek() == UInt8(ascii: ":") else {
                throw JSONParseError.unexpectedCharacter(Character(UnicodeScalar(bytes[i])), offset: i)
            }
            i += 1
            skipWhitespace()
            obj[key] = try value(depth: depth + 1)
            skipWhitespace()
            let c = try peek()
            i += 1
            if c == UInt8(ascii: "}") { return .object(obj) }
            guard c == UInt8(ascii: ",") else { throw JSONParseError.unexpectedCharacter(Character(UnicodeScalar(c)), offset: i - 1) }
        }
    }

    mutating func array(depth: Int) throws -> JSONValue {
        i += 1
        var arr: [JSONValue] = []
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") { i += 1; return .array(arr) }
        while true {
            skipWhitespace()
            arr.append(try value(depth: depth + 1))
            skipWhitespace()
            let c = try peek()
            i += 1
            if c == UInt8(ascii: "]") { return .array(arr) }
            guard c == UInt8(ascii: ",") else { throw JSONParseError.unexpectedCharacter(Character(UnicodeScalar(c)), offset: i - 1) }
        }
    }

    mutating func string() throws -> String {
        i += 1
        var out = [UInt8]()
        while true {
            let c = try peek()
            i += 1
            if c == UInt8(ascii: "\"") { break }
            if c != UInt8(ascii: "\\") { out.append(c); continue }
            let e = try peek()
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800...0xDBFF).contains(code), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let low = try hex4()
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                let scalar = UnicodeScalar(code) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: throw JSONParseError.invalidEscape(offset: i - 1)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
            throw JSONParseError.invalidEscape(offset: i)
        }
        i += 4
        return v
    }

    mutating func number() throws -> JSONValue {
        let start = i
        var isDouble = false
        while i < bytes.count {
            let c = bytes[i]
            if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
                i += 1
            } else if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                isDouble = true
                i += 1
            } else { break }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if !isDouble, let v = Int64(text) { return .int(v) }
        if let d = Double(text) { return .double(d) }
        throw JSONParseError.invalidNumber(offset: start)
    }
}
