import Foundation

/// Whether a process runs, as opposed to not existing or being a zombie nobody reaped yet
/// (`kill(pid, 0)` succeeds on a zombie: a postmaster that died under a parent that does not
/// reap still answers it).
public enum ProcessState {
    public static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        // Read with plain system calls: health checks ask this several times a second.
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return true }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return true }
        // "pid (comm) S ...": the state follows the last ')' (comm may contain one).
        guard let close = buffer[..<count].lastIndex(of: UInt8(ascii: ")")) else { return true }
        guard let state = buffer[(close + 1)..<count].first(where: { $0 != UInt8(ascii: " ") }) else { return true }
        return state != UInt8(ascii: "Z") && state != UInt8(ascii: "X")
    }
}
