import Foundation

/// A parsed request target: path and query parameters (first value wins, as Patroni reads
/// `parse_qs(...)[key][0]`).
public struct RequestTarget: Sendable, Equatable {
    public var path: String
    public var query: [(String, String)]

    public init(_ uri: String) {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var rawPath = String(parts.first ?? "")
        if let hashIndex = rawPath.firstIndex(of: "#") { rawPath = String(rawPath[..<hashIndex]) }
        path = rawPath.isEmpty ? "/" : rawPath
        query = []
        guard parts.count == 2 else { return }
        for item in parts[1].split(whereSeparator: { $0 == "&" || $0 == ";" }) {
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            // parse_qs drops parameters with blank values.
            guard kv.count == 2, !kv[1].isEmpty else { continue }
            query.append((RequestTarget.decode(kv[0]), RequestTarget.decode(kv[1])))
        }
    }

    public func first(_ name: String) -> String? { query.first { $0.0 == name }?.1 }

    /// First path segment: Patroni dispatches `GET /patroni/x` to `do_GET_patroni`.
    public var firstSegment: String {
        String(path.drop(while: { $0 == "/" }).split(separator: "/", omittingEmptySubsequences: false).first ?? "")
    }

    static func decode(_ s: Substring) -> String {
        let spaced = s.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    public static func == (a: RequestTarget, b: RequestTarget) -> Bool {
        a.path == b.path && a.query.map(\.0) == b.query.map(\.0) && a.query.map(\.1) == b.query.map(\.1)
    }
}

/// Patroni's `parse_int(value, 'B')` for `?lag=`: an integer or decimal number, optionally
/// followed by a unit `B`, `kB`, `MB`, `GB`, `TB` (case-sensitive). Nil when unparsable,
/// which Patroni treats as "no limit".
public func parseByteSize(_ text: String) -> Int64? {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    var numberEnd = trimmed.startIndex
    for (offset, ch) in zip(trimmed.indices, trimmed) {
        let isSign = (ch == "-" || ch == "+") && offset == trimmed.startIndex
        guard ch.isASCII, ch.isNumber || ch == "." || isSign else { break }
        numberEnd = trimmed.index(after: offset)
    }
    guard let value = Double(trimmed[..<numberEnd]) else { return nil }
    let multipliers: [String: Double] = ["": 1, "B": 1, "kB": 1024, "MB": 1_048_576, "GB": 1_073_741_824, "TB": 1_099_511_627_776]
    guard let multiplier = multipliers[trimmed[numberEnd...].trimmingCharacters(in: .whitespaces)] else { return nil }
    let bytes = (value * multiplier).rounded()
    guard bytes.isFinite, abs(bytes) < 9.2e18 else { return nil }
    return Int64(bytes)
}
