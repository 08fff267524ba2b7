#if canImport(Glibc)
import Glibc
#endif

/// Timestamps as Python's `logging` writes them (`asctime`), shared by staz's log renderer and
/// the fencing guard's log, which links no Foundation.
public enum PythonLogTime {
    /// `Formatter.formatTime`: strftime of local time with `log.dateformat`, or without one
    /// Python's default `%Y-%m-%d %H:%M:%S` followed by `,` and the milliseconds.
    public static func asctime(nanoseconds: Int64, dateFormat: String?) -> String {
        var seconds = time_t(nanoseconds / 1_000_000_000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        guard let dateFormat else {
            // By hand: `String(format:)` goes through Foundation's NSString for every log line.
            var text = ""
            text.reserveCapacity(23)
            text.appendZeroPadded(Int(parts.tm_year) + 1900, width: 4); text.append("-")
            text.appendZeroPadded(Int(parts.tm_mon) + 1, width: 2); text.append("-")
            text.appendZeroPadded(Int(parts.tm_mday), width: 2); text.append(" ")
            text.appendZeroPadded(Int(parts.tm_hour), width: 2); text.append(":")
            text.appendZeroPadded(Int(parts.tm_min), width: 2); text.append(":")
            text.appendZeroPadded(Int(parts.tm_sec), width: 2); text.append(",")
            text.appendZeroPadded(Int(nanoseconds % 1_000_000_000 / 1_000_000), width: 3)
            return text
        }
        var buffer = [CChar](repeating: 0, count: 64 + dateFormat.utf8.count * 16)
        let length = strftime(&buffer, buffer.count, dateFormat, &parts)
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Wall-clock time now, in nanoseconds since the epoch.
    public static func nowNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

extension String {
    /// Appends a non-negative `value` in decimal, left-padded with zeros to `width` digits
    /// (`%0Nd`).
    mutating func appendZeroPadded(_ value: Int, width: Int) {
        let digits = String(value)
        if digits.count < width { append(String(repeating: "0", count: width - digits.count)) }
        append(digits)
    }
}
