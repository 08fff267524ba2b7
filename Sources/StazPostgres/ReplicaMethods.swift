import Foundation
import StazConcurrency
import StazCore

/// Patroni's custom replica creation methods (`postgresql.create_replica_methods`, each with its
/// settings under `postgresql.<method>`), as `patroni/postgresql/bootstrap.py` `create_replica`
/// runs them: in order, the first that exits 0 wins; without a member to copy from only the
/// methods marked `no_leader` are tried.
public enum ReplicaMethods {
    public static let basebackup = "basebackup"

    /// Patroni's `replica_method_can_work_without_replication_connection`.
    public static func worksWithoutLeader(_ method: String, settings: [String: JSONObject]) -> Bool {
        method != basebackup && pythonTruth(settings[method]?["no_leader"])
    }

    /// The methods to try, in order.
    public static func toTry(_ methods: [String], settings: [String: JSONObject], hasSource: Bool) -> [String] {
        let listed = methods.isEmpty ? [basebackup] : methods
        return hasSource ? listed : listed.filter { worksWithoutLeader($0, settings: settings) }
    }

    public static func keepsData(_ method: String, settings: [String: JSONObject]) -> Bool {
        pythonTruth(settings[method]?["keep_data"])
    }

    /// The command line: `command` (the method's name when absent) split like `shlex.split`, then
    /// `--key=value` for every other setting in the order written, then `--scope`, `--role`,
    /// `--datadir` and `--connstring` unless `no_params` (which also drops `no_leader` and
    /// `keep_data`).
    public static func commandLine(_ method: String, settings: JSONObject?, scope: String, dataDirectory: String,
                                   connstring: String) -> [String] {
        var options: [(String, JSONValue)] = settings?.pairs.filter { $0.0 != "command" } ?? []
        let command = settings?["command"].flatMap(\.stringValue) ?? method
        if pythonTruth(settings?["no_params"]) {
            options.removeAll { ["no_params", "no_leader", "keep_data"].contains($0.0) }
        } else {
            options += [("scope", .string(scope)), ("role", .string("replica")), ("datadir", .string(dataDirectory)),
                        ("connstring", .string(connstring))]
        }
        return ShellWords.split(command) + options.map { "--\($0.0)=\(pythonText($0.1))" }
    }

    /// Python's `bool(value)`: false for null, false, 0 and empty text or collections.
    static func pythonTruth(_ value: JSONValue?) -> Bool {
        switch value {
        case nil, .null?: return false
        case .bool(let b)?: return b
        case .int(let i)?: return i != 0
        case .double(let d)?: return d != 0
        case .string(let s)?: return !s.isEmpty
        case .array(let a)?: return !a.isEmpty
        case .object(let o)?: return !o.isEmpty
        }
    }

    /// Python's `str(value)` for a YAML scalar, as `"--{0}={1}".format(...)` renders it.
    static func pythonText(_ value: JSONValue) -> String {
        switch value {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .string(let s): return s
        default: return value.compactString
        }
    }
}

extension PostgresController {
    /// Runs the custom replica method `method` (not `basebackup`) with Patroni's arguments;
    /// `upstream` nil: no member to copy from (a `no_leader` method restoring from a backup).
    /// The data directory goes first, as Patroni's `remove_data_directory` does it (tools like
    /// `cp -r` or Python's `copytree` want to create it), unless the method says `keep_data`.
    public func createReplica(using method: String, upstream: UpstreamTarget?) async throws {
        guard !isRunning() else { throw PostgresControlError.alreadyRunning(pid: postmasterPID() ?? 0) }
        let settings = section.replicaMethodSettings
        if ReplicaMethods.keepsData(method, settings: settings) {
            logger.info("Leaving data directory uncleaned")
            // A new member has none yet; tools restoring "in place" (pgBackRest) want one.
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } else {
            try await removeDataDirectory()
        }
        var environment = ProcessRunner.environment()
        var connstring = ""
        if let upstream {
            try await writePgpass(extra: [pgpassEntry(upstream, credentials: section.replication)])
            environment["PGPASSFILE"] = section.pgpass
            connstring = toolDSN(upstream, credentials: section.replication)
        }
        let words = ReplicaMethods.commandLine(method, settings: settings[method], scope: scope, dataDirectory: dataDirectory,
                                               connstring: connstring)
        guard let executable = words.first else { throw PostgresControlError.startFailed("replica method \(method) has no command") }
        logger.info("creating replica using \(method): \(words.joined(separator: " "))")
        try await ProcessRunner.runChecked(executable, Array(words.dropFirst()), environment: environment, logger: logger)
        guard FileManager.default.fileExists(atPath: dataPath("PG_VERSION")) else {
            throw PostgresControlError.invalidDataDirectory("replica method \(method) exited 0 but left no PG_VERSION in \(dataDirectory)")
        }
        // A copy's ownership record belongs to the node it was taken from, not to us.
        unlink(dataPath(SlotOwnership.fileName))
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: dataDirectory)
    }

    /// The data directory itself removed (its contents only, when its parent is not ours).
    nonisolated func removeDataDirectory() async throws {
        try await BlockingCalls.perform {
            let fm = FileManager.default
            guard (try? fm.attributesOfItem(atPath: self.dataDirectory)) != nil else { return }
            do { try fm.removeItem(atPath: self.dataDirectory) } catch { try self.wipeDataDirectoryNow() }
        }
    }
}
