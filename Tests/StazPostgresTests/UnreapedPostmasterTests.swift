import Foundation
import Logging
import StazConfig
import StazSystem
import Testing
@testable import StazPostgres

/// A postmaster killed with SIGKILL (by the fencing guard, say) leaves its postmaster.pid, and
/// until its parent reaps it PostgreSQL's own check counts it as running: a start at that
/// moment fails with "lock file already exists". These tests make the zombie themselves (a child
/// of the test process, deliberately not reaped) so the interleaving is forced, not timed.
@Suite("Unreaped postmaster")
final class UnreapedPostmasterTests {
    let directory: String
    let controller: PostgresController

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("staz-unreaped-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let section = PostgreSQLSection(listen: "127.0.0.1:1", connectAddress: "127.0.0.1:1", dataDir: directory,
                                        pgpass: directory + "/pgpass", superuser: Credentials(username: "postgres"),
                                        replication: Credentials(username: "replicator"))
        controller = PostgresController(section: section, scope: "test", memberName: "m1", logger: Logger(label: "test"))
    }

    /// A child that has exited and is not reaped: a zombie until `reap`.
    func zombie(workingDirectory: String? = nil) throws -> pid_t {
        let script = workingDirectory.map { "cd '\($0)' && exit 0" } ?? "exit 0"
        let pid = try Spawn.start(path: "/bin/sh", arguments: ["-c", script], environment: [:],
                                  output: .files(stdout: "/dev/null", stderr: "/dev/null"))
        for _ in 0..<200 where PostmasterRemains.of(pid) != .unreaped { usleep(10_000) }
        #expect(PostmasterRemains.of(pid) == .unreaped)
        return pid
    }

    func reap(_ pid: pid_t) { var status: Int32 = 0; waitpid(pid, &status, 0) }

    func writeLockFile(_ pid: pid_t) throws {
        try "\(pid)\n\(directory)\n".write(toFile: directory + "/postmaster.pid", atomically: true, encoding: .utf8)
    }

    var lockFileExists: Bool { FileManager.default.fileExists(atPath: directory + "/postmaster.pid") }

    @Test func aZombieIsNeitherRunningNorGone() throws {
        let pid = try zombie()
        #expect(PostmasterRemains.of(pid) == .unreaped)
        #expect(ProcessState.isAlive(pid) == false)    // why staz once thought it stopped
        reap(pid)
        #expect(PostmasterRemains.of(pid) == .gone)
    }

    @Test func theStaleLockFileOfAZombieIsRemovedBeforeAStart() throws {
        let pid = try zombie()
        defer { reap(pid) }
        try writeLockFile(pid)
        controller.releaseLockFileOfUnreapedPostmaster()
        #expect(!lockFileExists)
    }

    /// What the failsafe integration test met: postmaster.pid gone or not, the socket lock
    /// file still named the dead postmaster and every start failed on it.
    @Test func theSocketLockFileOfAZombieIsRemovedToo() throws {
        let pid = try zombie()
        defer { reap(pid) }
        let port = 40_000 + Int(getpid() % 20_000)
        try "\(pid)\n\(directory)\n1700000000\n\(port)\n\(directory)\n127.0.0.1\n".write(
            toFile: directory + "/postmaster.pid", atomically: true, encoding: .utf8)
        let socketLock = directory + "/.s.PGSQL.\(port).lock"
        try "\(pid)\n\(directory)\n".write(toFile: socketLock, atomically: true, encoding: .utf8)
        controller.releaseLockFileOfUnreapedPostmaster()
        #expect(!lockFileExists)
        #expect(!FileManager.default.fileExists(atPath: socketLock))
    }

    @Test func stopWaitsForAZombieAndFreesTheDataDirectory() async throws {
        let pid = try zombie()
        defer { reap(pid) }
        try writeLockFile(pid)
        #expect(controller.unreapedPostmasterPID() == pid)
        try await controller.stop(mode: .fast, timeout: 10)
        #expect(!lockFileExists)
    }

    @Test func aLockFileIsKeptWhileAProcessOfTheOldServerLivesInTheDataDirectory() throws {
        let pid = try zombie()
        defer { reap(pid) }
        try writeLockFile(pid)
        // A surviving "backend": a live process whose working directory is the data directory.
        let survivor = try Spawn.start(path: "/bin/sh", arguments: ["-c", "cd '\(directory)' && exec /bin/sleep 30"],
                                       environment: [:], output: .files(stdout: "/dev/null", stderr: "/dev/null"))
        defer { kill(survivor, SIGKILL); reap(survivor) }
        for _ in 0..<200 where ProcFS.workingDirectory(of: survivor) != directory { usleep(10_000) }
        #expect(ProcFS.workingDirectory(of: survivor) == directory, "survivor cwd")
        #expect(!controller.releaseLockFile(ofExited: pid))
        #expect(lockFileExists)
    }

    @Test func aLockFileNamingAnotherProcessIsLeftAlone() throws {
        try writeLockFile(getpid())
        controller.releaseLockFileOfUnreapedPostmaster()
        #expect(lockFileExists)
    }

    /// A switchover's fast shutdown: the postmaster removed its lock files and exited, and
    /// PID 1 has not reaped it. The data directory is free at once, not after the grace.
    @Test func aZombieThatRemovedItsLockFilesIsReleasedWithoutTheGrace() async throws {
        let pid = try zombie()
        defer { reap(pid) }
        #expect(!controller.lockFilesName(pid))
        #expect(!PostmasterRemains.waitsForReaper(lockFilesNameIt: false, graceOver: false))
        let clock = ContinuousClock()
        let took = try await clock.measure {
            #expect(await controller.waitUntilReleased(pid, timeout: 30))
        }
        // The grace is min(timeout, 2 s): returning before it shows it was skipped.
        #expect(took < .seconds(2))
    }

    @Test(arguments: [(true, false, true), (true, true, false), (false, false, false), (false, true, false)])
    func reaperWaitRule(lockFilesNameIt: Bool, graceOver: Bool, waits: Bool) {
        #expect(PostmasterRemains.waitsForReaper(lockFilesNameIt: lockFilesNameIt, graceOver: graceOver) == waits)
    }

    @Test(arguments: [
        (Int32(7), PostmasterRemains.unreaped, 0, true),
        (Int32(7), PostmasterRemains.unreaped, 1, false),
        (Int32(7), PostmasterRemains.running, 0, false),
        (Int32(7), PostmasterRemains.gone, 0, false),
        (Int32(8), PostmasterRemains.unreaped, 0, false),
    ])
    func lockFileRemovalRule(lockFilePID: Int32, remains: PostmasterRemains, survivors: Int, allowed: Bool) {
        #expect(PostmasterRemains.mayRemoveLockFile(lockFilePID: lockFilePID, stoppedPID: 7, remains: remains,
                                                    liveProcessesInDataDirectory: survivors) == allowed)
    }
}
