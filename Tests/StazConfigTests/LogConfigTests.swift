import Foundation
import Testing
import StazCore
@testable import StazConfig

@Suite struct LogConfigTests {
    func parsedLog(_ yaml: String) throws -> (LogSection, [ConfigWarning]) {
        guard case .object(let log) = try YAMLConversion.parse(yaml) else { throw LogFormatProblem(message: "not a mapping") }
        let (config, warnings) = try ConfigLoader.parse(setting("log", to: .object(log), in: try sampleRaw()))
        return (config.log, warnings)
    }

    func issues(_ yaml: String) throws -> [ConfigIssue] {
        guard case .object(let log) = try YAMLConversion.parse(yaml) else { return [] }
        return configError(setting("log", to: .object(log), in: try sampleRaw()))?.issues ?? []
    }

    @Test func defaultsArePatronis() throws {
        let (config, _) = try ConfigLoader.parse(try sampleRaw())
        let log = config.log
        #expect(log.level == "INFO" && log.tracebackLevel == "ERROR")
        #expect(log.format == .plain(.patroniDefault))
        #expect(log.dateFormat == nil && log.dir == nil && log.mode == nil)
        #expect(log.fileNum == 4 && log.fileSize == 25_000_000 && log.maxQueueSize == 1000)
        #expect(!log.deduplicateHeartbeatLogs && log.loggers.isEmpty && log.staticFields.isEmpty)
    }

