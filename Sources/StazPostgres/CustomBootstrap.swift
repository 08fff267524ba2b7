import Foundation
import StazCore

/// Patroni's custom bootstrap (`bootstrap.method: NAME` with `bootstrap.NAME.command`), as
/// `patroni/postgresql/bootstrap.py` `_custom_bootstrap` runs it: the command restores a data
/// directory (from a backup, a clone, ...); PostgreSQL then starts, finishes recovery and the
/// member publishes the new cluster only once it runs as a primary.
public enum CustomBootstrap {
    static let reserved: Set<String> = ["command", "no_params", "keep_existing_recovery_conf", "recovery_conf", "scope", "datadir"]

    /// The command split like `shlex.split`, `--scope` and `--datadir` unless `no_params`, then
    /// every other setting as `--key=value` in the order written.
    public static func commandLine(_ settings: JSONObject, scope: String, dataDirectory: String) -> [String] {
        let command = settings["command"]?.stringValue ?? ""
        var words = ShellWords.split(command)
        if !ReplicaMethods.pythonTruth(settings["no_params"]) { words += ["--scope=\(scope)", "--datadir=\(dataDirectory)"] }
        words += settings.pairs.filter { !reserved.contains($0.0) }.map { "--\($0.0)=\(ReplicaMethods.pythonText($0.1))" }
        return words
    }

    /// How the restored data directory recovers on its first start.
    public static func recovery(_ settings: JSONObject) -> BootstrapRecovery? {
        if let conf = settings["recovery_conf"]?.objectValue {
            let standby = conf["standby_mode"].flatMap(\.boolValue) ?? false
            let parameters = conf.pairs.filter { $0.0 != "standby_mode" }.compactMap { name, value in
                ConfigRendering.parameterText(value).map { (name, $0) }
            }
            return .parameters(parameters, standby: standby)
        }
        return ReplicaMethods.pythonTruth(settings["keep_existing_recovery_conf"]) ? .keepExisting : nil
    }
}

/// The recovery a bootstrapped data directory runs on its first start, until it is a primary.
public enum BootstrapRecovery: Sendable, Equatable {
    /// `recovery_conf`: these settings in postgresql.conf, with recovery.signal (standby.signal
    /// when `standby_mode` is on).
    case parameters([(String, String)], standby: Bool)
    /// `keep_existing_recovery_conf`: the signal files and postgresql.auto.conf settings the
    /// restore wrote (pgBackRest's, Barman's) stay as they are.
    case keepExisting

    public static func == (a: BootstrapRecovery, b: BootstrapRecovery) -> Bool {
        switch (a, b) {
        case (.keepExisting, .keepExisting): return true
        case let (.parameters(x, s), .parameters(y, t)): return s == t && x.elementsEqual(y, by: ==)
        default: return false
        }
    }
}

extension PostgresController {
    /// Runs the custom bootstrap command into an empty data directory. Afterwards nothing of the
    /// node the data came from stays in charge: its slot ownership record and a `promote` trigger
    /// file go (Patroni's `_post_restore`).
    public func runCustomBootstrap(_ settings: JSONObject) async throws {
        guard !isRunning() else { throw PostgresControlError.alreadyRunning(pid: postmasterPID() ?? 0) }
        let words = CustomBootstrap.commandLine(settings, scope: scope, dataDirectory: dataDirectory)
        guard let executable = words.first else { throw PostgresControlError.startFailed("the bootstrap method has no command") }
        logger.info("Running custom bootstrap script: \(settings["command"]?.stringValue ?? "")")
        try await ProcessRunner.runChecked(executable, Array(words.dropFirst()), environment: ProcessRunner.environment(), logger: logger)
        guard FileManager.default.fileExists(atPath: dataPath("PG_VERSION")) else {
            throw PostgresControlError.invalidDataDirectory("the custom bootstrap script exited 0 but left no PG_VERSION in \(dataDirectory)")
        }
        unlink(dataPath(SlotOwnership.fileName))
        unlink(dataPath("promote"))
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: dataDirectory)
        bootstrapRecovery = CustomBootstrap.recovery(settings)
    }

    /// The bootstrap's recovery is over (PostgreSQL runs as a primary): later configuration
    /// writes strip recovery settings and signal files again.
    public func endBootstrapRecovery() { bootstrapRecovery = nil }
}
