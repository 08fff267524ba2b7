import Foundation
import Testing
import StazSystem
@testable import StazCore

/// The pidfd probe against real processes: a child of the test, killed and deliberately left
/// unreaped, must read as exited (a postmaster whose parent reaps late), as ProcessState says.
@Suite struct ProcessHandleTests {
    func child() throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sleep")
        process.arguments = ["30"]
        try process.run()
        return process
    }

    @Test func aRunningProcessHasNotExitedAndAZombieHas() throws {
        let process = try child()
        let pid = process.processIdentifier
        let handle = try #require(ProcessHandle.open(pid), "pidfd_open exists on Debian 12 (Linux ≥ 5.3, glibc 2.36)")
        #expect(!handle.hasExited)
        kill(pid, SIGKILL)
        // Foundation's Process reaps in the background: wait until the kernel reports the exit.
        let deadline = Date().addingTimeInterval(5)
        while !handle.hasExited && Date() < deadline { usleep(5_000) }
        #expect(handle.hasExited)
        #expect(!ProcessState.isAlive(pid))
        process.waitUntilExit()
    }

    @Test func noProcessNoHandle() {
        #expect(ProcessHandle.open(Int32.max) == nil)
        #expect(ProcessHandle.open(0) == nil)
    }

    @Test func aConfirmedProcessIsFollowedByItsPidfdUntilItExits() throws {
        let process = try child()
        let pid = process.processIdentifier
        let followed = ConfirmedProcess()
        var checks = 0
        let confirm: (Int32) -> Bool = { checks += 1; return ProcessState.isAlive($0) }
        #expect(followed.isRunning(pid, confirm: confirm))
        #expect(followed.isRunning(pid, confirm: confirm))
        #expect(checks == 1, "the pidfd answers once /proc confirmed the process")
        #expect(followed.isRunning(pid, confirm: { _ in false }), "a running process is not checked again")
        kill(pid, SIGKILL)
        let deadline = Date().addingTimeInterval(5)
        while followed.isRunning(pid, confirm: confirm) && Date() < deadline { usleep(5_000) }
        #expect(!followed.isRunning(pid, confirm: confirm))
        #expect(followed.isRunning(pid, confirm: { _ in true }), "after the exit, the check decides again (a reused pid)")
        process.waitUntilExit()
    }

    @Test func anUnconfirmedProcessIsNotFollowed() {
        let followed = ConfirmedProcess()
        #expect(!followed.isRunning(getpid(), confirm: { _ in false }))
        var checks = 0
        #expect(followed.isRunning(getpid(), confirm: { _ in checks += 1; return true }))
        #expect(followed.isRunning(getpid(), confirm: { _ in checks += 1; return true }))
        #expect(checks == 1)
    }
}

