import Dispatch
import StazCore
import StazSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Waits for a child's exit without blocking a thread and without polling.
///
/// Linux (5.3 and later) gives a process descriptor, a pidfd, that turns readable when the
/// process exits; libdispatch watches it with epoll like a socket, and the waiting task resumes
/// as soon as the child is a zombie. Polling `waitpid(WNOHANG)` with growing sleeps, as staz did
/// before, noticed a child up to 100 ms late: after every `pg_basebackup`, `pg_ctl` and
/// `pg_controldata` of a clone, a start or a switchover. Where there is no pidfd (an older
/// kernel, a seccomp filter that refuses it, not Linux), the wait falls back to that polling.
enum ChildExit {
    /// How the exits of children are noticed on this machine.
    enum Notification: Equatable, Sendable {
        case processDescriptor
        case polling
    }

    static var notification: Notification { ProcessHandle.open(getpid()) != nil ? .processDescriptor : .polling }

    /// Reaps `pid`, a child of this process, and returns its exit code (128 + the signal's
    /// number when a signal killed it; -1 when it cannot be reaped, e.g. someone else did).
    /// Returns only once the child exited: cancellation does not end the wait (a caller that
    /// gives up kills the child first, then still reaps it).
    static func wait(for pid: pid_t) async -> Int32 {
        // Already exited, or not our child (its pidfd would never tell us): no need to watch.
        if let code = reapIfExited(pid) { return code }
        guard let handle = ProcessHandle.open(pid) else { return await poll(pid) }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            let source = DispatchSource.makeReadSource(fileDescriptor: handle.fd, queue: .global())
            // The handler can run again before the cancellation takes effect: resume once.
            let pending = Mutex<CheckedContinuation<Int32, Never>?>(continuation)
            source.setEventHandler {
                guard let code = reapIfExited(pid) else { return }
                source.cancel()
                pending.withLock { $0.take() }?.resume(returning: code)
            }
            // The handle closes the pidfd: only after Dispatch no longer watches it.
            source.setCancelHandler { withExtendedLifetime(handle) {} }
            source.resume()
        }
    }

    /// The exit code once `pid` exited, nil while it runs.
    private static func reapIfExited(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return exitCode(status) }
            if result == 0 { return nil }
            if errno != EINTR { return -1 }
        }
    }

    /// The fallback: `waitpid(WNOHANG)` polled with an async sleep growing from 5 to 100 ms.
    static func poll(_ pid: pid_t) async -> Int32 {
        var delay: UInt64 = 5_000_000
        while true {
            if let code = reapIfExited(pid) { return code }
            try? await Task.sleep(nanoseconds: delay)
            delay = min(delay * 2, 100_000_000)
        }
    }

    private static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
