#if canImport(Glibc)
import Glibc
#endif

/// Facts about other processes from Linux's /proc, with plain system calls (the fencing guard
/// links no Foundation, so that it stays a small process).
public enum ProcFS {
    /// Every process id /proc lists.
    public static func allPIDs() -> [Int32] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var pids: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let pid = Int32(name) { pids.append(pid) }
        }
        return pids
    }

    /// Where the symbolic link `path` points (e.g. /proc/PID/cwd), or nil.
    public static func linkTarget(_ path: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.withUnsafeMutableBytes { readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count - 1) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// The working directory of `pid`; readable for processes of our own user.
    public static func workingDirectory(of pid: Int32) -> String? { linkTarget("/proc/\(pid)/cwd") }

    /// The arguments `pid` was started with (argv, from /proc/PID/cmdline), or nil.
    public static func commandLine(of pid: Int32) -> [String]? {
        guard let raw = SmallFile.readWhole("/proc/\(pid)/cmdline") else { return nil }
        return raw.split(separator: "\0").map(String.init)
    }

    /// /proc/PID/stat: state, parent and start time.
    public static func stat(of pid: Int32) -> ProcStat? {
        SmallFile.read("/proc/\(pid)/stat", limit: 1024).flatMap(ProcStat.parse)
    }

    /// Direct children of `pid`.
    public static func children(of pid: Int32) -> [Int32] {
        allPIDs().filter { stat(of: $0)?.parentPID == pid }
    }

    /// The command name of `pid` (/proc/PID/comm), or nil.
    public static func commandName(of pid: Int32) -> String? {
        SmallFile.read("/proc/\(pid)/comm", limit: 64)
    }

    /// Whether `pid` is named like a PostgreSQL process. Guards against a stale postmaster.pid
    /// whose number now belongs to another program (after a crash and reboot). Without /proc we
    /// cannot tell and trust the pid.
    public static func looksLikePostgres(_ pid: Int32) -> Bool {
        commandName(of: pid).map(isPostgresName) ?? true
    }

    /// Running processes named like PostgreSQL's.
    public static func postgresProcesses() -> [Int32] {
        allPIDs().filter { pid in commandName(of: pid).map(isPostgresName) == true && ProcessState.isAlive(pid) }
    }

    private static func isPostgresName(_ name: String) -> Bool {
        name.hasPrefix("postgres") || name.hasPrefix("postmaster")
    }
}
