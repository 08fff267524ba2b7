import Foundation
import Logging
import PostgresNIO
import StazConcurrency
import StazConfig
import StazCore
import StazSystem

public enum PostgresControlError: Error, CustomStringConvertible {
    case notRunning
    case alreadyRunning(pid: Int32)
    case startFailed(String)
    case stopFailed(String)
    case timedOut(String)
    case invalidDataDirectory(String)
    case queryFailed(String)
    case rewindImpossible(String)

    public var description: String {
        switch self {
        case .notRunning: return "PostgreSQL is not running"
        case .alreadyRunning(let pid): return "PostgreSQL is already running (postmaster pid \(pid))"
        case .startFailed(let s): return "PostgreSQL start failed: \(s)"
        case .stopFailed(let s): return "PostgreSQL stop failed: \(s)"
        case .timedOut(let s): return "timed out: \(s)"
        case .invalidDataDirectory(let s): return "invalid data directory: \(s)"
        case .queryFailed(let s): return "query failed: \(s)"
        case .rewindImpossible(let s): return "pg_rewind impossible: \(s)"
        }
    }
}

/// Observes and acts on the local PostgreSQL. It decides nothing: StazHA decides, the daemon
/// calls these methods. Assumes the current OS user owns the data directory.
public actor PostgresController {
    public let section: PostgreSQLSection
    public let scope: String
    public let memberName: String
    let logger: Logger

    /// Persistent connections, one per user (the HA loop's state query, the REST API's
    /// `/patroni`); each dropped and rebuilt on any failure.
    var connections: [LocalConnectionUser: PostgresConnection] = [:]
    var nextConnectionID = 1
    /// The pgpass line `primary_conninfo` relies on; kept in every pgpass rewrite so a rewind or
    /// basebackup does not break the walreceiver's next reconnect.
    var replicationPgpassEntry: PgpassEntry?
    /// Unknown slots already reported, so the log line appears once per slot.
    var reportedUnknownSlots = Set<String>()
    /// A custom bootstrap's recovery, in force until the new cluster runs as a primary.
    var bootstrapRecovery: BootstrapRecovery?
    /// The postmaster `postmasterPID` last checked in /proc: while it runs, one `poll` replaces
    /// two reads of /proc every cycle.
    let checkedPostmaster = ConfirmedProcess()

    public init(section: PostgreSQLSection, scope: String, memberName: String, logger: Logger) {
        self.section = section; self.scope = scope; self.memberName = memberName; self.logger = logger
    }

    // MARK: paths

    public nonisolated var dataDirectory: String { section.dataDir }
    nonisolated var configDirectory: String { section.effectiveConfigDir }
    nonisolated func dataPath(_ name: String) -> String { Self.path(section.dataDir, name) }
    nonisolated func configPath(_ name: String) -> String { (configDirectory as NSString).appendingPathComponent(name) }
    nonisolated func binary(_ name: String) -> String {
        if section.binDir == nil || section.binDir?.isEmpty == true, section.binNames[name] == nil {
            // Fall back to the Debian layout when PATH has no PostgreSQL tools.
            if (try? ProcessRunner.resolve(name)) == nil {
                for version in [17, 16, 15, 14, 13] {
                    let candidate = "/usr/lib/postgresql/\(version)/bin/\(name)"
                    if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
                }
            }
        }
        return section.binary(name)
    }

    /// Major version from `PG_VERSION` (e.g. 15); nil when the data directory is not initialised.
    public nonisolated func dataDirectoryMajorVersion() -> Int? {
        guard let text = try? String(contentsOfFile: dataPath("PG_VERSION"), encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").first ?? "")
    }

    // MARK: data directory

    /// `directory/name`, as `NSString.appendingPathComponent` joins them (trailing slashes of
    /// `directory` dropped) without the bridge to NSString: the HA loop joins paths every cycle.
    static func path(_ directory: String, _ name: String) -> String {
        var directory = Substring(directory)
        while directory.count > 1, directory.hasSuffix("/") { directory = directory.dropLast() }
        if directory.isEmpty { return name }
        if name.isEmpty { return String(directory) }
        return directory == "/" ? "/" + name : directory + "/" + name
    }

    /// Missing, empty (hidden files and lost+found ignored), or without PG_VERSION/global/pg_control.
    public nonisolated func isDataDirectoryEmpty() -> Bool {
        !SmallFile.exists(dataPath("PG_VERSION")) || !SmallFile.exists(dataPath("global/pg_control"))
    }

    /// Removes everything inside the data directory (the directory itself stays, mode 0700, since
    /// its parent may not be writable by us); creates it when missing. Off the event loops:
    /// a large data directory takes seconds to remove.
    public nonisolated func wipeDataDirectory() async throws {
        try await BlockingCalls.perform { try self.wipeDataDirectoryNow() }
    }

    nonisolated func wipeDataDirectoryNow() throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: dataDirectory, isDirectory: &isDir) {
            guard isDir.boolValue else { throw PostgresControlError.invalidDataDirectory("\(dataDirectory) is not a directory") }
            for entry in try fm.contentsOfDirectory(atPath: dataDirectory) {
                try fm.removeItem(atPath: dataPath(entry))
            }
        } else {
            try fm.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        }
        try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: dataDirectory)
    }

    // MARK: pg_controldata

    public func controlData() async -> ControlData? {
        guard !isDataDirectoryEmpty() else { return nil }
        guard let result = try? await ProcessRunner.run(binary("pg_controldata"), ["-D", dataDirectory], timeout: 10),
              result.succeeded else { return nil }
        let data = ControlData.parse(result.stdout)
        return data.fields.isEmpty ? nil : data
    }

    public func systemIdentifier() async -> String? { await controlData()?.systemIdentifier }

    // MARK: postmaster

    /// Postmaster pid from `postmaster.pid` when that process is alive.
    public nonisolated func postmasterPID() -> Int32? {
        guard let text = SmallFile.read(dataPath("postmaster.pid")),
              let first = text.split(separator: "\n").first, let pid = Int32(first) ?? Int32(first.trimmingCharacters(in: .whitespaces)),
              pid > 0 else { return nil }
        let running = checkedPostmaster.isRunning(pid) { ProcessState.isAlive($0) && ProcFS.looksLikePostgres($0) }
        return running ? pid : nil
    }

    /// Line 8 of postmaster.pid: `starting`, `ready`, `standby` or `stopping` (PG 10+).
    nonisolated func postmasterStatus() -> String? {
        guard let text = SmallFile.read(dataPath("postmaster.pid")) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 8 else { return nil }
        return lines[7].trimmingCharacters(in: .whitespaces)
    }

    public nonisolated func isRunning() -> Bool { postmasterPID() != nil }

    /// A postmaster still running in this data directory after `postmaster.pid` (or the whole
    /// directory) was deleted under it. PostgreSQL notices a missing lock file only once a
    /// minute, and until then it holds the port, so a clone into the same place cannot start.
    /// Found by the process's working directory, which the postmaster sets to its data directory.
    nonisolated func orphanedPostmasterPID() -> Int32? {
        let absolute = dataDirectory.hasPrefix("/") ? dataDirectory
            : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(dataDirectory)
        let url = URL(fileURLWithPath: absolute).standardizedFileURL
        let wanted = url.deletingLastPathComponent().resolvingSymlinksInPath().appendingPathComponent(url.lastPathComponent).path
        return ProcFS.postgresProcesses().first { pid in
            guard let cwd = ProcFS.workingDirectory(of: pid) else { return false }
            let directory = cwd.hasSuffix(" (deleted)") ? String(cwd.dropLast(" (deleted)".count)) : cwd
            guard directory == wanted, let parent = ProcFS.stat(of: pid)?.parentPID else { return false }
            // The postmaster is the one whose parent is not a postgres of the same directory.
            return ProcFS.workingDirectory(of: parent).map { $0 != cwd } ?? true
        }
    }
}

