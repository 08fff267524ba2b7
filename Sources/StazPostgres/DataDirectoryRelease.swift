import Foundation
import StazSystem

/// What is left of a postmaster that was told to stop, as far as starting a new one goes.
public enum PostmasterRemains: Equatable, Sendable {
    /// Still running: nothing may start in its data directory.
    case running
    /// It exited but its parent has not reaped it yet. PostgreSQL's own lock-file check
    /// (`kill(pid, 0)` in `CreateLockFile`) still counts it as "another postmaster", so a start
    /// now fails with `lock file "postmaster.pid" already exists`.
    case unreaped
    /// Gone: a start can take the data directory.
    case gone

    /// Running, exited but unreaped (zombie), or gone, from `kill(pid, 0)` and /proc.
    static func of(_ pid: Int32) -> PostmasterRemains {
        guard kill(pid, 0) == 0 || errno == EPERM else { return .gone }
        return ProcFS.stat(of: pid)?.hasExited == true ? .unreaped : .running
    }

    /// A zombie may stay unreaped for long where PID 1 reaps late (containers, micro-VMs). Its
    /// lock file may then be removed, but only when no other process of the old server is
    /// alive in the data directory: PostgreSQL takes the shared-memory check of a dead
    /// postmaster from that same file, and skipping it beside a live backend would let two
    /// servers write one data directory.
    public static func mayRemoveLockFile(lockFilePID: Int32?, stoppedPID: Int32, remains: PostmasterRemains,
                                         liveProcessesInDataDirectory: Int) -> Bool {
        lockFilePID == stoppedPID && remains == .unreaped && liveProcessesInDataDirectory == 0
    }

    /// Whether a stop should keep waiting for the parent to reap an exited postmaster before
    /// looking at its lock files. A postmaster that shut down cleanly removed them itself
    /// (PostgreSQL unlinks its lock files on exit), so there is nothing for the reaper to
    /// settle: waiting out the grace then only delays a switchover, by 2 s wherever PID 1
    /// reaps late. A crashed one left them behind, and the grace lets its parent go first.
    public static func waitsForReaper(lockFilesNameIt: Bool, graceOver: Bool) -> Bool {
        lockFilesNameIt && !graceOver
    }
}

extension PostgresController {
    /// Waits (polling every 100 ms, at most `timeout` seconds) until the stopped postmaster
    /// `pid` no longer keeps a new server from starting. True once it is gone, or once it is an
    /// unreaped zombie whose lock files are gone: at once when it removed them itself, else
    /// after a grace period for its parent to reap it and then by removing them; false while
    /// it still runs.
    nonisolated func waitUntilReleased(_ pid: Int32, timeout: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        let reapGrace = Date().addingTimeInterval(min(timeout, 2))
        while true {
            switch PostmasterRemains.of(pid) {
            case .gone:
                return true
            case .unreaped where !PostmasterRemains.waitsForReaper(lockFilesNameIt: lockFilesName(pid), graceOver: Date() >= reapGrace):
                if releaseLockFile(ofExited: pid) { return true }
            case .running, .unreaped:
                break
            }
            if Date() >= deadline { return PostmasterRemains.of(pid) == .gone }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
    }

    /// Before a start: a lock file left by a postmaster that died but was not reaped yet would
    /// make the start fail (see `PostmasterRemains.unreaped`); remove it when that is safe.
    nonisolated func releaseLockFileOfUnreapedPostmaster() {
        let candidates = [lockFilePID()].compactMap { $0 } + socketLockFiles().compactMap(Self.pid(inLockFile:))
        for pid in Set(candidates) where PostmasterRemains.of(pid) == .unreaped {
            _ = releaseLockFile(ofExited: pid)
        }
    }

    /// Whether `postmaster.pid` or a socket lock file still names `pid`.
    nonisolated func lockFilesName(_ pid: Int32) -> Bool {
        lockFilePID() == pid || socketLockFiles().contains { Self.pid(inLockFile: $0) == pid }
    }

    /// Removes the lock files naming `pid`, which has exited, if no process of the old server
    /// lives on in the data directory: `postmaster.pid` and the socket lock files
    /// (`.s.PGSQL.<port>.lock`), which PostgreSQL checks the same way. True when the data
    /// directory is free.
    nonisolated func releaseLockFile(ofExited pid: Int32) -> Bool {
        let lockFile = lockFilePID()
        let survivors = processesInDataDirectory().filter { $0 != pid }
        guard lockFile == pid || lockFile == nil else { return true }   // another server's now
        guard survivors.isEmpty else {
            logger.warning("postmaster \(pid) exited but \(survivors.count) of its processes still run in \(dataDirectory): not starting over them")
            return false
        }
        var released = true
        for socketLock in socketLockFiles() where Self.pid(inLockFile: socketLock) == pid {
            logger.warning("postmaster \(pid) exited but is not reaped yet; removing its stale \(socketLock)")
            if unlink(socketLock) != 0 && errno != ENOENT { released = false }
        }
        if lockFile == pid, PostmasterRemains.mayRemoveLockFile(lockFilePID: lockFile, stoppedPID: pid, remains: .unreaped,
                                                                 liveProcessesInDataDirectory: survivors.count) {
            logger.warning("postmaster \(pid) exited but is not reaped yet; removing its stale postmaster.pid so PostgreSQL can start")
            if unlink(dataPath("postmaster.pid")) != 0 && errno != ENOENT { released = false }
        }
        return released
    }

    /// Socket lock files the server may have made: in the directory `postmaster.pid` names, the
    /// configured `unix_socket_directories`, and the usual defaults, for the configured port.
    nonisolated func socketLockFiles() -> [String] {
        let lines = ((try? String(contentsOfFile: dataPath("postmaster.pid"), encoding: .utf8)) ?? "")
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let port = lines.count > 3 ? Int(lines[3].trimmingCharacters(in: .whitespaces)) ?? section.port : section.port
        var directories = lines.count > 4 && !lines[4].isEmpty ? [lines[4]] : []
        if case .string(let configured)? = section.parameters["unix_socket_directories"] {
            directories += configured.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        directories += ["/var/run/postgresql", "/tmp"]
        var seen = Set<String>()
        return directories.filter { !$0.isEmpty && !$0.hasPrefix("@") && seen.insert($0).inserted }
            .map { ($0 as NSString).appendingPathComponent(".s.PGSQL.\(port).lock") }
    }

    /// The pid on the first line of a lock file.
    nonisolated static func pid(inLockFile path: String) -> Int32? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let first = text.split(separator: "\n").first else { return nil }
        return Int32(first.trimmingCharacters(in: .whitespaces))
    }

    /// The pid in `postmaster.pid`, whatever state that process is in.
    nonisolated func lockFilePID() -> Int32? {
        guard let text = try? String(contentsOfFile: dataPath("postmaster.pid"), encoding: .utf8),
              let first = text.split(separator: "\n").first,
              let pid = Int32(first.trimmingCharacters(in: .whitespaces)), pid > 0 else { return nil }
        return pid
    }

    /// Live (not zombie) processes whose working directory is this data directory: the
    /// postmaster sets it there and its children inherit it.
    nonisolated func processesInDataDirectory() -> [Int32] {
        let wanted = URL(fileURLWithPath: dataDirectory).standardizedFileURL.resolvingSymlinksInPath().path
        return ProcFS.allPIDs().filter { pid in
            guard PostmasterRemains.of(pid) == .running,
                  let cwd = ProcFS.workingDirectory(of: pid) else { return false }
            return cwd == wanted
        }
    }
}
