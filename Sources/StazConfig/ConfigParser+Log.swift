import Foundation
import StazCore

/// `log:` — every key of Patroni 4.1 (`validator.py`), each checked with its key path.
extension ConfigParser {
    static let logLevels = ["DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL", "CRITICAL"]

    static func parseLog(_ top: SectionReader) -> LogSection {
        var log = LogSection()
        guard let reader = top.section("log") else { return log }
        let diagnostics = reader.diagnostics
        if let level = reader.string("level") {
            if logLevels.contains(level.uppercased()) { log.level = level.uppercased() } else {
                diagnostics.error(reader.keyPath("level"), "expected one of \(logLevels.joined(separator: ", ")), got '\(level)'")
            }
        }
        if let level = reader.string("traceback_level") {
            if ["DEBUG", "ERROR"].contains(level.uppercased()) { log.tracebackLevel = level.uppercased() } else {
                diagnostics.error(reader.keyPath("traceback_level"), "expected DEBUG or ERROR, got '\(level)'")
            }
        }
        var json = false
        if let type = reader.string("type") {
            switch type.lowercased() {
            case "plain": json = false
            case "json": json = true
            default: diagnostics.error(reader.keyPath("type"), "expected plain or json, got '\(type)'")
            }
        }
        log.format = parseLogFormat(reader, json: json)
        // Python treats an empty dateformat as none given.
        log.dateFormat = reader.string("dateformat").flatMap { $0.isEmpty ? nil : $0 }
        if let fields = reader.mapping("static_fields") {
            log.staticFields = fields
            if !json && !fields.isEmpty {
                diagnostics.warn(reader.keyPath("static_fields"), "log.static_fields are only added to JSON lines (log.type: json); ignored")
            }
        }
        log.maxQueueSize = reader.int("max_queue_size") ?? log.maxQueueSize
        if let dir = reader.string("dir") {
            if dir.isEmpty { diagnostics.error(reader.keyPath("dir"), "must not be empty") } else { log.dir = dir }
        }
        log.mode = parseLogFileMode(reader)
        log.fileNum = reader.int("file_num", min: 0) ?? log.fileNum
        log.fileSize = reader.int("file_size", min: 0) ?? log.fileSize
        log.loggers = parseLoggerLevels(reader)
        log.deduplicateHeartbeatLogs = reader.bool("deduplicate_heartbeat_logs") ?? false
        reader.finish()
        return log
    }

    /// `log.format`: a Python format string, or for JSON also a list of field names and
    /// `field: key` renames (Patroni turns the list into python-json-logger's fields and
    /// `rename_fields`).
    static func parseLogFormat(_ reader: SectionReader, json: Bool) -> LogLineFormat {
        let path = reader.keyPath("format")
        let defaultFormat: LogLineFormat = json ? .json(LogTemplate.patroniDefault.fields.map { JSONLogField($0) })
                                                : .plain(.patroniDefault)
        guard let value = reader.raw("format") else { return defaultFormat }
        switch value {
        case .string(let text):
            do {
                let template = try LogTemplate(parsing: text)
                return json ? .json(template.fields.map { JSONLogField($0) }) : .plain(template)
            } catch {
                reader.diagnostics.error(path, "\(error)")
            }
        case .array(let items):
            guard !items.isEmpty else {
                reader.diagnostics.error(path, "must list at least one field"); return defaultFormat
            }
            guard let fields = jsonLogFields(items, path: path, diagnostics: reader.diagnostics) else { return defaultFormat }
            if json { return .json(fields) }
            // Patroni warns and falls back to its default format; it does not refuse to start.
            reader.diagnostics.warn(path, "log.format: a list of fields is only used with log.type: json; plain lines use the default format")
        default:
            reader.typeError("format", expected: "a format string or a list of fields", got: value)
        }
        return defaultFormat
    }

