import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Child process creation with posix_spawn instead of Foundation's `Process`, because on Linux
/// `Process` (a) leaks its exit-detection socket into grandchildren, so it never notices that
/// `pg_ctl` exited while the postmaster it forked lives on, and (b) passes Dispatch's blocked
/// signal mask on to the child. Here the child gets: stdin from /dev/null, stdout/stderr into
/// files, no other inherited descriptors (the postmaster must not keep staz's sockets open), an
/// empty signal mask, default signal dispositions, and its own process group (so a timeout can
/// kill the whole group).
enum Spawn {
    struct Failure: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    /// Where a child's stdout and stderr go.
    enum Output {
        /// Two files, created or truncated.
        case files(stdout: String, stderr: String)
        /// Both onto our own stderr (the fencing guard logs into staz's log).
        case ourStderr
    }

    static func start(path: String, arguments: [String], environment: [String: String],
                      stdoutPath: String, stderrPath: String) throws -> pid_t {
        try start(path: path, arguments: arguments, environment: environment,
                  output: .files(stdout: stdoutPath, stderr: stderrPath))
    }

    /// `stdin`: a descriptor that becomes the child's stdin (e.g. the read end of a pipe);
    /// nil gives it /dev/null.
    static func start(path: String, arguments: [String], environment: [String: String],
                      output: Output, stdin: Int32? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin {
            posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        switch output {
        case .files(let stdoutPath, let stderrPath):
            posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        case .ourStderr:
            posix_spawn_file_actions_adddup2(&actions, 2, 1)
        }
        closeInheritedDescriptors(&actions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = ([path] + arguments).map { strdup($0) }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") }
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = (argv + [nil]).withUnsafeBufferPointer { argvBuffer in
            (envp + [nil]).withUnsafeBufferPointer { envpBuffer in
                posix_spawn(&pid, path, &actions, &attributes, argvBuffer.baseAddress!, envpBuffer.baseAddress!)
            }
        }
        guard rc == 0 else { throw Failure(reason: String(cString: strerror(rc))) }
        return pid
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    /// glibc ≥ 2.34 has `posix_spawn_file_actions_addclosefrom_np` (not exported to Swift, so it
    /// is looked up at run time); otherwise every currently open descriptor ≥ 3 is closed.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            let closeFrom = unsafeBitCast(symbol, to: CloseFrom.self)
            if closeFrom(&actions, 3) == 0 { return }
        }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) } ?? []
        for fd in open where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
    }
}
