#if canImport(Glibc)
import Glibc
#endif

/// Reads small files (/proc entries, postmaster.pid) with plain system calls: the HA loop and
/// the health checks read them several times a second, and Foundation's
/// `String(contentsOfFile:)` costs far more than the read itself.
public enum SmallFile {
    /// The first `limit` bytes as UTF-8 (invalid bytes repaired); nil when it cannot be opened
    /// or read.
    public static func read(_ path: String, limit: Int = 4096) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: limit)
        var filled = 0
        while filled < limit {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, limit - filled) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            filled += count
        }
        return String(decoding: buffer[..<filled], as: UTF8.self)
    }
}