    @Test func everyKeyIsReadWithoutWarnings() throws {
        let (log, warnings) = try parsedLog("""
            type: json
            level: debug
            traceback_level: debug
            format: [message, {asctime: '@timestamp'}, {levelname: level}, module]
            dateformat: '%Y-%m-%dT%H:%M:%S'
            static_fields: {app: staz, zone: 2}
            max_queue_size: 50
            dir: /var/log/staz
            mode: 0640
            file_num: 2
            file_size: 1000
            loggers: {patroni: WARNING, urllib3: 10}
            deduplicate_heartbeat_logs: true
            """)
        #expect(warnings.isEmpty, "\(warnings)")
        #expect(log.level == "DEBUG" && log.tracebackLevel == "DEBUG")
        #expect(log.format == .json([JSONLogField(.message), JSONLogField(.asctime, key: "@timestamp"),
                                     JSONLogField(.levelname, key: "level"), JSONLogField(.module)]))
        #expect(log.dateFormat == "%Y-%m-%dT%H:%M:%S")
        #expect(log.staticFields == JSONObject([("app", "staz"), ("zone", 2)]))
        #expect(log.maxQueueSize == 50 && log.dir == "/var/log/staz" && log.filePath == "/var/log/staz/patroni.log")
        #expect(log.mode == 0o640 && log.fileNum == 2 && log.fileSize == 1000)
        #expect(log.loggers == ["patroni": "WARNING", "urllib3": "DEBUG"])
        #expect(log.deduplicateHeartbeatLogs)
    }

    @Test func jsonFieldsComeFromTheFormatString() throws {
        let (log, _) = try parsedLog("{type: json, format: '%(asctime)s [%(levelname)-8s] %(message)s %(levelname)s'}")
        #expect(log.format == .json([JSONLogField(.asctime), JSONLogField(.levelname), JSONLogField(.message)]))
        let (plain, _) = try parsedLog("{type: json}")
        #expect(plain.format == .json([JSONLogField(.asctime), JSONLogField(.levelname), JSONLogField(.message)]))
    }

    @Test func plainTemplateIsParsed() throws {
        let (log, _) = try parsedLog("{format: '%%%(process)05d %(name)s: %(message).3s'}")
        guard case .plain(let template) = log.format else { Issue.record("not plain"); return }
        #expect(template.pieces == [
            .literal("%"), .field(.process, LogConversion(flags: "0", width: 5, type: "d")),
            .literal(" "), .field(.name, LogConversion()), .literal(": "),
            .field(.message, LogConversion(precision: 3, type: "s")),
        ])
    }

    /// (log section, issue path, fragment of the message)
    @Test(arguments: [
        ("{type: xml}", "log.type", "expected plain or json, got 'xml'"),
        ("{level: LOUD}", "log.level", "expected one of"),
        ("{traceback_level: INFO}", "log.traceback_level", "expected DEBUG or ERROR"),
        ("{format: '%(asctime)s %(bogus)s'}", "log.format", "unknown field '%(bogus)'"),
        ("{format: 'no fields at all'}", "log.format", "has no %(field) conversion"),
        ("{format: '%(levelname)d'}", "log.format", "formats text as a number"),
        ("{format: '%(created)x'}", "log.format", "needs an integer field"),
        ("{format: '%(message)'}", "log.format", "without a conversion type"),
        ("{format: '%(message)q'}", "log.format", "unsupported conversion type 'q'"),
        ("{format: '100% %(message)s'}", "log.format", "must be followed by '(field)'"),
        ("{format: '%(message'}", "log.format", "no closing ')'"),
        ("{format: 42}", "log.format", "expected a format string or a list of fields"),
        ("{type: json, format: []}", "log.format", "at least one field"),
        ("{type: json, format: [message, bogus]}", "log.format[1]", "unknown field 'bogus'"),
        ("{type: json, format: [{message: 1}]}", "log.format[0]", "one 'field: new name' pair"),
        ("{type: json, format: [{message: m, levelname: l}]}", "log.format[0]", "one 'field: new name' pair"),
        ("{static_fields: [a]}", "log.static_fields", "expected a mapping"),
        ("{max_queue_size: lots}", "log.max_queue_size", "expected an integer"),
        ("{dir: ''}", "log.dir", "must not be empty"),
        ("{mode: 600}", "log.mode", "600 is decimal; write 0600"),
        ("{mode: rw}", "log.mode", "expected file permissions"),
        ("{file_num: -1}", "log.file_num", "at least 0"),
        ("{file_size: 1MB}", "log.file_size", "expected an integer"),
        ("{loggers: {urllib3: LOUD}}", "log.loggers.urllib3", "expected DEBUG, INFO"),
        ("{loggers: {urllib3: 70}}", "log.loggers.urllib3", "expected DEBUG, INFO"),
        ("{loggers: [urllib3]}", "log.loggers", "expected a mapping"),
        ("{deduplicate_heartbeat_logs: sometimes}", "log.deduplicate_heartbeat_logs", "expected a boolean"),
    ])
    func invalidValueNamesKey(yaml: String, path: String, fragment: String) throws {
        let found = try issues(yaml)
        let issue = found.first { $0.path == path }
        #expect(issue?.message.contains(fragment) == true, "\(found)")
    }

    @Test func jsonSettingsFromTheEnvironmentAsPatroniReadsThem() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try patroniSampleYAML.write(toFile: dir + "/p.yml", atomically: true, encoding: .utf8)
        let (config, warnings) = try ConfigLoader.load(path: dir + "/p.yml", environment: [
            "PATRONI_LOG_TYPE": "json", "PATRONI_LOG_FORMAT": "message, {asctime: '@timestamp'}",
            "PATRONI_LOG_STATIC_FIELDS": "app: staz, zone: 2"])
        #expect(warnings.isEmpty)
        #expect(config.log.format == .json([JSONLogField(.message), JSONLogField(.asctime, key: "@timestamp")]))
        #expect(config.log.staticFields == JSONObject([("app", "staz"), ("zone", 2)]))
        let error = #expect(throws: ConfigError.self) {
            try ConfigLoader.load(path: dir + "/p.yml", environment: ["STAZ_LOG_STATIC_FIELDS": "{unclosed", "STAZ_LOG_FILE_NUM": "two"])
        }
        #expect(error?.mentions("log.static_fields") == true && error?.mentions("log.file_num") == true)
    }

    @Test func modeAcceptsOctalSpellings() throws {
        #expect(try parsedLog("{mode: 0600}").0.mode == 0o600)  // YAML 1.1 octal, as PyYAML reads it
        #expect(try parsedLog("{mode: '0o640'}").0.mode == 0o640)
        #expect(try parsedLog("{mode: '0644'}").0.mode == 0o644)
        #expect(try parsedLog("{mode: 384}").0.mode == 0o600)
    }

    @Test func patroniToleratedQuirksOnlyWarn() throws {
        // Patroni falls back to its default format for a list with plain lines, and ignores
        // static fields there: both start, with a warning naming the key.
        let (log, warnings) = try parsedLog("{format: [message], static_fields: {app: x}, loggers: {patroni.ha: DEBUG}}")
        #expect(log.format == .plain(.patroniDefault))
        #expect(Set(warnings.map(\.path)) == ["log.format", "log.static_fields", "log.loggers.patroni.ha"])
        #expect(!warnings.contains { $0.message.contains("not supported") })
    }

    @Test func loggerLevelsFollowPythonsHierarchy() {
        var log = LogSection()
        log.level = "INFO"
        #expect(log.level(forLogger: "staz") == "INFO")
        log.loggers = ["patroni": "WARNING", "staz.postgres": "DEBUG", "staz.postgres.nio": "NOTSET", "urllib3": "DEBUG"]
        #expect(log.level(forLogger: "staz") == "WARNING", "staz answers to Patroni's name")
        #expect(log.level(forLogger: "staz.postgres.nio") == "DEBUG", "NOTSET defers to the parent")
        #expect(log.level(forLogger: "staz-fence-guard") == "INFO", "not a child of staz")
        log.loggers["staz"] = "ERROR"
        #expect(log.level(forLogger: "staz") == "ERROR", "its own name before Patroni's")
    }
}

@Suite struct LogDirectoryCheckTests {
    @Test func validateReportsALogDirectoryThatCannotBeWritten() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "x".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
        #expect(ConfigLoader.logDirectoryProblem(dir) == nil)
        #expect(ConfigLoader.logDirectoryProblem(dir + "/new/deeper") == nil, "created at start")
        #expect(ConfigLoader.logDirectoryProblem(dir + "/file") == "is not a directory")
        #expect(ConfigLoader.logDirectoryProblem(dir + "/file/log")?.contains("cannot be created") == true)
        try FileManager.default.createDirectory(atPath: dir + "/taken/patroni.log", withIntermediateDirectories: true)
        #expect(ConfigLoader.logDirectoryProblem(dir + "/taken")?.contains("directory named patroni.log") == true)
        if getuid() != 0 {
            try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: dir + "/taken")
            #expect(ConfigLoader.logDirectoryProblem(dir + "/taken/sub")?.contains("cannot be created") == true)
        }

        let raw = setting("log.dir", to: .string(dir + "/file"), in: try sampleRaw())
        let (config, _) = try ConfigLoader.parse(raw)
        #expect(ConfigLoader.fileIssues(config).map(\.description).contains("log.dir: '\(dir)/file' is not a directory"))
    }
}
