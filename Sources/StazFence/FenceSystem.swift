#if canImport(Glibc)
import Glibc
#endif
import StazSystem

/// The machine facts the fencing guard works with (Linux /proc and clocks), and the fence
/// itself: SIGKILL for a postmaster and every process below it.
public enum FenceSystem {
    /// CLOCK_BOOTTIME now, in nanoseconds.
    public static func bootNow() -> BootNanoseconds {
        var spec = timespec()
        clock_gettime(CLOCK_BOOTTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    /// The kernel's id of this boot (changes with every reboot).
    public static func bootID() -> String {
        let text = SmallFile.read("/proc/sys/kernel/random/boot_id", limit: 128) ?? "unknown"
        return String(text.filter { !$0.isWhitespace })
    }

    /// `path` made absolute with symlinks resolved (the form /proc/<pid>/cwd shows).
    public static func canonicalPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return lexicallyAbsolute(path) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// A path that does not exist (yet) made absolute, with `.` and `..` resolved by name.
    static func lexicallyAbsolute(_ path: String) -> String {
        var base = ""
        if !path.hasPrefix("/"), let cwd = getcwd(nil, 0) {
            base = String(cString: cwd)
            free(cwd)
        }
        var parts: [Substring] = []
        for part in (base + "/" + path).split(separator: "/") {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The live postmaster of `dataDirectory` (postmaster.pid names a live postgres process
    /// whose working directory is that directory), with its start time.
    public static func postmaster(of dataDirectory: String) -> FenceTarget? {
        guard let text = SmallFile.read(dataDirectory + "/postmaster.pid", limit: 4096),
              let first = text.split(separator: "\n").first,
              let pid = Int32(first.filter { $0 != " " && $0 != "\t" }), pid > 0,
              ProcessState.isAlive(pid), ProcFS.looksLikePostgres(pid),
              let stat = ProcFS.stat(of: pid) else { return nil }
        if let cwd = ProcFS.workingDirectory(of: pid), cwd != canonicalPath(dataDirectory) { return nil }
        return FenceTarget(pid: pid, startTicks: stat.startTicks)
    }

    /// Whether `target` still runs (same pid *and* start time, not a zombie).
    static func isRunning(_ target: FenceTarget) -> Bool {
        guard let stat = ProcFS.stat(of: target.pid) else { return false }
        return stat.startTicks == target.startTicks && !stat.hasExited
    }

    /// Whether `pid` is a fencing guard of `dataDirectory` (its command line says so), so a
    /// recycled pid from a stale state file is never signalled.
    public static func isGuard(pid: Int32, dataDirectory: String) -> Bool {
        guard pid > 0, ProcessState.isAlive(pid), let words = ProcFS.commandLine(of: pid) else { return false }
        return FenceGuardCommandLine.guardedDirectory(words) == dataDirectory
    }

    /// SIGKILL for `postmaster` and all its descendants. The postmaster is stopped first so it
    /// cannot fork while its children are collected (PostgreSQL children run in sessions of
    /// their own, so no process group covers them, and once the postmaster is gone they are
    /// re-parented and no longer recognisable). SIGKILL also ends stopped (frozen) processes:
    /// a primary that was SIGSTOPped and is resumed later cannot answer a single query.
    /// Returns how many processes were killed.
    @discardableResult
    public static func killTree(_ postmaster: Int32) -> Int {
        kill(postmaster, SIGSTOP)
        var doomed: Set<Int32> = [postmaster]
        for _ in 0..<8 {
            let parents = Dictionary(ProcFS.allPIDs().compactMap { pid in ProcFS.stat(of: pid).map { (pid, $0.parentPID) } },
                                     uniquingKeysWith: { first, _ in first })
            let found = descendants(of: postmaster, parents: parents).subtracting(doomed)
            if found.isEmpty { break }
            for pid in found { kill(pid, SIGSTOP) }
            doomed.formUnion(found)
        }
        for pid in doomed { kill(pid, SIGKILL) }
        return doomed.count
    }

    /// Every process below `root` in the parent map `pid -> parent pid`.
    public static func descendants(of root: Int32, parents: [Int32: Int32]) -> Set<Int32> {
        var children: [Int32: [Int32]] = [:]
        for (pid, parent) in parents { children[parent, default: []].append(pid) }
        var found: Set<Int32> = []
        var queue = children[root] ?? []
        while let next = queue.popLast() {
            guard next != root, found.insert(next).inserted else { continue }
            queue += children[next] ?? []
        }
        return found
    }

    /// The path of the running executable.
    public static func ownExecutable() -> String {
        if let path = ProcFS.linkTarget("/proc/self/exe"), !path.hasSuffix(" (deleted)") { return path }
        return CommandLine.arguments[0]
    }
}

/// `FenceSystem.postmaster(of:)` for a caller that asks after every lease renewal: the last
/// answer is kept while postmaster.pid is unchanged (same inode, size and modification time)
/// and that process still runs, which costs a `stat` and a `poll` of its pidfd instead of the
/// full lookup (the file, the process's command line, state and working directory). A changed
/// file or a gone process always gets the full lookup.
public struct PostmasterLookup {
    private struct FileStamp: Equatable {
        var inode: UInt64, size: Int64, modifiedSeconds: Int, modifiedNanoseconds: Int

        init?(_ path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            inode = UInt64(info.st_ino); size = Int64(info.st_size)
            modifiedSeconds = Int(info.st_mtim.tv_sec); modifiedNanoseconds = Int(info.st_mtim.tv_nsec)
        }
    }

    private var last: (stamp: FileStamp, target: FenceTarget)?
    /// Follows the last answer's process through its pidfd once `FenceSystem.isRunning` confirmed it.
    private let followed = ConfirmedProcess()

    public init() {}

    public mutating func postmaster(of dataDirectory: String) -> FenceTarget? {
        // Stamped before the lookup reads the file: a change in between shows next time.
        let stamp = FileStamp(dataDirectory + "/postmaster.pid")
        if let last, let stamp, last.stamp == stamp,
           followed.isRunning(last.target.pid, confirm: { _ in FenceSystem.isRunning(last.target) }) { return last.target }
        let found = FenceSystem.postmaster(of: dataDirectory)
        last = found.flatMap { target in stamp.map { ($0, target) } }
        return found
    }
}
