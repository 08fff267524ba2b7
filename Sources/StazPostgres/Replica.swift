import Foundation
import StazConfig
import StazCore

extension PostgresController {
    /// libpq DSN for tools that connect to `upstream` as `credentials` (password comes from the
    /// pgpass file; the role's TLS settings go with it).
    nonisolated func toolDSN(_ upstream: UpstreamTarget, credentials: Credentials) -> String {
        ConfigRendering.conninfo([("dbname", "postgres"), ("user", credentials.username), ("host", upstream.host),
                                  ("port", String(upstream.port))] + ConnectionSecurity.libpqPairs(credentials))
    }

    /// The pgpass line that lets a tool (or the walreceiver) reach `upstream` as `credentials`.
    nonisolated func pgpassEntry(_ upstream: UpstreamTarget, credentials: Credentials) -> PgpassEntry {
        PgpassEntry(host: upstream.host, port: upstream.port, user: credentials.username, password: credentials.password ?? "")
    }

    // MARK: pg_basebackup

    /// Clones `upstream` with pg_basebackup into a wiped data directory: 2 attempts, 5 s apart.
    public func createReplica(from upstream: UpstreamTarget, extraArguments: [String]) async throws {
        guard !isRunning() else { throw PostgresControlError.alreadyRunning(pid: postmasterPID() ?? 0) }
        try await writePgpass(extra: [pgpassEntry(upstream, credentials: section.replication)])
        var args = ["--pgdata=\(dataDirectory)", "-X", "stream", "--dbname=\(toolDSN(upstream, credentials: section.replication))"]
        if !extraArguments.contains(where: { $0.hasPrefix("--checkpoint") || $0 == "-c" }) { args.append("--checkpoint=fast") }
        args += extraArguments
        let env = ProcessRunner.environment(adding: ["PGPASSFILE": section.pgpass])
        var lastError: Error?
        for attempt in 1...2 {
            if attempt > 1 { try await Task.sleep(nanoseconds: 5_000_000_000) }
            try await wipeDataDirectory()
            logger.info("cloning from \(upstream.memberName) (\(upstream.host):\(upstream.port)) with pg_basebackup, attempt \(attempt)")
            do {
                try await ProcessRunner.runChecked(binary("pg_basebackup"), args, environment: env, logger: logger)
                // The copied ownership record belongs to the source node, not to us.
                unlink(dataPath(SlotOwnership.fileName))
                try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: dataDirectory)
                return
            } catch {
                logger.error("pg_basebackup failed: \(error)")
                lastError = error
            }
        }
        throw lastError ?? PostgresControlError.startFailed("pg_basebackup failed")
    }

    // MARK: pg_rewind

    /// use_pg_rewind enabled (argument wins over the local section), pg_rewind present, and the
    /// cluster WAL-logs hint bits or has data checksums.
    public func canRewind(usePgRewind: Bool? = nil) async -> Bool {
        guard usePgRewind ?? section.usePgRewind ?? false else { return false }
        let tool = binary("pg_rewind")
        guard (try? ProcessRunner.resolve(tool)).map({ FileManager.default.isExecutableFile(atPath: $0) }) == true else {
            return false
        }
        return await controlData()?.supportsRewind ?? false
    }

    /// `pg_rewind -D <data> --source-server=<dsn> --progress` as the rewind user (superuser when
    /// none is configured). PostgreSQL must be stopped; PG 13+ pg_rewind itself runs crash
    /// recovery on an uncleanly stopped target. Afterwards the caller rewrites the configuration
    /// (pg_rewind copies the source's config files) before starting as a replica.
    public func rewind(from upstream: UpstreamTarget) async throws {
        guard !isRunning() else { throw PostgresControlError.alreadyRunning(pid: postmasterPID() ?? 0) }
        // pg_rewind runs crash recovery in single-user mode, which refuses a data directory
        // whose lock file names a postmaster that died but is not reaped yet (a fenced primary
        // right after staz resumes): that is no reason for the rewind to fail.
        releaseLockFileOfUnreapedPostmaster()
        let credentials = section.rewind ?? section.superuser
        try await writePgpass(extra: [pgpassEntry(upstream, credentials: credentials)])
        // pg_rewind copies the source's files, including its slot ownership record; ours must stay.
        let ownership = try? Data(contentsOf: URL(fileURLWithPath: dataPath(SlotOwnership.fileName)))
        let outcome: Result<Void, Error>
        do {
            try await runRewind(from: upstream, credentials: credentials)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        if let ownership { try? await writeFileAtomically(dataPath(SlotOwnership.fileName), contents: String(decoding: ownership, as: UTF8.self)) }
        else { unlink(dataPath(SlotOwnership.fileName)) }
        try outcome.get()
    }

    private func runRewind(from upstream: UpstreamTarget, credentials: Credentials) async throws {
        try await ensureCheckpointAfterPromote(on: upstream)
        logger.info("running pg_rewind from \(upstream.memberName)")
        let env = ProcessRunner.environment(adding: ["PGPASSFILE": section.pgpass, "PGOPTIONS": "-c statement_timeout=0"])
        let result = try await ProcessRunner.runChecked(
            binary("pg_rewind"), ["-D", dataDirectory, "--source-server=\(toolDSN(upstream, credentials: credentials))", "--progress"],
            environment: env, logger: logger)
        let summary = (result.stderr + result.stdout).split(separator: "\n").suffix(2).joined(separator: "; ")
        logger.info("pg_rewind finished: \(summary)")
    }

    /// pg_rewind reads the source's timeline from its pg_control, which only changes at the first
    /// checkpoint after promotion; before that it wrongly answers "no rewind required". Runs that
    /// CHECKPOINT on the source (as superuser) when its control file still lags.
    func ensureCheckpointAfterPromote(on upstream: UpstreamTarget) async throws {
        let endpoint = superuserEndpoint(upstream)
        let row: TextRow?
        do {
            row = try await Self.queryOnce(endpoint, [
                "SELECT pg_catalog.pg_is_in_recovery()::text AS r, "
                    + "(SELECT timeline_id FROM pg_catalog.pg_control_checkpoint())::text AS checkpoint_tl, "
                    + "CASE WHEN pg_catalog.pg_is_in_recovery() THEN NULL ELSE ('x' || substr(pg_catalog.pg_walfile_name("
                    + "pg_catalog.pg_current_wal_lsn()), 1, 8))::bit(32)::int::text END AS tl",
            ], timeout: 5, logger: logger).first
        } catch {
            throw PostgresControlError.rewindImpossible("cannot query \(upstream.memberName): \(Self.describe(error))")
        }
        guard let row, row["r"] == .some("false") else {
            throw PostgresControlError.rewindImpossible("\(upstream.memberName) is not a running primary")
        }
        guard row["checkpoint_tl"] != row["tl"] else { return }
        logger.info("running CHECKPOINT on \(upstream.memberName) before rewind")
        do {
            _ = try await Self.queryOnce(endpoint, ["CHECKPOINT"], timeout: 300, logger: logger)
        } catch {
            throw PostgresControlError.rewindImpossible("CHECKPOINT on \(upstream.memberName) failed: \(Self.describe(error))")
        }
    }

    // MARK: divergence

    /// Whether this node's WAL diverged from `leader`'s timeline, decided over SQL (no
    /// replication protocol): local TL/LSN from the running server or pg_controldata; leader TL
    /// and history file read as superuser. `.unknown` when either side cannot be read or the
    /// leader is still in recovery.
    /// Whether `upstream` answers as a running primary (not in recovery) within 5 s.
    public func isRunningPrimary(_ upstream: UpstreamTarget) async -> Bool {
        let row = try? await Self.queryOnce(superuserEndpoint(upstream), ["SELECT pg_catalog.pg_is_in_recovery()::text AS r"],
                                            timeout: 5, logger: logger).first
        return row?["r"] == .some("false")
    }

    /// Has the rewind source write one WAL record (the commit of a transaction holding an xid).
    /// pg_rewind sets our minimum recovery point to the source's insert position; right after a
    /// WAL switch that position lies past a page header no record fills yet, so on an idle
    /// primary the rewound standby cannot become consistent (and accept connections) until the
    /// primary writes something, which can be its background writer's snapshot 15 s later.
    /// Best effort: a failure only leaves that wait.
    public func writeWALRecord(on upstream: UpstreamTarget) async {
        do {
            // Local commit: with synchronous replication the commit must not wait for a standby.
            _ = try await Self.queryOnce(superuserEndpoint(upstream), ["SET synchronous_commit TO local",
                                                                       "SELECT pg_catalog.txid_current()::text AS x"],
                                         timeout: 5, logger: logger)
        } catch {
            logger.info("could not have \(upstream.memberName) write a WAL record after pg_rewind: \(Self.describe(error))")
        }
    }

    public func needsRewind(leader: UpstreamTarget) async -> RewindVerdict {
        guard let local = await localWALPosition() else { return .unknown }
        let endpoint = superuserEndpoint(leader)
        do {
            let state = try await Self.queryOnce(endpoint, ["""
                SELECT pg_catalog.pg_is_in_recovery()::text AS r,
                  CASE WHEN pg_catalog.pg_is_in_recovery() THEN NULL ELSE ('x' || substr(pg_catalog.pg_walfile_name(
                    pg_catalog.pg_current_wal_lsn()), 1, 8))::bit(32)::int::text END AS tl
                """], timeout: 5, logger: logger).first
            guard let state, state["r"] == .some("false"), let tlText = state["tl"] ?? nil, let leaderTL = Int64(tlText) else {
                return .unknown
            }
            var history: [TimelineSwitch] = []
            if leaderTL > local.timeline {
                // PostgreSQL names the file in upper-case hex (0000000C.history): to_hex() would
                // give lower case, and every check from timeline 10 on failed.
                let file = String(format: "%08X", leaderTL) + ".history"
                let row = try await Self.queryOnce(endpoint, [
                    "SELECT pg_catalog.pg_read_file('pg_wal/\(file)') AS h",
                ], timeout: 5, logger: logger).first
                history = TimelineHistory.parse((row?["h"] ?? nil) ?? "")
            }
            let verdict = DivergenceRule.verdict(local: local, leaderTimeline: leaderTL, leaderHistory: history)
            logger.info("divergence check against \(leader.memberName): local TL \(local.timeline) at \(local.lsn), leader TL \(leaderTL) -> \(verdict.rawValue)")
            return verdict
        } catch {
            logger.warning("divergence check against \(leader.memberName) failed: \(Self.describe(error))")
            return .unknown
        }
    }

    /// Local timeline and WAL end: from SQL when running, from pg_controldata when stopped.
    func localWALPosition() async -> LocalWALPosition? {
        if isRunning() {
            let observation = await observe()
            guard observation.isAcceptingConnections, let tl = observation.timeline else { return nil }
            if observation.isInRecovery {
                guard let lsn = observation.replayLSN ?? observation.receiveLSN else { return nil }
                return LocalWALPosition(timeline: tl, lsn: lsn, inRecovery: true)
            }
            guard let lsn = observation.walPosition else { return nil }
            return LocalWALPosition(timeline: tl, lsn: lsn, inRecovery: false)
        }
        guard let position = await controlData()?.divergencePosition else { return nil }
        return LocalWALPosition(timeline: position.timeline, lsn: position.lsn, inRecovery: position.inRecovery)
    }
}
