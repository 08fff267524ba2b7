import Foundation
import Testing
@testable import StazMesh

/// pglogical's conflicts counted from the server log as it grows.
@Suite struct ServerLogConflictsTests {
    let conflict = "2026-12-05 13:42:03.940 UTC [14195] LOG:  CONFLICT: remote UPDATE on relation public.accounts (local index accounts_pkey). Resolution: apply_remote.\n"
    let other = "2026-12-05 13:42:03.941 UTC [14195] DETAIL:  existing local tuple {id[int8]:1}\n"

    func append(_ text: String, to path: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        handle.write(Data(text.utf8))
        try handle.close()
    }

    @Test func countsOnlyLinesWrittenAfterItStartedAndWholeLines() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("staz-pglog-\(UUID().uuidString).log").path
        try (conflict + other).write(toFile: path, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var counter = ServerLogConflicts()
        counter.scan(path)
        #expect(counter.count == 0 && counter.countingSince != nil)   // older lines are not counted

        try append(other + conflict + String(conflict.dropLast(40)), to: path)
        counter.scan(path)
        #expect(counter.count == 1)
        #expect(counter.latest == "remote UPDATE on relation public.accounts (local index accounts_pkey). Resolution: apply_remote.")
        // The line finished later is counted once, when complete.
        try append(String(conflict.suffix(40)), to: path)
        counter.scan(path)
        #expect(counter.count == 2)
        counter.scan(path)
        #expect(counter.count == 2)
        counter.scan(nil)
        #expect(counter.count == 2)
    }

    @Test func aRotatedOrTruncatedFileIsReadFromItsStart() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("staz-pglog-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = dir + "/postgresql-1.log", second = dir + "/postgresql-2.log"
        try (other + other).write(toFile: first, atomically: false, encoding: .utf8)
        var counter = ServerLogConflicts()
        counter.scan(first)
        try (conflict + conflict).write(toFile: second, atomically: false, encoding: .utf8)
        counter.scan(second)
        #expect(counter.count == 2)
        // Truncated in place (log_truncate_on_rotation): shorter than what was read.
        try conflict.write(toFile: second, atomically: false, encoding: .utf8)
        counter.scan(second)
        #expect(counter.count == 3)
        #expect(counter.path == second)
    }
}
