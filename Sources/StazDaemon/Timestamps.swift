import Foundation

/// ISO 8601 timestamps as Python's `datetime.isoformat()` writes them with a UTC zone
/// (`2024-01-31T10:20:30.123456+00:00`), the format Patroni puts into `history`.
enum Timestamps {
    static func isoNow() -> String {
        let now = Date()
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        let micros = Int((now.timeIntervalSince1970 * 1_000_000).truncatingRemainder(dividingBy: 1_000_000))
        return formatter.string(from: now) + String(format: ".%06d+00:00", micros)
    }
}
