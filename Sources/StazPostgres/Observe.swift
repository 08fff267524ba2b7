import Foundation
import StazCore
import StazSystem

/// The per-cycle state query: one round trip, every column cast to text. The new value of a
/// pending-restart parameter is the last file entry (it carries the error "setting could not be
/// applied", so errors are not filtered out). Functions that fail
/// outside (or inside) recovery are guarded by CASE, which PostgreSQL evaluates lazily for
/// volatile functions.
enum StateQuery {
    static let timestampFormat = "'YYYY-MM-DD HH24:MI:SS.US'"

    static let sql = """
    SELECT r.in_recovery::text AS in_recovery,
      CASE WHEN r.in_recovery THEN NULL
        ELSE ('x' || substr(pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()), 1, 8))::bit(32)::int::text
      END AS primary_timeline,
      CASE WHEN r.in_recovery THEN NULL ELSE pg_catalog.pg_current_wal_flush_lsn()::text END AS flush_lsn,
      pg_catalog.pg_last_wal_receive_lsn()::text AS receive_lsn,
      pg_catalog.pg_last_wal_replay_lsn()::text AS replay_lsn,
      to_char(pg_catalog.pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', \(timestampFormat)) || '+00:00' AS replay_timestamp,
      CASE WHEN r.in_recovery THEN pg_catalog.pg_is_wal_replay_paused()::text ELSE 'false' END AS replay_paused,
      (SELECT timeline_id FROM pg_catalog.pg_control_checkpoint())::text AS checkpoint_timeline,
      (SELECT system_identifier FROM pg_catalog.pg_control_system())::text AS system_identifier,
      (SELECT bytes_per_wal_segment FROM pg_catalog.pg_control_init())::text AS wal_segment_size,
      w.status AS wal_receiver_status, w.received_tli::text AS received_tli, w.conninfo AS wal_receiver_conninfo,
      w.slot_name AS wal_receiver_slot, w.sender_host AS sender_host, w.sender_port::text AS sender_port,
      pg_catalog.current_setting('primary_conninfo') AS primary_conninfo,
      pg_catalog.current_setting('primary_slot_name') AS primary_slot_name,
      pg_catalog.current_setting('server_version_num') AS server_version_num,
      to_char(pg_catalog.pg_postmaster_start_time() AT TIME ZONE 'UTC', \(timestampFormat)) || '+00:00' AS postmaster_start_time,
      (SELECT pg_catalog.json_object_agg(s.name, pg_catalog.json_build_object(
                'old_value', coalesce(pg_catalog.current_setting(s.name), ''), 'new_value', coalesce(f.setting, '')))
         FROM pg_catalog.pg_settings s
         LEFT JOIN (SELECT DISTINCT ON (name) name, setting FROM pg_catalog.pg_file_settings
                     ORDER BY name, seqno DESC) f ON f.name = s.name
        WHERE s.pending_restart)::text AS pending_restart
    FROM (SELECT pg_catalog.pg_is_in_recovery() AS in_recovery) r
    LEFT JOIN pg_catalog.pg_stat_get_wal_receiver() w ON w.pid IS NOT NULL
    """

