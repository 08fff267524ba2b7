import Foundation

/// Cuts a byte stream into complete top-level JSON objects. etcd's streaming responses
/// (`/v3/watch`, `/v3/lease/keepalive`) carry one object per message, usually one per line, but
/// HTTP chunking may split an object or glue several together; this scanner does not rely on
/// either, it tracks brace depth outside of strings.
struct JSONObjectStreamSplitter {
    private var buffer: [UInt8] = []
    /// Position up to which `buffer` has been scanned.
    private var scanned = 0
    private var depth = 0
    private var inString = false
    private var escaped = false
    private var objectStart: Int?

    /// Bytes held back waiting for the rest of an object.
    var pendingByteCount: Int { buffer.count }

    /// Adds bytes and returns the objects they completed, in order.
    mutating func append<Bytes: Sequence>(_ bytes: Bytes) -> [Data] where Bytes.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        var complete: [Data] = []
        var consumedUpTo = 0
        while scanned < buffer.count {
            let byte = buffer[scanned]
            if inString {
                if escaped { escaped = false }
                else if byte == UInt8(ascii: "\\") { escaped = true }
                else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                if depth > 0 { inString = true }
            } else if byte == UInt8(ascii: "{") {
                if depth == 0 { objectStart = scanned }
                depth += 1
            } else if byte == UInt8(ascii: "}"), depth > 0 {
                depth -= 1
                if depth == 0, let start = objectStart {
                    complete.append(Data(buffer[start...scanned]))
                    objectStart = nil
                    consumedUpTo = scanned + 1
                }
            } else if depth == 0 {
                // Whitespace / separators between objects: nothing to keep.
                consumedUpTo = scanned + 1
            }
            scanned += 1
        }
        if consumedUpTo > 0 {
            buffer.removeFirst(consumedUpTo)
            scanned -= consumedUpTo
            if let start = objectStart { objectStart = start - consumedUpTo }
        }
        return complete
    }
}
