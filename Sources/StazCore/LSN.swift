/// A PostgreSQL WAL position. Patroni stores LSNs in the DCS as plain 64-bit integers and shows
/// them to people as `X/Y` hex; both forms are handled here.
public struct LSN: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: UInt64

    public init(_ value: UInt64) { self.value = value }

    /// Parses `16/B374D848` (case-insensitive). Returns nil for anything else.
    public init?(text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, parts[0].count <= 8, parts[1].count <= 8,
              let hi = UInt64(parts[0], radix: 16), let lo = UInt64(parts[1], radix: 16) else { return nil }
        value = hi << 32 | lo
    }

    public static let zero = LSN(0)

    public var description: String {
        String(value >> 32, radix: 16, uppercase: true) + "/" + String(value & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }

    public static func < (a: LSN, b: LSN) -> Bool { a.value < b.value }

    /// Bytes from `other` up to `self` (0 when `other` is ahead).
    public func bytesAhead(of other: LSN) -> UInt64 { value > other.value ? value - other.value : 0 }
}