    private static func jsonLogFields(_ items: [JSONValue], path: String, diagnostics: Diagnostics) -> [JSONLogField]? {
        var fields: [JSONLogField] = []
        var valid = true
        for (index, item) in items.enumerated() {
            let itemPath = path + "[\(index)]"
            let name: String, key: String
            switch item {
            case .string(let text):
                name = text; key = text
            case .object(let rename) where rename.pairs.count == 1 && rename.pairs[0].1.stringValue != nil:
                name = rename.pairs[0].0; key = rename.pairs[0].1.stringValue!
            default:
                diagnostics.error(itemPath, "expected a field name or one 'field: new name' pair, got \(describeKind(item))")
                valid = false; continue
            }
            guard let field = LogField(rawValue: name) else {
                diagnostics.error(itemPath, "unknown field '\(name)'; staz knows \(LogField.knownNames)")
                valid = false; continue
            }
            // A repeated field is one key (a dict in Python), at its first place, last name wins.
            if let existing = fields.firstIndex(where: { $0.field == field }) {
                if key != name { fields[existing].key = key }
            } else {
                fields.append(JSONLogField(field, key: key))
            }
        }
        return valid ? fields : nil
    }

    /// `log.mode`: permission bits. YAML 1.1 reads `0600` as octal already; strings such as
    /// `"0o600"` (and PATRONI_LOG_MODE) are read like C's strtol with base 0, as Patroni does.
    static func parseLogFileMode(_ reader: SectionReader) -> Int? {
        guard let value = reader.raw("mode") else { return nil }
        var mode: Int64?
        switch value {
        case .int(let number): mode = number
        case .string(let text): mode = parseCInteger(text)
        default: mode = nil
        }
        guard let mode, (0...0o777).contains(mode) else {
            let hint = value.intValue.map { $0 > 0o777 && $0 <= 777 ? " (\($0) is decimal; write 0\($0))" : "" } ?? ""
            reader.diagnostics.error(reader.keyPath("mode"),
                                     "expected file permissions from 0 to 0777 in octal, e.g. 0600, got \(describeKind(value))\(hint)")
            return nil
        }
        return Int(mode)
    }

    /// An integer written in C notation: `0x` hex, `0o` or leading-zero octal, else decimal.
    static func parseCInteger(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if trimmed.hasPrefix("0x") { return Int64(trimmed.dropFirst(2), radix: 16) }
        if trimmed.hasPrefix("0o") { return Int64(trimmed.dropFirst(2), radix: 8) }
        if trimmed.count > 1 && trimmed.hasPrefix("0") { return Int64(trimmed.dropFirst(), radix: 8) }
        return Int64(trimmed)
    }

    /// `log.loggers`: Python logger name → level (a name as `Logger.setLevel` takes it, or a
    /// number, which is a threshold: 15 shows INFO and above).
    static func parseLoggerLevels(_ reader: SectionReader) -> [String: String] {
        guard let object = reader.mapping("loggers") else { return [:] }
        var levels: [String: String] = [:]
        for (name, value) in object.pairs {
            let path = reader.keyPath("loggers") + "." + name
            guard let level = pythonLevelName(value) else {
                reader.diagnostics.error(path, "expected DEBUG, INFO, WARNING, ERROR, CRITICAL, NOTSET or a number from 0 to 50, got \(describeKind(value))")
                continue
            }
            levels[name] = level
            if name.hasPrefix("patroni.") {
                reader.diagnostics.warn(path, "\(path): staz logs everything Patroni's modules would under one logger, 'patroni' (also 'staz'); set the level there, this one applies to no line")
            }
        }
        return levels
    }

    static func pythonLevelName(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text):
            let name = text.uppercased()
            return (logLevels + ["NOTSET"]).contains(name) ? name : nil
        case .int(let number):
            switch number {
            case 0: return "NOTSET"
            case 1...10: return "DEBUG"
            case 11...20: return "INFO"
            case 21...30: return "WARNING"
            case 31...40: return "ERROR"
            case 41...50: return "CRITICAL"
            default: return nil
            }
        default:
            return nil
        }
    }
}

extension LogSection {
    /// The level (a `log.level` spelling) of the logger labelled `label`, by Python's rule: the
    /// most specific `log.loggers` entry naming it or a dotted ancestor, else `level`. staz's
    /// own labels start with `staz`, which also answers to Patroni's name, `patroni`.
    public func level(forLogger label: String) -> String {
        var name = label
        while true {
            let patroniName = name == "staz" || name.hasPrefix("staz.") ? "patroni" + name.dropFirst("staz".count) : nil
            for candidate in [name, patroniName].compactMap({ $0 }) {
                if let level = loggers[candidate], level != "NOTSET" { return level }
            }
            guard let dot = name.lastIndex(of: ".") else { return level }
            name = String(name[..<dot])
        }
    }
}
