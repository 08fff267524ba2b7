import Foundation
import Testing
@testable import StazPostgres
import StazSystem

/// How staz learns that a child (pg_basebackup, pg_ctl, a callback) exited. The point of
/// `ChildExit` is that it is told by the kernel instead of polling; how soon is a benchmark
/// figure (B8), not something a unit test times.
@Suite("Child exit", .timeLimit(.minutes(1)))
struct ChildExitTests {
    func spawn(_ script: String) throws -> pid_t {
        try Spawn.start(path: "/bin/sh", arguments: ["-c", script], environment: [:], output: .ourStderr)
    }

    @Test("this machine notices exits through a pidfd, not by polling")
    func usesProcessDescriptors() {
        #expect(ChildExit.notification == .processDescriptor)
    }

    @Test("exit codes and signals come back as the shell reports them")
    func exitCodes() async throws {
        #expect(await ChildExit.wait(for: try spawn("exit 0")) == 0)
        #expect(await ChildExit.wait(for: try spawn("exit 7")) == 7)
        #expect(await ChildExit.wait(for: try spawn("kill -9 $$")) == 128 + SIGKILL)
    }

    @Test("a child that exited before the wait began is reaped too")
    func alreadyExited() async throws {
        let pid = try spawn("exit 3")
        // Until reaped it is a zombie: wait for that state, so the exit surely came first.
        let deadline = ContinuousClock.now + .seconds(10)
        while ProcessState.isAlive(pid), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(!ProcessState.isAlive(pid) && kill(pid, 0) == 0, "a zombie")
        #expect(await ChildExit.wait(for: pid) == 3)
        #expect(kill(pid, 0) != 0, "reaped: the pid is gone")
    }

    @Test("a wait returns only when the child exits, whatever the order of many children")
    func manyChildren() async throws {
        // Child i sleeps a little less the larger i is, so they exit in reverse order.
        let pids = try (0..<16).map { index in try spawn("sleep 0.\(String(format: "%02d", 40 - 2 * index)); exit \(index)") }
        let codes = await withTaskGroup(of: (Int, Int32).self) { group in
            for (index, pid) in pids.enumerated() { group.addTask { (index, await ChildExit.wait(for: pid)) } }
            var codes: [Int: Int32] = [:]
            for await (index, code) in group { codes[index] = code }
            return codes
        }
        #expect(codes == Dictionary(uniqueKeysWithValues: (0..<16).map { ($0, Int32($0)) }))
    }

    @Test("a cancelled waiter still waits for the child, then reaps it")
    func cancellationDoesNotAbandonTheChild() async throws {
        let pid = try spawn("sleep 0.3; exit 5")
        let waiter = Task { await ChildExit.wait(for: pid) }
        waiter.cancel()
        #expect(await waiter.value == 5)
    }

    @Test("a process that is not our child gives -1 instead of hanging")
    func notOurChild() async {
        #expect(await ChildExit.wait(for: getppid()) == -1)
    }

    @Test("the polling fallback reports the same codes")
    func pollingFallback() async throws {
        #expect(await ChildExit.poll(try spawn("exit 9")) == 9)
        #expect(await ChildExit.poll(try spawn("kill -15 $$")) == 128 + SIGTERM)
    }
}
