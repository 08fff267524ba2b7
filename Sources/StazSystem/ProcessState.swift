#if canImport(Glibc)
import Glibc
#endif

/// Whether a process runs, as opposed to not existing or being a zombie nobody reaped yet
/// (`kill(pid, 0)` succeeds on a zombie: a postmaster that died under a parent that does not
/// reap still answers it).
public enum ProcessState {
    public static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        return !(ProcFS.stat(of: pid)?.hasExited ?? false)
    }
}
