import Synchronization

/// A process confirmed once by a slow check (/proc: alive, the right program), then followed
/// by its pidfd: while the pidfd names that pid and the process runs, one `poll` answers.
///
/// The pidfd is opened only after the check said yes, so it never belongs to a process that
/// reused the pid before it was opened. Once that process exits the pidfd is dropped and the
/// next question runs the check again, so a new process under the same pid is seen too.
public final class ConfirmedProcess: Sendable {
    private let handle = Mutex<ProcessHandle?>(nil)

    public init() {}

    /// Whether `pid` runs: the pidfd's answer while it follows `pid`, else `confirm(pid)`.
    public func isRunning(_ pid: Int32, confirm: (Int32) -> Bool) -> Bool {
        handle.withLock { handle in
            if let followed = handle, followed.pid == pid, !followed.hasExited { return true }
            handle = nil
            guard confirm(pid) else { return false }
            handle = ProcessHandle.open(pid)
            return true
        }
    }
}
