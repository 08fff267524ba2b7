import Foundation
import StazCore

/// Turns a result cell in PostgreSQL's binary format (what PostgresNIO always asks for) into
/// the Python object psycopg 3 would have loaded from the same value, so that `stazctl query`
/// prints what `patronictl query` prints.
struct BinaryCellDecoder {
    /// The session's `TimeZone`, for timestamptz (psycopg converts to it).
    var timeZone: TimeZone = TimeZone(identifier: "UTC")!

    func decode(_ bytes: [UInt8]?, type oid: UInt32) -> PythonValue {
        guard let bytes else { return .none }
        var reader = ByteReader(bytes)
        return (try? value(&reader, oid: oid)) ?? fallback(bytes)
    }

    /// A value of a type decoded nowhere here: its bytes as text when they are text (enums,
    /// citext and other types whose binary form is their text), else PostgreSQL's hex form.
    func fallback(_ bytes: [UInt8]) -> PythonValue {
        if let text = String(validating: bytes, as: UTF8.self),
           !text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" && $0 != "\r" }) {
            return .str(text)
        }
        return .str("\\x" + bytes.map { String(format: "%02x", $0) }.joined())
    }

    private func value(_ r: inout ByteReader, oid: UInt32) throws -> PythonValue {
        switch oid {
        case 16: return .bool(try r.uint8() != 0)
        case 21: return .int(Int64(try r.int16()))
        case 23: return .int(Int64(try r.int32()))
        case 20: return .int(try r.int64())
        case 26: return .int(Int64(try r.uint32()))  // oid
        case 28, 29: return .str(String(try r.uint32()))  // xid, cid: psycopg keeps their text
        case 700: return .float(Double(Float(bitPattern: try r.uint32())).roundedToFloatText)
        case 701: return .float(Double(bitPattern: try r.uint64()))
        case 1700:
            let text = try numericText(&r)
            return .text(str: pythonDecimalText(text), repr: "Decimal('\(text)')")
        case 25, 1043, 1042, 19, 705, 142, 114, 18:  // text, varchar, bpchar, name, unknown, xml, json, "char"
            let text = r.remainingText()
            if oid == 114 { return json(text) }
            return .str(text)
        case 3802:  // jsonb: a version byte, then text
            _ = try r.uint8()
            return json(r.remainingText())
        case 17: return .bytes(r.remaining())
        case 2950: return uuid(try r.bytes(16))
        case 3220:  // pg_lsn: psycopg has no loader, so it is PostgreSQL's text
            let lsn = try r.uint64()
            return .str(String(format: "%X/%X", UInt32(lsn >> 32), UInt32(lsn & 0xFFFF_FFFF)))
        case 1082: return try date(&r)
        case 1083: return time(microseconds: try r.int64(), offsetSeconds: nil)
        case 1266:  // timetz: the zone is stored as seconds west of UTC
            let micros = try r.int64()
            return time(microseconds: micros, offsetSeconds: -Int(try r.int32()))
        case 1114: return try timestamp(&r, zoned: false)
        case 1184: return try timestamp(&r, zoned: true)
        case 1186: return try interval(&r)
        case 869, 650: return try inet(&r)
        case 22, 30:  // int2vector, oidvector: psycopg keeps PostgreSQL's space-separated text
            guard case .list(let items) = try array(&r) else { return .str("") }
            return .str(items.map(\.str).joined(separator: " "))
        default:
            if Self.arrayTypes.contains(oid) { return try array(&r) }
            throw DecodeError()
        }
    }

    /// timestamptz and its array: their text depends on the session's time zone.
    static let zonedTypes: Set<UInt32> = [1184, 1185]

    /// Array types whose elements decode here (`_bool`, `_int4`, `_text`, ...).
    static let arrayTypes: Set<UInt32> = [1000, 1005, 1007, 1016, 1028, 1011, 1012, 1021, 1022, 1231, 1009, 1015, 1014,
                                          1003, 1002, 199, 3807, 1001, 2951, 3221, 1182, 1183, 1270, 1115, 1185,
                                          1187, 1041, 651]

    private func array(_ r: inout ByteReader) throws -> PythonValue {
        let dimensions = Int(try r.int32())
        _ = try r.int32()  // has nulls
        let elementType = try r.uint32()
        guard dimensions > 0 else { return .list([]) }
        guard dimensions <= 6 else { throw DecodeError() }
        var sizes: [Int] = []
        for _ in 0..<dimensions {
            sizes.append(Int(try r.int32()))
            _ = try r.int32()  // lower bound: psycopg drops it
        }
        func level(_ depth: Int, _ r: inout ByteReader) throws -> PythonValue {
            var items: [PythonValue] = []
            for _ in 0..<sizes[depth] {
                if depth + 1 < dimensions {
                    items.append(try level(depth + 1, &r))
                } else {
                    let length = Int(try r.int32())
                    items.append(length < 0 ? .none : decode(try r.bytes(length), type: elementType))
                }
            }
            return .list(items)
        }
        return try level(0, &r)
    }

    private func json(_ text: String) -> PythonValue {
        guard let parsed = try? JSONValue.parse(text) else { return .str(text) }
        return PythonValue(json: parsed)
    }

    private func uuid(_ b: [UInt8]) -> PythonValue {
        let hex = b.map { String(format: "%02x", $0) }.joined()
        let groups = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
            String(hex[hex.index(hex.startIndex, offsetBy: range.lowerBound)..<hex.index(hex.startIndex, offsetBy: range.upperBound)])
        }
        let text = groups.joined(separator: "-")
        return .text(str: text, repr: "UUID('\(text)')")
    }

    // MARK: numeric

    private func numericText(_ r: inout ByteReader) throws -> String {
        let count = Int(try r.int16()), weight = Int(try r.int16())
        let sign = try r.uint16(), scale = Int(try r.uint16())
        switch sign {
        case 0xC000: return "NaN"
        case 0xD000: return "Infinity"
        case 0xF000: return "-Infinity"
        default: break
        }
        var groups: [Int] = []
        for _ in 0..<count { groups.append(Int(try r.int16())) }
        // Digits before the point: groups 0...weight (missing ones are zero).
        var whole = ""
        if weight < 0 {
            whole = "0"
        } else {
            for index in 0...weight {
                let group = index < groups.count ? groups[index] : 0
                whole += index == 0 ? String(group) : String(format: "%04d", group)
            }
        }
        var fraction = ""
        if scale > 0 {
            var index = weight + 1
            while fraction.count < scale {
                let group = index >= 0 && index < groups.count ? groups[index] : 0
                fraction += String(format: "%04d", group)
                index += 1
            }
            fraction = String(fraction.prefix(scale))
        }
        let body = scale > 0 ? whole + "." + fraction : whole
        return (sign == 0x4000 ? "-" : "") + body
    }

    // MARK: dates and times (PostgreSQL counts from 2000-01-01)

    private static let postgresEpochDays = 10_957  // 1970-01-01 → 2000-01-01

    private func date(_ r: inout ByteReader) throws -> PythonValue {
        let days = try r.int32()
        if days == Int32.max { return .str("infinity") }
        if days == Int32.min { return .str("-infinity") }
        let (y, m, d) = civilDate(daysSince1970: Int(days) + Self.postgresEpochDays)
        let text = String(format: "%04d-%02d-%02d", y, m, d)
        return .text(str: text, repr: "datetime.date(\(y), \(m), \(d))")
    }

    private func time(microseconds: Int64, offsetSeconds: Int?) -> PythonValue {
        let text = clock(microseconds) + (offsetSeconds.map(offsetText) ?? "")
        return .text(str: text, repr: "datetime.time(\(text))")
    }

    private func timestamp(_ r: inout ByteReader, zoned: Bool) throws -> PythonValue {
        let micros = try r.int64()
        if micros == Int64.max { return .str("infinity") }
        if micros == Int64.min { return .str("-infinity") }
        var offset = 0
        if zoned {
            let instant = Date(timeIntervalSince1970: Double(micros) / 1_000_000 + Double(Self.postgresEpochDays) * 86_400)
            offset = timeZone.secondsFromGMT(for: instant)
        }
        let local = micros + Int64(offset) * 1_000_000
        let dayMicros: Int64 = 86_400_000_000
        var days = local / dayMicros, rest = local % dayMicros
        if rest < 0 { rest += dayMicros; days -= 1 }
        let (y, m, d) = civilDate(daysSince1970: Int(days) + Self.postgresEpochDays)
        let text = String(format: "%04d-%02d-%02d ", y, m, d) + clock(rest) + (zoned ? offsetText(offset) : "")
        return .text(str: text, repr: "datetime.datetime(\(text))")
    }

    /// psycopg's timedelta: a year is 365 days and a month 30, as PostgreSQL prints them.
    private func interval(_ r: inout ByteReader) throws -> PythonValue {
        let micros = try r.int64(), days = Int64(try r.int32()), months = Int64(try r.int32())
        let totalDays = 365 * (months / 12) + 30 * (months % 12) + days
        var all = totalDays * 86_400_000_000 + micros
        let dayMicros: Int64 = 86_400_000_000
        var wholeDays = all / dayMicros
        all %= dayMicros
        if all < 0 { all += dayMicros; wholeDays -= 1 }
        let seconds = all / 1_000_000, fraction = all % 1_000_000
        var text = wholeDays != 0 ? "\(wholeDays) day\(abs(wholeDays) == 1 ? "" : "s"), " : ""
        text += String(format: "%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
        if fraction != 0 { text += String(format: ".%06d", fraction) }
        return .text(str: text, repr: "datetime.timedelta(\(text))")
    }

    private func clock(_ micros: Int64) -> String {
        let seconds = micros / 1_000_000, fraction = micros % 1_000_000
        var text = String(format: "%02d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
        if fraction != 0 { text += String(format: ".%06d", fraction) }
        return text
    }

    private func offsetText(_ seconds: Int) -> String {
        let sign = seconds < 0 ? "-" : "+", magnitude = abs(seconds)
        var text = String(format: "%@%02d:%02d", sign, magnitude / 3600, magnitude / 60 % 60)
        if magnitude % 60 != 0 { text += String(format: ":%02d", magnitude % 60) }
        return text
    }

    /// Proleptic Gregorian year, month and day of a day count from 1970-01-01.
    private func civilDate(daysSince1970: Int) -> (Int, Int, Int) {
        let z = daysSince1970 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    // MARK: inet and cidr (psycopg: the `ipaddress` module's objects)

    private func inet(_ r: inout ByteReader) throws -> PythonValue {
        let family = try r.uint8(), bits = Int(try r.uint8()), isCIDR = try r.uint8() != 0
        let length = Int(try r.uint8())
        let address = try r.bytes(length)
        let text: String
        if family == 2 && length == 4 {
            text = address.map(String.init).joined(separator: ".")
        } else if family == 3 && length == 16 {
            text = ipv6Text(address)
        } else {
            throw DecodeError()
        }
        let version = family == 2 ? "IPv4" : "IPv6"
        // PostgreSQL prints an inet with a full-length mask without it, and psycopg then loads
        // an address (`ip_address`) rather than an interface.
        if !isCIDR && bits == length * 8 { return .text(str: text, repr: "\(version)Address('\(text)')") }
        let kind = isCIDR ? "Network" : "Interface"
        let full = "\(text)/\(bits)"
        return .text(str: full, repr: "\(version)\(kind)('\(full)')")
    }

    /// Python's `ipaddress` form: lowercase hextets, the longest run of two or more zero
    /// hextets (the first of equal runs) written `::`.
    private func ipv6Text(_ b: [UInt8]) -> String {
        let hextets = (0..<8).map { Int(b[2 * $0]) << 8 | Int(b[2 * $0 + 1]) }
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8 && hextets[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength { bestStart = runStart; bestLength = index - runStart }
                runStart = -1
            }
        }
        let parts = hextets.map { String($0, radix: 16) }
        guard bestLength > 1 else { return parts.joined(separator: ":") }
        let head = parts[..<bestStart].joined(separator: ":"), tail = parts[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }
}

struct DecodeError: Error {}

/// Big-endian reads over a cell's bytes.
struct ByteReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func bytes(_ count: Int) throws -> [UInt8] {
        guard count >= 0, offset + count <= bytes.count else { throw DecodeError() }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func remaining() -> [UInt8] {
        defer { offset = bytes.count }
        return Array(bytes[offset...])
    }

    mutating func remainingText() -> String { String(decoding: remaining(), as: UTF8.self) }

    mutating func uint64() throws -> UInt64 { try bytes(8).reduce(0) { $0 << 8 | UInt64($1) } }
    mutating func uint32() throws -> UInt32 { try bytes(4).reduce(0) { $0 << 8 | UInt32($1) } }
    mutating func uint16() throws -> UInt16 { try bytes(2).reduce(0) { $0 << 8 | UInt16($1) } }
    mutating func uint8() throws -> UInt8 { try bytes(1)[0] }
    mutating func int64() throws -> Int64 { Int64(bitPattern: try uint64()) }
    mutating func int32() throws -> Int32 { Int32(bitPattern: try uint32()) }
    mutating func int16() throws -> Int16 { Int16(bitPattern: try uint16()) }
}

private extension Double {
    /// psycopg reads float4 from PostgreSQL's text, which prints the shortest float4 digits:
    /// the double read back from that text, not the float4's exact binary value.
    var roundedToFloatText: Double { Double("\(Float(self))") ?? self }
}
