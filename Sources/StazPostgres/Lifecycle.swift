import Foundation
import StazSystem
import StazCore

/// Shutdown modes, mapped to the postmaster's signals.
public enum StopMode: String, Sendable, CaseIterable {
    case smart, fast, immediate

    var signal: Int32 {
        switch self {
        case .smart: return SIGTERM
        case .fast: return SIGINT
        case .immediate: return SIGQUIT
        }
    }
}

/// Single-quotes a word for /bin/sh (pg_ctl passes `-o` through a shell).
func shellQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

extension PostgresController {
    // MARK: initdb

    /// `initdb --pgdata=<data> <arguments> --username=<superuser> --pwfile=<temp>`; the password
    /// only ever exists in a 0600 temp file that is removed afterwards.
    public func initdb(arguments: [String]) async throws {
        var args = ["--pgdata=\(dataDirectory)"] + arguments + ["--username=\(section.superuser.username)"]
        var pwfile: String?
        if let password = section.superuser.password {
            let path = ProcessRunner.temporaryFile(suffix: "pw").path
            try await writeFileAtomically(path, contents: password + "\n")
            pwfile = path
            args.append("--pwfile=\(path)")
        }
        defer { if let pwfile { unlink(pwfile) } }
        logger.info("running initdb for \(dataDirectory)")
        try await ProcessRunner.runChecked(binary("initdb"), args, environment: ProcessRunner.environment(cLocale: false),
                                           timeout: 600, logger: logger)
    }

    // MARK: start

    /// Where the postmaster's stderr goes until (or unless) logging_collector takes over: next to
    /// the data directory when that is writable (so pg_basebackup/pg_rewind do not copy it).
    public nonisolated var startupLogPath: String {
        let dir = (dataDirectory as NSString).deletingLastPathComponent
        let name = (dataDirectory as NSString).lastPathComponent
        if !dir.isEmpty, access(dir, W_OK) == 0 { return (dir as NSString).appendingPathComponent("\(name).staz-postgres.log") }
        return dataPath("staz-postgres.log")
    }

    /// Starts the postmaster detached (pg_ctl forks it into its own session, so it survives staz
    /// being killed) and waits until it accepts connections (or, for a standby without hot
    /// standby, reached consistency), at most `timeout` seconds. On timeout the server keeps
    /// starting and `PostgresControlError.timedOut` is thrown.
    public func start(commandLineParameters: [(String, String)], timeout: Double) async throws {
        if let pid = postmasterPID() {
            logger.info("PostgreSQL already running (pid \(pid))")
            return
        }
        releaseLockFileOfUnreapedPostmaster()
        let options = (["--config-file=\(configPath("postgresql.conf"))"]
            + commandLineParameters.map { "--\($0.0)=\($0.1)" }).map(shellQuote).joined(separator: " ")
        let waitSeconds = max(1, Int(timeout.rounded(.up)))
        logger.info("starting PostgreSQL in \(dataDirectory)")
        let result = try await ProcessRunner.run(
            binary("pg_ctl"), ["start", "-D", dataDirectory, "-w", "-t", String(waitSeconds), "-s", "-l", startupLogPath, "-o", options],
            environment: ProcessRunner.environment(cLocale: false), timeout: timeout + 15, logger: logger)
        if result.succeeded { return }
        if postmasterPID() != nil {
            throw PostgresControlError.timedOut("PostgreSQL did not become ready within \(waitSeconds) s (still starting)")
        }
        throw PostgresControlError.startFailed(startFailureDetail(result))
    }

    nonisolated func startFailureDetail(_ result: ProcessResult) -> String {
        let tool = (result.stderr + result.stdout).trimmingCharacters(in: .whitespacesAndNewlines)
        let logTail = (try? String(contentsOfFile: startupLogPath, encoding: .utf8))?
            .split(separator: "\n").suffix(5).joined(separator: "\n") ?? ""
        return [tool, logTail].filter { !$0.isEmpty }.joined(separator: "\n")
    }

    // MARK: stop

    /// Stops the postmaster by signal. After `timeout` seconds escalates to immediate mode, and
    /// 5 s later SIGKILLs the postmaster and its children. Returns only once a new server can
    /// start in the data directory (`waitUntilReleased`): a postmaster that exited but was not
    /// reaped yet still blocks PostgreSQL's lock file.
    public func stop(mode: StopMode, checkpointFirst: Bool = false, timeout: Double) async throws {
        guard let pid = postmasterPID() ?? orphanedPostmasterPID() ?? unreapedPostmasterPID() else {
            dropConnection()
            return
        }
        if checkpointFirst && mode != .immediate {
            do { try await checkpoint(timeout: max(5, timeout / 2)) } catch {
                logger.warning("checkpoint before shutdown failed: \(Self.describe(error))")
            }
        }
        dropConnection()
        logger.info("stopping PostgreSQL (pid \(pid), mode \(mode.rawValue))")
        kill(pid, mode.signal)
        if await waitUntilReleased(pid, timeout: timeout) { return }
        if mode != .immediate {
            logger.warning("PostgreSQL did not stop within \(timeout) s, switching to immediate shutdown")
            kill(pid, SIGQUIT)
            if await waitUntilReleased(pid, timeout: 5) { return }
        }
        let children = ProcFS.children(of: pid)
        logger.warning("PostgreSQL still running, sending SIGKILL to postmaster \(pid) and \(children.count) children")
        kill(pid, SIGKILL)
        for child in children { kill(child, SIGKILL) }
        if await waitUntilReleased(pid, timeout: 5) { return }
        throw PostgresControlError.stopFailed("postmaster \(pid) still holds \(dataDirectory) after SIGKILL")
    }

