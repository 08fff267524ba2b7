import Foundation
import StazConfig
import StazCore

/// Turns a record into one line (without the newline) the way Patroni's formatter would:
/// `logging.Formatter` for `log.type: plain`, python-json-logger's `JsonFormatter` for json.
struct LogLineRenderer: Sendable {
    let format: LogLineFormat
    let dateFormat: String?
    let staticFields: JSONObject

    init(_ section: LogSection) {
        format = section.format
        dateFormat = section.dateFormat
        staticFields = section.staticFields
    }

    func render(_ record: LogRecord) -> String {
        let asctime = { LogLineRenderer.asctime(nanoseconds: record.nanoseconds, dateFormat: self.dateFormat) }
        switch format {
        case .plain(let template):
            var line = ""
            for piece in template.pieces {
                switch piece {
                case .literal(let text): line += text
                case .field(let field, let conversion):
                    line += PythonPercentFormat.format(record.value(of: field, asctime: asctime), conversion)
                }
            }
            return line
        case .json(let fields):
            // The record's fields in order, then the static fields (a static key equal to a
            // field's key replaces its value in place, as a Python dict update does).
            var object = JSONObject()
            for entry in fields { object[entry.key] = record.value(of: entry.field, asctime: asctime) }
            for (key, value) in staticFields.pairs { object[renamed(key, in: fields)] = value }
            return JSONValue.object(object).pythonJSONString
        }
    }

    /// python-json-logger renames static fields too when they are named like a renamed field.
    private func renamed(_ key: String, in fields: [JSONLogField]) -> String {
        fields.first { $0.field.rawValue == key }?.key ?? key
    }

    /// `Formatter.formatTime`: strftime of local time with `log.dateformat`, or without one
    /// Python's default `%Y-%m-%d %H:%M:%S` followed by `,` and the milliseconds.
    static func asctime(nanoseconds: Int64, dateFormat: String?) -> String {
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
