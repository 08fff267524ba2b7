import Foundation

/// ISO 8601 timestamps as the REST API accepts them for `scheduled_at` / `schedule`
/// (Patroni uses `dateutil.parser.parse`; patronictl sends `isoformat()` text):
/// `YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]][Z|±HH[:MM]|±HHMM]`, or a bare date.
/// Parsed by hand: DateFormatter would load ICU into the daemon.
public struct ISOTimestamp: Sendable, Equatable {
    /// Seconds since the Unix epoch (the zone offset applied; local fields read as UTC when
    /// the text has no zone).
    public var epochSeconds: Double
    /// The offset from UTC in seconds, nil when the text named no zone.
    public var utcOffsetSeconds: Int?
    /// Python's `datetime.isoformat()` of the same value, which Patroni writes into the DCS:
    /// `2024-05-01T10:00:00+02:00` (microseconds only when non-zero).
    public var isoformat: String

    public var hasTimeZone: Bool { utcOffsetSeconds != nil }

    public static func parse(_ text: String) -> ISOTimestamp? {
        var scanner = Scanner(Array(text.trimmingCharacters(in: .whitespaces).utf8))
        guard let year = scanner.digits(4), scanner.take("-"), let month = scanner.digits(2), scanner.take("-"),
              let day = scanner.digits(2), (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day) else { return nil }
        var hour = 0, minute = 0, second = 0, micros = 0
        if scanner.take("T") || scanner.take(" ") {
            guard let h = scanner.digits(2), scanner.take(":"), let m = scanner.digits(2), h < 24, m < 60 else { return nil }
            hour = h; minute = m
            if scanner.take(":") {
                guard let s = scanner.digits(2), s < 60 else { return nil }
                second = s
                if scanner.take(".") || scanner.take(",") {
                    guard let fraction = scanner.fraction() else { return nil }
                    micros = fraction
                }
            }
        }
        var offset: Int?
        if scanner.take("Z") || scanner.take("z") {
            offset = 0
        } else if let sign = scanner.sign() {
            guard let oh = scanner.digits(2), oh < 24 else { return nil }
            _ = scanner.take(":")
            let om = scanner.digits(2) ?? 0
            guard om < 60 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        }
        guard scanner.atEnd else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let local = Double(days * 86400 + hour * 3600 + minute * 60 + second) + Double(micros) / 1_000_000
        var iso = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", year, month, day, hour, minute, second)
        if micros != 0 { iso += String(format: ".%06d", micros) }
        if let offset {
            let magnitude = abs(offset)
            iso += (offset < 0 ? "-" : "+") + String(format: "%02d:%02d", magnitude / 3600, (magnitude % 3600) / 60)
        }
        return ISOTimestamp(epochSeconds: local - Double(offset ?? 0), utcOffsetSeconds: offset, isoformat: iso)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146097 + dayOfEra - 719468
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index == bytes.count }

        mutating func take(_ character: Character) -> Bool {
            guard index < bytes.count, bytes[index] == character.asciiValue else { return false }
            index += 1
            return true
        }

        mutating func digits(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + count] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            index += count
            return value
        }

        /// Fractional seconds as microseconds (extra digits are truncated, as Python does).
        mutating func fraction() -> Int? {
            var digits: [Int] = []
            while index < bytes.count, bytes[index] >= 48 && bytes[index] <= 57 {
                digits.append(Int(bytes[index] - 48)); index += 1
            }
            guard !digits.isEmpty else { return nil }
            let padded = (digits + Array(repeating: 0, count: 6)).prefix(6)
            return padded.reduce(0) { $0 * 10 + $1 }
        }

        mutating func sign() -> Int? {
            if take("+") { return 1 }
            if take("-") { return -1 }
            return nil
        }
    }
}
