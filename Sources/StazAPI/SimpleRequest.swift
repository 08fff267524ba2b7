import NIOCore
import NIOHTTP1

/// A request the health-check fast path may answer: one whole head, nothing after it, a safe
/// method, no body, and a connection the client closes after the reply (HAProxy's checks:
/// `OPTIONS /primary HTTP/1.0`). Anything else, well-formed or not, returns nil from `parse`
/// and goes to NIO's HTTP codec, which answers errors and keeps connections alive.
struct SimpleRequest: Equatable {
    var head: HTTPRequestHead

    /// Larger first reads are not health checks.
    static let maxBytes = 4096

    static func parse(_ buffer: ByteBuffer) -> SimpleRequest? {
        guard buffer.readableBytes <= maxBytes else { return nil }
        return buffer.withUnsafeReadableBytes { parse(bytes: $0) }
    }

    private static let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), space = UInt8(ascii: " ")

    static func parse(bytes: UnsafeRawBufferPointer) -> SimpleRequest? {
        // The head ends with an empty line, and the read ends there: no body, no pipelining.
        let count = bytes.count
        guard count >= 4, bytes[count - 4] == cr, bytes[count - 3] == lf, bytes[count - 2] == cr, bytes[count - 1] == lf else {
            return nil
        }
        var lines: [UnsafeRawBufferPointer] = []
        var start = 0
        var index = 0
        while index < count - 2 {
            if bytes[index] == cr {
                guard bytes[index + 1] == lf else { return nil }
                lines.append(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
                index += 2
                start = index
            } else {
                if bytes[index] == lf { return nil }
                index += 1
            }
        }
        guard let requestLine = lines.first, var head = parseRequestLine(requestLine) else { return nil }
        for line in lines.dropFirst() {
            guard let (name, value) = parseHeader(line) else { return nil }
            head.headers.add(name: name, value: value)
        }
        // Headers that mean a body or a change of protocol are the codec's business.
        for refused in ["content-length", "transfer-encoding", "upgrade", "expect"] where head.headers.contains(name: refused) {
            return nil
        }
        guard !head.isKeepAlive else { return nil }
        return SimpleRequest(head: head)
    }

    private static func parseRequestLine(_ line: UnsafeRawBufferPointer) -> HTTPRequestHead? {
        let parts = line.split(separator: space, maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3, let target = visibleASCII(parts[1]), target.first == "/" else { return nil }
        let method: HTTPMethod
        switch String(decoding: parts[0], as: UTF8.self) {
        case "GET": method = .GET
        case "HEAD": method = .HEAD
        case "OPTIONS": method = .OPTIONS
        default: return nil
        }
        let version: HTTPVersion
        switch String(decoding: parts[2], as: UTF8.self) {
        case "HTTP/1.0": version = .http1_0
        case "HTTP/1.1": version = .http1_1
        default: return nil
        }
        return HTTPRequestHead(version: version, method: method, uri: target)
    }

    /// `Name: value`, the name a token, the value without surrounding blanks.
    private static func parseHeader(_ line: UnsafeRawBufferPointer) -> (String, String)? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { return nil }
        let name = line[..<colon]
        guard name.allSatisfy(isTokenCharacter) else { return nil }
        var value = line[(colon + 1)...]
        while let first = value.first, first == space || first == UInt8(ascii: "\t") { value = value.dropFirst() }
        while let last = value.last, last == space || last == UInt8(ascii: "\t") { value = value.dropLast() }
        guard value.allSatisfy({ $0 == UInt8(ascii: "\t") || ($0 >= 0x20 && $0 != 0x7F) }) else { return nil }
        return (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    private static func visibleASCII(_ bytes: Slice<UnsafeRawBufferPointer>) -> String? {
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// RFC 9110's `tchar`.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
