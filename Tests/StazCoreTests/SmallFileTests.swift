import Foundation
import Testing
import StazSystem
@testable import StazCore

@Suite struct SmallFileTests {
    @Test func readsWholeSmallFilesAndStopsAtTheLimit() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("staz-small-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "12345\n/data\nready\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(SmallFile.read(path) == "12345\n/data\nready\n")
        #expect(SmallFile.read(path, limit: 5) == "12345")
        #expect(SmallFile.read(path + ".missing") == nil)
    }

    @Test func readsWholeFilesOfAnyLength() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("staz-whole-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let long = (0..<2_000).map { "slot_\($0)" }.joined(separator: ",")
        #expect(long.utf8.count > 8_192)
        try long.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(SmallFile.readWhole(path) == long)
        try "".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(SmallFile.readWhole(path) == "")
        #expect(SmallFile.readWhole(path + ".missing") == nil)
        // /proc reports a size of 0: the read goes on to the end regardless.
        #expect(SmallFile.readWhole("/proc/self/status")?.contains("VmRSS:") == true)
    }

    @Test func procEntriesOfThisProcess() {
        let stat = SmallFile.read("/proc/self/stat", limit: 512)
        #expect(stat?.hasPrefix("\(getpid()) (") == true)
        #expect(ProcessState.isAlive(getpid()))
        #expect(!ProcessState.isAlive(Int32.max))
    }

    @Test func existenceAndDirectoryProblems() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("staz-dir-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/PG_VERSION"
        try "15\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(SmallFile.exists(file))
        #expect(SmallFile.exists(directory))
        #expect(!SmallFile.exists(directory + "/missing"))
        #expect(SmallFile.directoryProblem(directory) == nil)
        #expect(SmallFile.directoryProblem(directory + "/missing") == .missing)
        #expect(SmallFile.directoryProblem(file) == .notADirectory)
        #expect(SmallFile.directoryProblem(file + "/below") == .unreadable("Not a directory"), "a path through a file")
    }
}

