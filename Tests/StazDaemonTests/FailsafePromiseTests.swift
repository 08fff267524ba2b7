import Foundation
import Logging
import StazAPI
import StazCore
import StazPostgres
import Testing
@testable import StazDaemon

/// A `POST /failsafe` promise outlives the staz process that made it (the simulation found a
/// restarted member racing while the leader it had promised still took writes).
@Suite("Daemon: failsafe promise file")
struct FailsafePromiseTests {
    static let request = FailsafeRequest(name: "node1", connURL: "postgres://10.0.0.1:5432/postgres",
                                         apiURL: "http://10.0.0.1:8008/patroni")

    static func withDataDirectory(_ body: (String) throws -> Void) rethrows {
        let dir = NSTemporaryDirectory() + "staz-promise-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir + "/PG_VERSION", contents: Data("15\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir)
    }

    static func file(_ dir: String) -> FailsafePromiseFile {
        FailsafePromiseFile(dataDirectory: dir, logger: Logger(label: "test"))
    }

    @Test func aRestartedProcessKeepsThePromiseForWhatIsLeftOfIt() {
        Self.withDataDirectory { dir in
            let before = FailsafeMemory(promiseFile: Self.file(dir))
            before.update(ttl: 5, leading: false, walPosition: nil)
            #expect(before.receive(Self.request) == .accepted(lsn: nil))

            let after = FailsafeMemory(promiseFile: Self.file(dir))  // the next staz process
            let start = ContinuousClock.now
            #expect(after.restorePromise(ttl: 5, now: start)?.leader == "node1")
            #expect(after.leader(now: start)?.name == "node1")
            #expect(after.leader(now: start)?.apiURL == "http://10.0.0.1:8008/patroni")
            #expect(!after.claimLeadership(now: start), "it must not race while the promise binds")
            #expect(after.leader(now: start + .seconds(5.1)) == nil, "never longer than ttl")
        }
    }

    @Test func aDirectoryWithoutAClusterGetsNoFile() throws {
        let dir = NSTemporaryDirectory() + "staz-promise-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let memory = FailsafeMemory(promiseFile: Self.file(dir))
        memory.update(ttl: 5, leading: false, walPosition: nil)
        #expect(memory.receive(Self.request) == .accepted(lsn: nil), "the promise is still made, in memory")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "initdb needs it empty")
    }

    @Test func aRefusedRequestWritesNoPromise() {
        Self.withDataDirectory { dir in
            let memory = FailsafeMemory(promiseFile: Self.file(dir))
            memory.update(ttl: 5, leading: true, walPosition: nil)
            #expect(memory.receive(Self.request) == .runningAsLeader)
            #expect(!FileManager.default.fileExists(atPath: Self.file(dir).path))
            #expect(FailsafeMemory(promiseFile: Self.file(dir)).restorePromise(ttl: 5) == nil)
        }
    }

    @Test func anExpiredCopiedOrForeignPromiseBindsNobody() {
        let promise = FailsafePromise(leader: "node1", apiURL: "a", connURL: "c", bootID: "boot-1",
                                      dataDirectory: "/data/main", expiresAt: 10_000_000_000)
        #expect(FailsafePromise.parse(promise.text) == promise)
        #expect(promise.remaining(bootID: "boot-1", dataDirectory: "/data/main", bootNow: 9_000_000_000) == .seconds(1))
        #expect(promise.remaining(bootID: "boot-1", dataDirectory: "/data/main", bootNow: 10_000_000_000) == nil, "expired")
        #expect(promise.remaining(bootID: "boot-2", dataDirectory: "/data/main", bootNow: 1) == nil, "before a reboot")
        #expect(promise.remaining(bootID: "boot-1", dataDirectory: "/data/copy", bootNow: 1) == nil, "a pg_basebackup copy")
        #expect(FailsafePromise.parse("staz failsafe promise v1\nleader=node1\n") == nil, "incomplete")
        #expect(FailsafePromise.parse("something else\n") == nil)
    }
}
