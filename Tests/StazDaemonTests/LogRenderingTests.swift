import Foundation
import Logging
import Testing
import StazConfig
import StazCore
@testable import StazSystem
@testable import StazDaemon

/// A record at 2024-05-01 10:00:00.123456789 local time (whatever the machine's zone).
func sampleRecord(_ message: String = "no action. I am (pg0), the leader with the lock",
                  level: Logger.Level = .info) -> LogRecord {
    var parts = tm()
    parts.tm_year = 124; parts.tm_mon = 4; parts.tm_mday = 1; parts.tm_hour = 10; parts.tm_isdst = -1
    let seconds = Int64(mktime(&parts))
    return LogRecord(level: level, label: "staz", message: message, function: "run(cycle:)",
                     file: "StazDaemon/HAController.swift", line: 42, nanoseconds: seconds * 1_000_000_000 + 123_456_789,
                     thread: 77, isMainThread: false)
}

func renderer(_ yaml: String) throws -> LogLineRenderer {
    var section = LogSection()
    if case .object(let object) = try YAMLConversion.parse(yaml) {
        var raw = try #require(try YAMLConversion.parse(minimalConfigYAML).objectValue)
        raw["log"] = .object(object)
        section = try ConfigLoader.parse(raw).0.log
    }
    return LogLineRenderer(section)
}

let minimalConfigYAML = """
scope: s
name: n
restapi: {listen: '127.0.0.1:8008'}
etcd3: {hosts: ['127.0.0.1:2379']}
postgresql:
  listen: 127.0.0.1:5432
  data_dir: /tmp/d
  authentication: {superuser: {username: p}, replication: {username: r}}
"""

@Suite struct LogRenderingTests {
    @Test func defaultIsPatronisPlainFormat() throws {
        let line = try renderer("{}").render(sampleRecord())
        #expect(line == "2024-05-01 10:00:00,123 INFO: no action. I am (pg0), the leader with the lock")
        #expect(try renderer("{}").render(sampleRecord("x", level: .warning)) == "2024-05-01 10:00:00,123 WARNING: x")
    }

    @Test(arguments: [(5, 4, "0005"), (2024, 4, "2024"), (7, 2, "07"), (10, 2, "10"), (0, 3, "000"), (42, 3, "042"), (123, 2, "123")])
    func zeroPaddingIsPrintfs(value: Int, width: Int, expected: String) {
        var text = "x"
        text.appendZeroPadded(value, width: width)
        #expect(text == "x" + expected)
    }

    @Test func asctimePadsEveryField() {
        var parts = tm()
        var seconds = time_t(0)
        localtime_r(&seconds, &parts)
        // The epoch plus 5 ms, in the machine's zone: every field but the year is padded.
        let text = PythonLogTime.asctime(nanoseconds: 5_000_000, dateFormat: nil)
        let expected = String(format: "%04d-%02d-%02d %02d:%02d:%02d,005", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                              parts.tm_hour, parts.tm_min, parts.tm_sec)
        #expect(text == expected)
    }

    @Test func customPlainFormatAndDateFormat() throws {
        let format = "[%(levelname)-8s] %(name)s %(process)d %(thread)d %(funcName)s %(module)s:%(lineno)04d "
            + "%(msecs)03d %(levelno)s %%%(message).9s|%(message)r"
        let line = try renderer("{format: '\(format)', dateformat: '%d/%m/%Y %H:%M'}").render(sampleRecord("no action"))
        #expect(line == "[INFO    ] staz \(getpid()) 77 run HAController:0042 123 20 %no action|'no action'")
        let stamped = try renderer("{format: '%(asctime)s %(message)s', dateformat: '%d/%m/%Y %H:%M'}").render(sampleRecord("m"))
        #expect(stamped == "01/05/2024 10:00 m", "a dateformat has no milliseconds, as in Python")
        let numbers = try renderer("{format: '%(created).3f %(msecs)s %(relativeCreated)d %(filename)s %(pathname)s %(threadName)s %(processName)s'}")
            .render(sampleRecord())
        #expect(numbers.hasSuffix(" 123.0 \(numbers.split(separator: " ")[2]) HAController.swift StazDaemon/HAController.swift Thread-77 MainProcess"))
        #expect(numbers.hasPrefix(String(format: "%.3f", Double(sampleRecord().nanoseconds) / 1e9)))
    }

    @Test func jsonLineCarriesRenamedFieldsThenStaticFields() throws {
        let yaml = "{type: json, format: [message, {asctime: '@timestamp'}, {levelname: level}, lineno, process], static_fields: {app: staz, zone: 2}}"
        let line = try renderer(yaml).render(sampleRecord("say \"hi\" to Zoë\n"))
        let object = try #require(try JSONValue.parse(line).objectValue)
        #expect(object.keys == ["message", "@timestamp", "level", "lineno", "process", "app", "zone"])
        #expect(object["message"] == "say \"hi\" to Zoë\n")
        #expect(object["@timestamp"] == "2024-05-01 10:00:00,123")
        #expect(object["level"] == "INFO" && object["app"] == "staz" && object["zone"] == 2)
        #expect(object["lineno"] == 42 && object["process"] == .int(Int64(getpid())))
        #expect(!line.contains("\n") && line.contains("\\u00eb"), "one line, ASCII only as Python's json.dumps")
        #expect(line.hasPrefix("{\"message\": "), "Python's separators")
    }

    @Test func jsonDefaultFieldsAreThoseOfPatronisDefaultFormat() throws {
        let line = try renderer("{type: json, dateformat: '%Y-%m-%dT%H:%M:%S'}").render(sampleRecord("m"))
        #expect(line == #"{"asctime": "2024-05-01T10:00:00", "levelname": "INFO", "message": "m"}"#)
        let fromString = try renderer("{type: json, format: '%(levelname)s %(created)f'}").render(sampleRecord("m"))
        let object = try #require(try JSONValue.parse(fromString).objectValue)
        #expect(object.keys == ["levelname", "created"])
        #expect(object["created"]?.doubleValue == Double(sampleRecord().nanoseconds) / 1e9)
    }

    @Test func pythonPercentConversions() {
        #expect(PythonPercentFormat.format(.double(7.9), LogConversion(flags: "0", width: 3, type: "d")) == "007")
        #expect(PythonPercentFormat.format(.int(255), LogConversion(type: "x")) == "ff")
        #expect(PythonPercentFormat.format(.int(5), LogConversion(flags: "-", width: 4, type: "d")) == "5   ")
        #expect(PythonPercentFormat.format(.double(1.5), LogConversion(precision: 2, type: "f")) == "1.50")
        #expect(PythonPercentFormat.format("ab", LogConversion(flags: "0", width: 4, type: "s")) == "  ab")
        #expect(PythonPercentFormat.format("it's", LogConversion(type: "r")) == "\"it's\"")
        #expect(PythonPercentFormat.format(.double(12), LogConversion(type: "s")) == "12.0")
    }
}
