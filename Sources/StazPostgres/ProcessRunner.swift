import Foundation
import Logging

/// The result of one finished child process.
public struct ProcessResult: Sendable {
    public var exitCode: Int32
    public var stdout: String
    public var stderr: String
    /// True when staz killed the process because it ran past its timeout.
    public var timedOut: Bool
    public var succeeded: Bool { exitCode == 0 && !timedOut }
}

public enum ProcessRunnerError: Error, CustomStringConvertible {
    case launchFailed(executable: String, reason: String)
    case failed(command: String, result: ProcessResult)

    public var description: String {
        switch self {
        case .launchFailed(let exe, let reason): return "could not start \(exe): \(reason)"
        case .failed(let cmd, let r):
            let why = r.timedOut ? "timed out" : "exited with code \(r.exitCode)"
            let detail = (r.stderr.isEmpty ? r.stdout : r.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
            return "\(cmd) \(why)" + (detail.isEmpty ? "" : ": \(detail)")
        }
    }
}

/// Runs external commands without blocking a thread (`Spawn` starts them, `ChildExit` waits
/// for their exit). Output goes to temporary files instead of pipes so a chatty child can never
/// deadlock on a full pipe buffer, and a detached grandchild (the postmaster started by
/// `pg_ctl`) can never hold our read end open.
public enum ProcessRunner {
    /// Environment for PostgreSQL tools: the inherited one minus staz/Patroni settings (they may
    /// hold passwords), with the C locale so tool output parses the same everywhere.
    /// `cLocale: false` keeps the user's locale (initdb and the postmaster take defaults from it).
    public static func environment(adding extra: [String: String] = [:], cLocale: Bool = true) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("STAZ_") && !$0.key.hasPrefix("PATRONI_") && !$0.key.hasPrefix("KUBERNETES_")
        }
        if cLocale {
            env["LANG"] = "C"
            env["LC_ALL"] = "C"
        }
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// Runs `executable` with `arguments`; the process is killed (SIGTERM, then SIGKILL 2 s later)
    /// when `timeout` seconds pass. `executable` without a slash is searched in PATH.
    ///
    /// Spawned with `posix_spawn` and every descriptor above stderr closed in the child, then
    /// reaped once its pidfd turns readable (`ChildExit`): Foundation's `Process` never
    /// reported the exit of `pg_ctl start` because the detached postmaster inherited its
    /// monitoring descriptor, and an inherited REST/etcd socket would outlive staz in the
    /// postmaster. No thread ever blocks waiting for a child.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           timeout: Double? = nil, logger: Logger? = nil) async throws -> ProcessResult {
        try await run(executable, arguments, environment: environment, timeout: timeout, logger: logger, started: { _ in })
    }

    /// Like `run`, but a non-zero exit (or timeout) throws `ProcessRunnerError.failed`.
    @discardableResult
    public static func runChecked(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                                  timeout: Double? = nil, logger: Logger? = nil) async throws -> ProcessResult {
        let result = try await run(executable, arguments, environment: environment, timeout: timeout, logger: logger)
        guard result.succeeded else {
            throw ProcessRunnerError.failed(command: (executable as NSString).lastPathComponent, result: result)
        }
        return result
    }

    static func resolve(_ executable: String) throws -> String {
        if executable.contains("/") { return executable }
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in searchPath.split(separator: ":") {
            let candidate = "\(dir)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ProcessRunnerError.launchFailed(executable: executable, reason: "not found in PATH")
    }

    static func temporaryFile(suffix: String) -> URL {
        URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("staz-\(UUID().uuidString).\(suffix)")
    }
}