    /// A postmaster that died (killed by the fencing guard, say) but is still a zombie naming
    /// itself in postmaster.pid: nothing to signal, but a start must wait for it.
    nonisolated func unreapedPostmasterPID() -> Int32? {
        guard let pid = lockFilePID(), PostmasterRemains.of(pid) == .unreaped else { return nil }
        return pid
    }

    // MARK: reload / promote / checkpoint

    public func reload() async throws {
        guard isRunning() else { throw PostgresControlError.notRunning }
        try await ProcessRunner.runChecked(binary("pg_ctl"), ["reload", "-D", dataDirectory, "-s"], timeout: 30, logger: logger)
    }

    /// `pg_ctl promote -W`, then waits (bounded by `timeout`) until `pg_is_in_recovery()` is false.
    /// Promotes and waits until PostgreSQL takes writes. `skipping` are timeline numbers other
    /// members hold (`PromotionTimeline`): a history file for each makes PostgreSQL choose a
    /// higher one. Those files stay: a standby still on an older timeline fetches the history
    /// file of every timeline up to ours from us before it streams (the walreceiver's
    /// `WalRcvFetchTimeLineHistoryFiles`), and fails for good on a missing one.
    public func promote(skipping timelines: [Int64] = [], timeout: Double = 60) async throws {
        guard isRunning() else { throw PostgresControlError.notRunning }
        try placeTimelinePlaceholders(timelines)
        logger.info("promoting PostgreSQL")
        try await ProcessRunner.runChecked(binary("pg_ctl"), ["promote", "-W", "-D", dataDirectory, "-s"], timeout: 30, logger: logger)
        let deadline = Date().addingTimeInterval(timeout)
        var nextSignal = ContinuousClock.now + .seconds(1)
        while Date() < deadline {
            if let row = try? await queryLocal("SELECT pg_catalog.pg_is_in_recovery()::text AS r").first,
               row["r"] == .some("false") {
                // A repeated request the startup process no longer needed stays behind (only the
                // postmaster's start removes it): a base backup of this primary would carry it.
                try? FileManager.default.removeItem(atPath: dataDirectory + "/promote.signal")
                return
            }
            // Stopped meanwhile (e.g. fenced because the lock could not be renewed): stop waiting.
            guard isRunning() else { throw PostgresControlError.notRunning }
            // PostgreSQL 15's startup process can take the promote request while waiting for
            // streamed WAL and then still sleep out the rest of wal_retrieve_retry_interval (5 s
            // by default) since the walreceiver last failed: with the primary gone, that is most
            // node-loss failovers. Another request wakes it, and the promotion goes on at once.
            if ContinuousClock.now >= nextSignal {
                nextSignal = .now + .seconds(1)
                logger.info("PostgreSQL is still in recovery after the promote request: requesting it again")
                _ = try? await ProcessRunner.run(binary("pg_ctl"), ["promote", "-W", "-D", dataDirectory, "-s"], timeout: 5)
            }
            try? await Task.sleep(nanoseconds: 200_000_000)
        }
        throw PostgresControlError.timedOut("PostgreSQL still in recovery \(timeout) s after promote")
    }

    /// Writes a history file for each of `timelines` that has none in pg_wal. PostgreSQL reads
    /// only their existence (`findNewestTimeLine`), and skips comment lines should anything read
    /// one (a standby fetching it).
    func placeTimelinePlaceholders(_ timelines: [Int64]) throws {
        var written = 0
        for timeline in timelines {
            let path = dataDirectory + "/pg_wal/" + String(format: "%08X", timeline) + ".history"
            guard !FileManager.default.fileExists(atPath: path) else { continue }
            let text = "# timeline \(timeline) belongs to another member's promotion: staz placed this file so that this server takes a higher one\n"
            do {
                try text.write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw PostgresControlError.invalidDataDirectory("cannot write \(path): \(error)")
            }
            written += 1
        }
        if written > 0 { logger.info("timelines \(timelines.map(String.init).joined(separator: ", ")) are taken: placed \(written) history file(s) so that the promotion skips them") }
    }

    /// CHECKPOINT on its own connection (it can take long; the state connection stays free).
    public func checkpoint(timeout: Double = 300) async throws {
        do {
            _ = try await Self.queryOnce(localEndpoint, ["CHECKPOINT"], timeout: timeout, logger: logger)
        } catch {
            throw PostgresControlError.queryFailed("CHECKPOINT: \(Self.describe(error))")
        }
    }
}
