import Foundation

/// ISO 8601 timestamps as Python's `datetime.isoformat()` writes them with a UTC zone
/// (`2024-01-31T10:20:30.123456+00:00`), the format Patroni puts into `history`. Formatted by
/// hand: DateFormatter would load ICU's data into a daemon that should stay small.
enum Timestamps {
    static func isoNow() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = time_t(tv.tv_sec)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00", parts.tm_year + 1900, parts.tm_mon + 1,
                      parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, Int(tv.tv_usec))
    }
}
