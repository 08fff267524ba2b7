import Foundation
import Testing
import StazSystem
@testable import StazFence

/// The pure parts of the fencing guard: pipe messages, the state file, deadline arithmetic,
/// /proc parsing and the guard's next step.
struct FenceGuardTests {
    // MARK: messages

    @Test func messagesRoundTrip() throws {
        let messages: [FenceGuardMessage] = [
            .arm(deadline: 123_456_789_000, target: FenceTarget(pid: 4242, startTicks: 987_654)),
            .arm(deadline: 1, target: nil),
            .fenceNow,
            .standDown,
        ]
        for message in messages {
            #expect(message.line.hasSuffix("\n"))
            #expect(try FenceGuardMessage.parse(Substring(message.line.dropLast())) == message)
        }
    }

    @Test func pidZeroMeansNoKnownPostmaster() throws {
        #expect(try FenceGuardMessage.parse("arm 5000 0 0") == .arm(deadline: 5000, target: nil))
    }

    @Test(arguments: ["", "arm", "arm 1 2", "arm 1 2 3 4", "arm x 2 3", "arm 0 2 3", "arm -5 2 3",
                      "arm 5 -1 3", "arm 5 2 -3", "arm 5 99999999999 3", "fence now", "stand-down x", "ARM 1 2 3", "kill"])
    func badMessagesAreRejectedWithTheLine(_ line: String) {
        do {
            _ = try FenceGuardMessage.parse(Substring(line))
            Issue.record("accepted \"\(line)\"")
        } catch let error as FenceGuardProtocolError {
            #expect(error.description.contains("\"\(line)\""))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    // MARK: state file

    let state = FenceGuardState(guardPID: 777, bootID: "0f3c-boot", dataDirectory: "/var/lib/pg/data",
                                deadline: 9_000_000_000, target: FenceTarget(pid: 555, startTicks: 31337))

    @Test func stateFileRoundTrips() throws {
        #expect(try FenceGuardState.parse(state.text) == state)
        var noTarget = state
        noTarget.target = nil
        #expect(try FenceGuardState.parse(noTarget.text) == noTarget)
        #expect(state.text.hasPrefix("staz fence guard v1\n"))
        #expect(state.text.contains("deadline_boottime_ns=9000000000\n"))
    }

    @Test func stateFileToleratesKeyOrderAndBlankLines() throws {
        let text = """
        staz fence guard v1

        postmaster_start_ticks=31337
        postmaster_pid=555
        deadline_boottime_ns=9000000000
        data_dir=/var/lib/pg/data
        boot_id=0f3c-boot
        guard_pid=777
        """
        #expect(try FenceGuardState.parse(text) == state)
    }

    @Test func badStateFilesNameTheProblem() {
        let cases: [(String, String)] = [
            ("", "first line"),
            ("something else\nguard_pid=1", "first line"),
            (state.text.replacingOccurrences(of: "guard_pid=777", with: "guard_pid=0"), "guard_pid=0"),
            (state.text.replacingOccurrences(of: "guard_pid=777\n", with: ""), "guard_pid is missing"),
            (state.text.replacingOccurrences(of: "deadline_boottime_ns=9000000000", with: "deadline_boottime_ns=soon"), "deadline_boottime_ns=soon"),
            (state.text.replacingOccurrences(of: "data_dir=/var/lib/pg/data", with: "data_dir=relative/data"), "not absolute"),
            (state.text.replacingOccurrences(of: "boot_id=0f3c-boot", with: "boot_id="), "boot_id is missing"),
            (state.text + "garbage line\n", "not key=value"),
            (state.text.replacingOccurrences(of: "postmaster_pid=555", with: "postmaster_pid=-2"), "postmaster_pid=-2"),
        ]
        for (text, expected) in cases {
            do {
                _ = try FenceGuardState.parse(text)
                Issue.record("accepted a bad state file expecting \(expected)")
            } catch {
                #expect("\(error)".contains(expected), "\(error) should mention \(expected)")
            }
        }
    }

    @Test func aCopiedStateFileDoesNotBelong() {
        #expect(state.belongs(toBoot: "0f3c-boot", dataDirectory: "/var/lib/pg/data"))
        // pg_basebackup copied it to a replica on this machine, or to the same path elsewhere.
        #expect(!state.belongs(toBoot: "0f3c-boot", dataDirectory: "/var/lib/pg/replica"))
        #expect(!state.belongs(toBoot: "another-boot", dataDirectory: "/var/lib/pg/data"))
    }

    // MARK: clocks

    @Test func bootDeadlineAddsTheRemainingTime() {
        #expect(FenceClock.bootDeadline(bootNow: 10_000_000_000, remaining: .milliseconds(4250)) == 14_250_000_000)
        // A deadline already in the past stays in the past: the guard fences at once.
        #expect(FenceClock.bootDeadline(bootNow: 10_000_000_000, remaining: .milliseconds(-300)) == 9_700_000_000)
        #expect(FenceClock.bootDeadline(bootNow: 5, remaining: .nanoseconds(7)) == 12)
    }

    @Test func remainingIsTheInverse() {
        let deadline = FenceClock.bootDeadline(bootNow: 77_000_000_000, remaining: .seconds(3))
        #expect(FenceClock.remaining(until: deadline, bootNow: 77_000_000_000) == .seconds(3))
        #expect(FenceClock.remaining(until: deadline, bootNow: 81_000_000_000) == .seconds(-1))
    }

    @Test func pollTimeoutNeverWakesBeforeTheDeadline() {
        #expect(FenceClock.pollTimeout(until: nil, bootNow: 0) == -1)
        #expect(FenceClock.pollTimeout(until: 1_000_000_000, bootNow: 1_000_000_000) == 0)
        #expect(FenceClock.pollTimeout(until: 1_000_000_000, bootNow: 2_000_000_000) == 0)
        #expect(FenceClock.pollTimeout(until: 1_000_000_001, bootNow: 1_000_000_000) == 1)
        #expect(FenceClock.pollTimeout(until: 1_004_000_000, bootNow: 1_000_000_000) == 4)
        #expect(FenceClock.pollTimeout(until: Int64.max, bootNow: 0) == Int32.max)
    }

    @Test func nanosecondsOfDurations() {
        #expect(FenceClock.nanoseconds(.seconds(2) + .nanoseconds(5)) == 2_000_000_005)
        #expect(FenceClock.nanoseconds(.milliseconds(-1500)) == -1_500_000_000)
    }

    // MARK: the guard's next step

    @Test func guardSteps() {
        // Armed, deadline ahead: wait exactly until it.
        #expect(FenceGuardStep.next(deadline: 5_000_000_000, pipeOpen: true, bootNow: 3_000_000_000) == .wait(milliseconds: 2000))
        // staz died (pipe closed) while armed: keep waiting for the deadline, then fence.
        #expect(FenceGuardStep.next(deadline: 5_000_000_000, pipeOpen: false, bootNow: 3_000_000_000) == .wait(milliseconds: 2000))
        #expect(FenceGuardStep.next(deadline: 5_000_000_000, pipeOpen: false, bootNow: 5_000_000_000) == .fence)
        // staz alive but silent past the deadline (frozen): fence.
        #expect(FenceGuardStep.next(deadline: 5_000_000_000, pipeOpen: true, bootNow: 5_000_000_001) == .fence)
        // Not armed yet: wait for staz without a limit; staz gone before arming: nothing to do.
        #expect(FenceGuardStep.next(deadline: nil, pipeOpen: true, bootNow: 1) == .wait(milliseconds: -1))
        #expect(FenceGuardStep.next(deadline: nil, pipeOpen: false, bootNow: 1) == .exit)
    }

    // MARK: /proc

    @Test func procStatFieldsAfterTheLastParenthesis() {
        // comm may contain spaces and ')' — fields are counted after the last ')'.
        let line = "4242 (postgres: a) b) S 4100 4242 4242 0 -1 4194560 1180 0 0 0 3 1 0 0 20 0 1 0 8675309 223412224 7077 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n"
        #expect(ProcStat.parse(line) == ProcStat(state: "S", parentPID: 4100, startTicks: 8_675_309))
        #expect(ProcStat.parse("garbage") == nil)
        #expect(ProcStat.parse("1 (x) S 0 1") == nil)
    }

    @Test func ownProcStatMatchesTheKernel() throws {
        let text = try String(contentsOfFile: "/proc/self/stat", encoding: .utf8)
        let stat = try #require(ProcStat.parse(text))
        #expect(stat.parentPID == getppid())
        #expect(stat.startTicks > 0)
    }

    @Test func descendantsFollowTheWholeTree() {
        // 100 is the postmaster; 101..103 its children; 110 a grandchild; 200 unrelated.
        let parents: [Int32: Int32] = [100: 1, 101: 100, 102: 100, 103: 100, 110: 103, 200: 1, 201: 200]
        #expect(FenceSystem.descendants(of: 100, parents: parents) == [101, 102, 103, 110])
        #expect(FenceSystem.descendants(of: 999, parents: parents).isEmpty)
        // A cycle in a racy /proc snapshot must not loop forever.
        #expect(FenceSystem.descendants(of: 100, parents: [101: 100, 100: 101]) == [101])
    }

    // MARK: how a guard is started and recognised

    @Test func theGuardStartsFromItsOwnExecutableNextToStaz() {
        let command = FenceGuardCommandLine.command(stazExecutable: "/usr/bin/staz", dataDirectory: "/var/lib/pg",
                                                    isExecutable: { $0 == "/usr/bin/staz-fence-guard" })
        #expect(command.path == "/usr/bin/staz-fence-guard")
        #expect(command.arguments == ["/var/lib/pg"])
    }

    @Test func withoutThatExecutableStazRunsTheGuardItself() {
        for staz in ["/opt/staz/staz", "staz"] {
            let command = FenceGuardCommandLine.command(stazExecutable: staz, dataDirectory: "/d", isExecutable: { _ in false })
            #expect(command.path == staz)
            #expect(command.arguments == ["--fence-guard", "/d"])
        }
    }

    @Test(arguments: [
        (["/usr/bin/staz-fence-guard", "/d"], "/d"),
        (["staz-fence-guard", "/d"], "/d"),
        (["/usr/bin/staz", "--fence-guard", "/d"], "/d"),
        (["/usr/bin/staz", "/etc/staz/m1.yml"], nil),
        (["/usr/bin/staz-fence-guard"], nil),
        (["/usr/bin/staz-fence-guard", "/d", "extra"], nil),
        (["/usr/bin/not-staz-fence-guard", "/d"], nil),
        (["/usr/bin/staz", "--fence-guard"], nil),
        ([], nil),
    ] as [([String], String?)])
    func guardsAreRecognisedByTheirCommandLine(words: [String], directory: String?) {
        #expect(FenceGuardCommandLine.guardedDirectory(words) == directory)
    }

    @Test func aRunningGuardIsRecognisedAndOthersAreNot() throws {
        // bash's `exec -a` gives `sleep` the guard's argv[0]: what /proc/PID/cmdline shows.
        let fake = Process()
        fake.executableURL = URL(fileURLWithPath: "/bin/bash")
        fake.arguments = ["-c", "exec -a staz-fence-guard sleep 30"]
        try fake.run()
        defer { kill(fake.processIdentifier, SIGKILL); fake.waitUntilExit() }
        let pid = fake.processIdentifier
        var seen = false
        for _ in 0..<200 where !seen {
            seen = FenceSystem.isGuard(pid: pid, dataDirectory: "30")
            if !seen { usleep(10_000) }
        }
        #expect(seen)
        #expect(!FenceSystem.isGuard(pid: pid, dataDirectory: "/elsewhere"))
        #expect(!FenceSystem.isGuard(pid: getpid(), dataDirectory: "30"))
    }

    /// The lookup the feeder repeats after every renewal answers from its last result only
    /// while postmaster.pid and the process are the same: a new postmaster (a new pid file)
    /// and a gone one are both seen at once.
    @Test func aRepeatedPostmasterLookupSeesANewAndAGonePostmaster() throws {
        let directory = FenceSystem.canonicalPath(NSTemporaryDirectory() + "staz-lookup-\(getpid())")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Named like PostgreSQL's executable (what /proc/PID/comm shows), run in the directory.
        try FileManager.default.createSymbolicLink(atPath: directory + "/postgres", withDestinationPath: "/bin/sleep")
        var started: [Process] = []
        defer { for process in started { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
        func startPostmaster() throws -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: directory + "/postgres")
            process.arguments = ["30"]
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            try process.run()
            started.append(process)
            // As PostgreSQL does at start: a new file.
            unlink(directory + "/postmaster.pid")
            try "\(process.processIdentifier)\n\(directory)\n".write(toFile: directory + "/postmaster.pid", atomically: false, encoding: .utf8)
            return process.processIdentifier
        }
        var lookup = PostmasterLookup()
        func lookedUp(_ expected: Int32?) -> Bool {
            for _ in 0..<200 {
                if lookup.postmaster(of: directory)?.pid == expected { return true }
                usleep(10_000)
            }
            return false
        }
        let first = try startPostmaster()
        #expect(lookedUp(first))
        #expect(lookup.postmaster(of: directory)?.pid == first)
        // posix_spawn returns after the exec: the new process is recognisable at once.
        let second = try startPostmaster()
        #expect(lookup.postmaster(of: directory)?.pid == second)
        kill(second, SIGKILL)
        started.last?.waitUntilExit()
        #expect(lookup.postmaster(of: directory) == nil)
    }

    @Test func pathsThatDoNotExistAreMadeAbsoluteByName() {
        #expect(FenceSystem.canonicalPath("/no/such/./dir/../data") == "/no/such/data")
        #expect(FenceSystem.lexicallyAbsolute("/a/b/../../..") == "/")
        let cwd = FileManager.default.currentDirectoryPath
        #expect(FenceSystem.lexicallyAbsolute("no-such-dir") == (cwd == "/" ? "" : cwd) + "/no-such-dir")
    }
}
