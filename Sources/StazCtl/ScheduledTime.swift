import Foundation

/// A `--scheduled` timestamp as patronictl's `parse_scheduled` yields it: a timezone-aware
/// datetime (naive input gets the local zone). Printed as Python prints datetimes.
public struct ScheduledTime: Equatable, Sendable {
    public var year: Int, month: Int, day: Int
    public var hour = 0, minute = 0, second = 0, microsecond = 0
    /// Offset east of UTC in seconds.
    public var offsetSeconds = 0

    /// `datetime.isoformat()`: `2030-01-02T03:04:05+02:00` (`.ffffff` only when non-zero).
    public var isoFormat: String { format(separator: "T") }
    /// `str(datetime)`: like isoformat with a space between date and time.
    public var pythonString: String { format(separator: " ") }

    private func format(separator: String) -> String {
        var text = String(format: "%04d-%02d-%02d", year, month, day) + separator
            + String(format: "%02d:%02d:%02d", hour, minute, second)
        if microsecond != 0 { text += String(format: ".%06d", microsecond) }
        let sign = offsetSeconds < 0 ? "-" : "+"
        let magnitude = abs(offsetSeconds)
        text += sign + String(format: "%02d:%02d", magnitude / 3600, magnitude / 60 % 60)
        if magnitude % 60 != 0 { text += String(format: ":%02d", magnitude % 60) }
        return text
    }

    /// `None` for nil, empty or `now`; otherwise an ISO-8601-like timestamp
    /// (`YYYY-MM-DD[(T| )HH:MM[:SS[.ffffff]]][Z|±HH[[:]MM]|±H]`).
    public static func parse(_ text: String?, localZone: TimeZone = .current) throws -> ScheduledTime? {
        guard let text, !text.isEmpty, text != "now" else { return nil }
        guard let parsed = parseISO(text.trimmingCharacters(in: .whitespaces), localZone: localZone) else {
            throw CtlError("Unable to parse scheduled timestamp (\(text)). It should be in an unambiguous format (e.g. ISO 8601)")
        }
        return parsed
    }

    private static func parseISO(_ text: String, localZone: TimeZone) -> ScheduledTime? {
        let chars = Array(text)
        var index = 0
        func number(_ digits: ClosedRange<Int>) -> Int? {
            var value = "", count = 0
            while index < chars.count, chars[index].isASCII, chars[index].isNumber, count < digits.upperBound {
                value.append(chars[index]); index += 1; count += 1
            }
            return count >= digits.lowerBound ? Int(value) : nil
        }
        func expect(_ c: Character) -> Bool {
            guard index < chars.count, chars[index] == c else { return false }
            index += 1
            return true
        }
        guard let year = number(4...4), expect("-"), let month = number(1...2), expect("-"),
              let day = number(1...2) else { return nil }
        var time = ScheduledTime(year: year, month: month, day: day)
        if index < chars.count, chars[index] == "T" || chars[index] == " " {
            index += 1
            guard let hour = number(1...2), expect(":"), let minute = number(2...2) else { return nil }
            time.hour = hour; time.minute = minute
            if expect(":") {
                guard let second = number(2...2) else { return nil }
                time.second = second
                if expect(".") {
                    let start = index
                    guard let fraction = number(1...9) else { return nil }
                    let digits = index - start
                    time.microsecond = digits <= 6 ? fraction * Int(pow(10, Double(6 - digits)))
                                                   : fraction / Int(pow(10, Double(digits - 6)))
                }
            }
        }
        var offset: Int?
        if expect("Z") {
            offset = 0
        } else if index < chars.count, chars[index] == "+" || chars[index] == "-" {
            let sign = chars[index] == "-" ? -1 : 1
            index += 1
            guard let hours = number(1...2) else { return nil }
            var minutes = 0
            if expect(":") || (index < chars.count && chars[index].isNumber) {
                guard let m = number(2...2) else { return nil }
                minutes = m
            }
            offset = sign * (hours * 3600 + minutes * 60)
        }
        guard index == chars.count, (1...12).contains(time.month), (1...31).contains(time.day),
              time.hour < 24, time.minute < 60, time.second < 60 else { return nil }
        var components = DateComponents(year: time.year, month: time.month, day: time.day,
                                        hour: time.hour, minute: time.minute, second: time.second)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = localZone
        guard components.isValidDate(in: calendar), let date = calendar.date(from: components) else { return nil }
        time.offsetSeconds = offset ?? localZone.secondsFromGMT(for: date)
        return time
    }
}

/// patronictl's `postgres_version_to_int` check of `--pg-version`.
public func validatePostgresVersion(_ text: String) throws {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    let numbers = parts.map { Int($0) }
    guard !numbers.contains(nil) else { throw CtlError("Invalid PostgreSQL version: \(text)") }
    let values = numbers.compactMap { $0 }
    if values.count < 2 || (values.count == 2 && values[0] < 10) || values.count > 3 {
        throw CtlError("Invalid PostgreSQL version format: X.Y or X.Y.Z is accepted: \(text)")
    }
}
