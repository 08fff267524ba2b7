import StazConfig
import StazCore

/// Builds the `members/<name>` JSON exactly in Patroni's field order (`Ha.touch_member`), so a
/// Patroni member or patronictl reading a staz cluster sees what it expects.
enum MemberRecord {
    static func build(config: StazConfiguration, state: MemberState, role: MemberRole, observation: PostgresObservation,
                      paused: Bool, checkpointAfterPromotePending: Bool, holdsLock: Bool,
                      scheduledRestart: JSONObject? = nil, logicalSlotsReady: Bool? = nil) -> JSONObject {
        var data = JSONObject()
        data["conn_url"] = .string(config.postgresql.connURL)
        data["api_url"] = .string(config.restapi.apiURL)
        data["state"] = .string(state.rawValue)
        data["role"] = .string(role.rawValue)
        data["version"] = .string(StazVersion.patroniCompatible)
        if holdsLock && checkpointAfterPromotePending { data["checkpoint_after_promote"] = false }
        let tags = config.tags.publishedTags
        if !tags.isEmpty { data["tags"] = .object(tags) }
        if observation.pendingRestart {
            data["pending_restart"] = true
            if !observation.pendingRestartReason.isEmpty { data["pending_restart_reason"] = .object(observation.pendingRestartReason) }
        }
        if [.running, .restarting, .starting].contains(state), observation.isAcceptingConnections {
            if let wal = observation.walPosition { data["xlog_location"] = .int(Int64(wal.value)) }
            if observation.isInRecovery {
                data["replication_state"] = .string(observation.isStreaming ? "streaming" : "in archive recovery")
                if let r = observation.receiveLSN { data["receive_lsn"] = .int(Int64(r.value)) }
                if let r = observation.replayLSN { data["replay_lsn"] = .int(Int64(r.value)) }
            }
            if let tl = observation.timeline { data["timeline"] = .int(tl) }
        }
        if let scheduledRestart { data["scheduled_restart"] = .object(scheduledRestart) }
        if paused { data["pause"] = true }
        // staz extension (Patroni ignores unknown fields): the mesh's slot copies are ready.
        if let logicalSlotsReady { data["logical_slots_ready"] = .bool(logicalSlotsReady) }
        return data
    }
}
