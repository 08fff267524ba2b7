import Foundation

/// `<log.dir>/patroni.log`, rotated the way Patroni's Python `RotatingFileHandler` does: when a
/// line would bring a non-empty file to `maxBytes`, `patroni.log.N-1` becomes `.N` ... and
/// `patroni.log` becomes `.1`, keeping `backupCount` old files; either being 0 never rotates.
///
/// A file that cannot be opened or written (a full disk, lost permissions) must not cost the
/// daemon its log: the failure is reported once on stderr, lines go to stderr, and the file is
/// tried again after `retryInterval`. Writes come from the single writer thread; the lock
/// keeps rotation safe should any other caller ever write.
final class RotatingLogFile: LogDestination, @unchecked Sendable {
    let path: String
    private let maxBytes: Int
    private let backupCount: Int
    /// nil: files are created 0666 less the umask, Patroni's default.
    private let mode: mode_t?
    private let fallback: LogDestination
    /// Renders a line of staz's own about the log file, at ERROR or INFO.
    private let notice: (_ error: Bool, _ message: String) -> String
    private let retryInterval: Duration
    private let lock = NSLock()
    private var descriptor: Int32 = -1
    private var failedAt: ContinuousClock.Instant?

    init(path: String, maxBytes: Int, backupCount: Int, mode: Int?, fallback: LogDestination,
         retryInterval: Duration = .seconds(30), notice: @escaping (_ error: Bool, _ message: String) -> String) {
        self.path = path
        self.maxBytes = maxBytes
        self.backupCount = backupCount
        self.mode = mode.map { mode_t($0) }
        self.fallback = fallback
        self.retryInterval = retryInterval
        self.notice = notice
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    func write(_ line: String) {
        lock.lock()
        defer { lock.unlock() }
        if descriptor < 0 {
            if let failedAt, ContinuousClock.now - failedAt < retryInterval {
                fallback.write(line); return
            }
            if let problem = open() { return failed(problem, line) }
        }
        // The failure is over only once a line is in the file; until then it is one episode,
        // reported once.
        let text = failedAt == nil ? line : notice(false, "writing the log file \(path) again; earlier lines went to stderr") + line
        let bytes = Array(text.utf8)
        if shouldRollover(adding: bytes.count), let problem = rollover() { return failed(problem, line) }
        if let error = writeFully(descriptor, bytes) {
            close(descriptor); descriptor = -1
            return failed(String(cString: strerror(error)), line)
        }
        failedAt = nil
    }

    private func failed(_ problem: String, _ line: String) {
        if failedAt == nil {
            fallback.write(notice(true, "cannot write the log file \(path): \(problem); writing to stderr until it can be written again"))
        }
        failedAt = ContinuousClock.now
        fallback.write(line)
    }

    /// Opens (creating the directory and file as needed) for appending; a problem, or nil.
    private func open() -> String? {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                        attributes: mode.map { [.posixPermissions: Int(RotatingLogFile.directoryMode($0))] })
            } catch {
                return "cannot create \(directory): \(error.localizedDescription)"
            }
        }
        let opened = Foundation.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode ?? 0o666)
        guard opened >= 0 else { return String(cString: strerror(errno)) }
        // Like Patroni, which chmods after every open: a changed log.mode applies to the file
        // already there. Not being its owner only leaves the old permissions.
        if let mode { _ = fchmod(opened, mode) }
        descriptor = opened
        return nil
    }

    /// Python's `shouldRollover`: never an empty file, never anything but a regular file.
    private func shouldRollover(adding count: Int) -> Bool {
        guard maxBytes > 0 && backupCount > 0 else { return false }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_size > 0 else { return false }
        return Int(status.st_size) + count >= maxBytes
    }

    /// Python's `doRollover`: shift the numbered files up by one, the current file becomes `.1`.
    private func rollover() -> String? {
        close(descriptor); descriptor = -1
        for index in stride(from: backupCount - 1, through: 1, by: -1) {
            let source = "\(path).\(index)"
            if FileManager.default.fileExists(atPath: source) { _ = rename(source, "\(path).\(index + 1)") }
        }
        if rename(path, path + ".1") != 0 && errno != ENOENT { return "cannot rotate: \(String(cString: strerror(errno)))" }
        return open()
    }

    /// The directory gets search permission wherever the files are readable (0640 → 0750).
    static func directoryMode(_ fileMode: mode_t) -> mode_t {
        fileMode | ((fileMode & 0o444) >> 2) | 0o700
    }
}
