import Foundation
import StazConfig
import StazCore
import StazSystem

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
        let asctime = { PythonLogTime.asctime(nanoseconds: record.nanoseconds, dateFormat: self.dateFormat) }
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
}
