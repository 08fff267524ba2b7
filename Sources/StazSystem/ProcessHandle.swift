#if canImport(Glibc)
import Glibc
#endif

/// A Linux pidfd: whether a process has exited (a zombie included) with one `poll`, where
/// `ProcessState.isAlive` needs a `kill` and a read of /proc/PID/stat. The health checks ask
/// about the postmaster on every load-balancer probe.
public final class ProcessHandle: Sendable {
    public let pid: Int32
    /// The pidfd, readable once the process has exited; valid while this handle lives.
    public let fd: Int32

    private init(pid: Int32, fd: Int32) { self.pid = pid; self.fd = fd }

    deinit { close(fd) }

    /// nil when the kernel or C library has no `pidfd_open` (before Linux 5.3, glibc 2.36) or
    /// no process has this pid. A pid that is already a zombie opens, and reads as exited.
    public static func open(_ pid: Int32) -> ProcessHandle? {
        guard pid > 0, let pidfdOpen = Self.pidfdOpen else { return nil }
        let fd = pidfdOpen(pid, 0)
        guard fd >= 0 else { return nil }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return ProcessHandle(pid: pid, fd: fd)
    }

    /// The process has terminated (readable pidfd), whether or not its parent reaped it.
    public var hasExited: Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&entry, 1, 0)
            if ready < 0 && errno == EINTR { continue }
            // A failed poll says nothing: report running, as `kill(pid, 0)` would.
            return ready > 0 && entry.revents & Int16(POLLIN) != 0
        }
    }

    private typealias PidfdOpen = @convention(c) (Int32, UInt32) -> Int32
    private static let pidfdOpen: PidfdOpen? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pidfd_open")
        .map { unsafeBitCast($0, to: PidfdOpen.self) }
}
