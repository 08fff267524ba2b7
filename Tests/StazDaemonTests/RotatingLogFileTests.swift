import Foundation
import Testing
import StazConfig
import StazCore
@testable import StazDaemon

@Suite struct RotatingLogFileTests {
    func scratch() throws -> String {
        let path = NSTemporaryDirectory() + "staz-log-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func file(_ path: String, maxBytes: Int, backupCount: Int, mode: Int? = nil, fallback: LogDestination = RecordingDestination(),
              retry: Duration = .seconds(30)) -> RotatingLogFile {
        RotatingLogFile(path: path, maxBytes: maxBytes, backupCount: backupCount, mode: mode, fallback: fallback,
                        retryInterval: retry) { error, message in (error ? "ERROR: " : "INFO: ") + message + "\n" }
    }

    func contents(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    @Test func rotatesLikePythonsRotatingFileHandler() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = file(dir + "/patroni.log", maxBytes: 200, backupCount: 2)
        let lines = (0..<60).map { String(format: "line %03d of the rotation test\n", $0) }  // 29 bytes
        for line in lines { log.write(line) }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(names == ["patroni.log", "patroni.log.1", "patroni.log.2"])
        for name in names {
            let size = try #require(FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.size] as? Int)
            #expect(size < 200 && size > 0, "\(name): \(size) bytes")
        }
        // The newest lines are in patroni.log, the ones before in .1, then .2, without a gap.
        let kept = contents(dir + "/patroni.log.2") + contents(dir + "/patroni.log.1") + contents(dir + "/patroni.log")
        #expect(kept == lines.suffix(kept.split(separator: "\n").count).joined())
    }

    @Test func zeroSizeOrCountNeverRotates() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let noSize = file(dir + "/a.log", maxBytes: 0, backupCount: 2)
        let noCount = file(dir + "/b.log", maxBytes: 10, backupCount: 0)
        for _ in 0..<20 { noSize.write("0123456789\n"); noCount.write("0123456789\n") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["a.log", "b.log"])
        #expect(contents(dir + "/b.log").count == 220)
    }

    @Test func modeIsAppliedAndTheDirectoryCreated() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = file(dir + "/sub/patroni.log", maxBytes: 0, backupCount: 0, mode: 0o640)
        log.write("x\n")
        let fileMode = try #require(FileManager.default.attributesOfItem(atPath: dir + "/sub/patroni.log")[.posixPermissions] as? Int)
        let dirMode = try #require(FileManager.default.attributesOfItem(atPath: dir + "/sub")[.posixPermissions] as? Int)
        #expect(fileMode == 0o640 && dirMode == 0o750)
    }

    @Test func anUnwritableFileFallsBackToStderrWithOneErrorAndRecovers() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A regular file where the directory should be: no one, root included, can write there.
        try "".write(toFile: dir + "/logs", atomically: true, encoding: .utf8)
        let stderr = RecordingDestination()
        let log = file(dir + "/logs/patroni.log", maxBytes: 0, backupCount: 0, fallback: stderr, retry: .milliseconds(50))
        log.write("a\n"); log.write("b\n")
        #expect(stderr.lines.count == 3 && stderr.lines[0].hasPrefix("ERROR: cannot write the log file \(dir)/logs/patroni.log"))
        #expect(Array(stderr.lines.dropFirst()) == ["a\n", "b\n"])
        try FileManager.default.removeItem(atPath: dir + "/logs")
        Thread.sleep(forTimeInterval: 0.1)
        log.write("c\n")
        #expect(contents(dir + "/logs/patroni.log").hasPrefix("INFO: writing the log file"))
        #expect(contents(dir + "/logs/patroni.log").hasSuffix("c\n") && stderr.lines.count == 3)
    }

    @Test func aFullDiskDoesNotStopTheDaemon() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { return }
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createSymbolicLink(atPath: dir + "/patroni.log", withDestinationPath: "/dev/full")
        let stderr = RecordingDestination()
        let log = file(dir + "/patroni.log", maxBytes: 10, backupCount: 2, fallback: stderr, retry: .milliseconds(20))
        log.write("a\n"); log.write("b\n")
        Thread.sleep(forTimeInterval: 0.05)
        log.write("c\n")
        #expect(stderr.lines.first?.contains("No space left on device") == true)
        #expect(Array(stderr.lines.dropFirst()) == ["a\n", "b\n", "c\n"], "retried, still full: no second error line")
    }

    @Test func concurrentLoggersProduceWholeJSONLinesAcrossRotations() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var section = LogSection()
        section.format = .json([JSONLogField(.levelname), JSONLogField(.message)])
        section.staticFields = JSONObject([("app", "staz")])
        section.dir = dir
        section.fileSize = 3000
        section.fileNum = 200
        section.maxQueueSize = 0
        let output = LogOutput(section, destination: LogOutput.destination(for: section))
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for index in 0..<100 { output.emit(sampleRecord("worker \(worker) line \(index)")) }
        }
        output.flush(timeout: 10)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(files.count > 10)
        var messages = Set<String>()
        for name in files {
            for line in contents(dir + "/" + name).split(separator: "\n") {
                let object = try JSONValue.parse(String(line))
                #expect(object["app"] == "staz" && object["levelname"] == "INFO")
                messages.insert(object["message"]?.stringValue ?? "")
            }
        }
        #expect(messages.count == 800)
    }
}
