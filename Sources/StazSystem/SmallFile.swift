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
        contents(path, limit: limit)
    }

    /// The whole file as UTF-8, however long it is (a slot ownership record grows with the
    /// slots it lists); nil when it cannot be opened or read.
    public static func readWhole(_ path: String) -> String? {
        contents(path, limit: nil)
    }

    private static func contents(_ path: String, limit: Int?) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: limit ?? 4096)
        var filled = 0
        while true {
            if filled == buffer.count {
                guard limit == nil else { break }
                buffer.append(contentsOf: repeatElement(0, count: buffer.count))
            }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            filled += count
        }
        return String(decoding: buffer[..<filled], as: UTF8.self)
    }

    /// Whether `path` exists (following symbolic links), with one `access` call.
    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// nil when `path` is a directory this process can open for reading, else what is wrong;
    /// a missing path is `.missing`. Opens it without listing it.
    public static func directoryProblem(_ path: String) -> DirectoryProblem? {
        var info = stat()
        guard stat(path, &info) == 0 else { return errno == ENOENT ? .missing : .unreadable(String(cString: strerror(errno))) }
        guard info.st_mode & S_IFMT == S_IFDIR else { return .notADirectory }
        guard let directory = opendir(path) else { return .unreadable(String(cString: strerror(errno))) }
        closedir(directory)
        return nil
    }

    public enum DirectoryProblem: Equatable, Sendable {
        case missing
        case notADirectory
        case unreadable(String)
    }
}