    /// Fills the SQL-derived fields of `observation` from the state query's single row.
    static func apply(_ row: TextRow, to observation: inout PostgresObservation) {
        func text(_ key: String) -> String? { row[key].flatMap { $0 }.flatMap { $0.isEmpty ? nil : $0 } }
        let inRecovery = text("in_recovery") == "true"
        observation.isAcceptingConnections = true
        observation.isInRecovery = inRecovery
        observation.receiveLSN = text("receive_lsn").flatMap(LSN.init(text:))
        observation.replayLSN = text("replay_lsn").flatMap(LSN.init(text:))
        observation.replayTimestamp = text("replay_timestamp")
        observation.replayPaused = text("replay_paused") == "true"
        observation.isStreaming = text("wal_receiver_status") == "streaming"
        if inRecovery {
            observation.timeline = text("received_tli").flatMap { Int64($0) }
                ?? text("checkpoint_timeline").flatMap { Int64($0) }
            observation.walPosition = [observation.receiveLSN, observation.replayLSN].compactMap { $0 }.max()
            let conninfo = text("wal_receiver_conninfo") ?? text("primary_conninfo")
            let parsed = conninfo.map(ConfigRendering.hostPort(fromConninfo:))
            observation.upstreamHost = parsed?.host ?? text("sender_host")
            observation.upstreamPort = parsed?.port ?? text("sender_port").flatMap { Int($0) }
            observation.primarySlotName = text("primary_slot_name") ?? text("wal_receiver_slot")
        } else {
            observation.timeline = text("primary_timeline").flatMap { Int64($0) }
            observation.walPosition = text("flush_lsn").flatMap(LSN.init(text:))
        }
        // pg_control as the running server has it: no pg_controldata process every cycle.
        observation.systemIdentifier = text("system_identifier")
        observation.controlDataTimeline = text("checkpoint_timeline").flatMap { Int64($0) }
        // The only states of a server that accepts connections.
        observation.controlDataState = inRecovery ? "in archive recovery" : "in production"
        observation.serverVersion = text("server_version_num").flatMap { Int($0) }
        observation.postmasterStartTime = text("postmaster_start_time")
        let pending = text("pending_restart").flatMap { try? JSONValue.parse($0) }?.objectValue ?? JSONObject()
        observation.pendingRestart = !pending.isEmpty
        observation.pendingRestartReason = pending
    }
}

extension PostgresController {
    /// Everything the HA decision needs about the local PostgreSQL. Never throws: whatever cannot
    /// be found out stays at its "unknown" default. Bounded to about 2 s when the server hangs.
    public func observe() async -> PostgresObservation {
        let empty = isDataDirectoryEmpty()
        let pid = postmasterPID()
        var observation = PostgresObservation(dataDirectoryEmpty: empty, isRunning: pid != nil)
        observation.postmasterPID = pid
        if let error = dataDirectoryAccessError() { observation.dataDirectoryError = error }
        observation.isInRecovery = hasStandbySignal()
        var segmentSize: UInt64? = nil
        var answered = false
        if pid != nil {
            do {
                if let row = try await queryLocal(StateQuery.sql, timeout: 2).first {
                    StateQuery.apply(row, to: &observation)
                    segmentSize = (row["wal_segment_size"] ?? nil).flatMap { UInt64($0) }
                    answered = observation.systemIdentifier != nil
                }
            } catch {
                logger.debug("state query failed: \(Self.describe(error))")
            }
        } else {
            dropConnection()
        }
        // A server that does not answer (stopped, starting, in crash recovery): the file.
        if !answered, !empty, let control = await controlData() {
            segmentSize = control.walSegmentSize
            observation.systemIdentifier = control.systemIdentifier
            observation.controlDataState = control.clusterState
            observation.controlDataTimeline = control.checkpointTimeline
        }
        // A streaming walreceiver names the timeline it writes; pg_wal is listed (once per
        // cycle) only without one, when its leader is gone and the race needs the answer.
        if answered, observation.isInRecovery, !observation.isStreaming, let end = observation.walPosition, let segmentSize,
           let tl = walTimeline(endingAt: end, segmentSize: segmentSize) {
            observation.timeline = tl
        }
        return observation
    }

    /// The state query alone, for a peer asking `/patroni` during a leader race: positions read
    /// now, not at the last cycle (Patroni's `/patroni` queries PostgreSQL on every request).
    /// nil when no postmaster runs or the server does not answer within `timeout` seconds.
    public func liveWALObservation(timeout: Double) async -> PostgresObservation? {
        guard postmasterPID() != nil,
              let row = try? await queryLocal(StateQuery.sql, timeout: timeout, for: .restAPI).first else { return nil }
        var observation = PostgresObservation(dataDirectoryEmpty: false, isRunning: true)
        StateQuery.apply(row, to: &observation)
        return observation
    }

    nonisolated func hasStandbySignal() -> Bool {
        SmallFile.exists(dataPath("standby.signal")) || SmallFile.exists(dataPath("recovery.signal"))
    }

    /// nil when the data directory is missing (that is "empty", not an error) or readable.
    /// Checked every cycle: opened, not listed.
    nonisolated func dataDirectoryAccessError() -> String? {
        switch SmallFile.directoryProblem(dataDirectory) {
        case nil, .missing?: return nil
        case .notADirectory?: return "\(dataDirectory) is not a directory"
        case .unreadable(let reason)?: return "cannot read \(dataDirectory): \(reason)"
        }
    }
}
