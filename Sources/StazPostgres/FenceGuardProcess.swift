import Foundation
#if canImport(Glibc)
import Glibc
#endif
import StazFence

/// staz's end of one fencing guard process (FenceGuard.swift): spawned with posix_spawn (see
/// `Spawn`) with the read end of a pipe as its stdin; we keep the write end. Not thread-safe:
/// the daemon's `FenceGuardFeeder` serialises every use.
public final class FenceGuardProcess: @unchecked Sendable {
    public let pid: pid_t
    private var writeEnd: Int32
    private let exited = ExitFlag()

    private init(pid: pid_t, writeEnd: Int32) {
        self.pid = pid
        self.writeEnd = writeEnd
    }

    /// Starts the guard of `dataDirectory` (`staz-fence-guard`, next to `stazExecutable`; see
    /// FenceGuardCommandLine), logging into our stderr, in a process group of its own so a
    /// signal to staz's group does not reach it.
    public static func spawn(stazExecutable: String, dataDirectory: String) throws -> FenceGuardProcess {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else {
            throw Spawn.Failure(reason: "pipe: \(String(cString: strerror(errno)))")
        }
        let (readEnd, writeEnd) = (ends[0], ends[1])
        // Neither end may leak into other children (the postmaster must never hold it open).
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        defer { close(readEnd) }
        // A guard that stops reading must never block staz: a full pipe drops the message,
        // which only makes the guard fence earlier (at its last deadline).
        _ = fcntl(writeEnd, F_SETFL, fcntl(writeEnd, F_GETFL) | O_NONBLOCK)
        // Writing after the guard exited must be an error (EPIPE), not a fatal signal.
        signal(SIGPIPE, SIG_IGN)
        let pid: pid_t
        do {
            let command = FenceGuardCommandLine.command(stazExecutable: stazExecutable, dataDirectory: dataDirectory)
            pid = try Spawn.start(path: command.path, arguments: command.arguments,
                                  environment: ProcessRunner.environment(), output: .ourStderr, stdin: readEnd)
        } catch {
            close(writeEnd)
            throw error
        }
        let process = FenceGuardProcess(pid: pid, writeEnd: writeEnd)
        let flag = process.exited
        // The guard lives as long as we lead: its exit is awaited through its pidfd, which
        // costs nothing while it runs (polling woke the daemon 10 times a second).
        Task {
            _ = await ChildExit.wait(for: pid)
            flag.set()
        }
        return process
    }

    /// Whether the process has exited (reaped).
    public var hasExited: Bool { exited.isSet }

    /// Writes one message; false when the guard is gone or not reading.
    @discardableResult
    public func send(_ message: FenceGuardMessage) -> Bool {
        guard writeEnd >= 0 else { return false }
        let bytes = Array(message.line.utf8)
        let written = bytes.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
        return written == bytes.count
    }

    /// Closes our end: the guard sees staz gone (and fences at its deadline if armed).
    public func closePipe() {
        if writeEnd >= 0 { close(writeEnd); writeEnd = -1 }
    }

    deinit { closePipe() }
}

private final class ExitFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}
