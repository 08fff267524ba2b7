import StazCore

/// The state-changing operations behind the unsafe REST endpoints. The REST layer validates
/// requests (`OperationRequests.swift`); the daemon carries them out and words the reply
/// (Patroni's texts and status codes).
public protocol APIActions: Sendable {
    /// `POST /reload`: schedule a configuration reload (like SIGHUP). Patroni answers 202
    /// "reload scheduled" without waiting for it.
    func reload() async
    /// `POST /switchover|failover` after validation: 412 pre-checks, write the `failover`
    /// key, then 202 (scheduled) or poll for the new leader.
    func switchover(_ request: SwitchoverRequest) async -> APIResponse
    /// `DELETE /switchover`.
    func deleteScheduledSwitchover() async -> APIResponse
    /// `POST /restart` after validation: immediate (200/503) or scheduled (202/409).
    func restart(_ request: RestartRequest) async -> APIResponse
    /// `DELETE /restart`.
    func deleteScheduledRestart() async -> APIResponse
    /// `POST /reinitialize`.
    func reinitialize(force: Bool, fromLeader: Bool) async -> APIResponse
    /// `PATCH /config` with a merge patch (compare-and-set on the config version).
    func patchConfig(_ patch: JSONObject) async -> APIResponse
    /// `PUT /config`: replace the dynamic configuration.
    func replaceConfig(_ config: JSONObject) async -> APIResponse
    /// `POST /config/check` (staz): what `PUT /config` with this body would refuse, without
    /// writing anything: 200 when nothing, else 400 naming each key (`stazctl edit-config`).
    func checkConfig(_ config: JSONObject) async -> APIResponse
    /// `POST /mesh/ddl`: run DDL through the mesh provider's DDL replication on this zone's
    /// leader (200 with the result, 503 when this member is not the leader or has no mesh).
    func meshDDL(_ request: MeshDDLRequest) async -> APIResponse
    /// `POST /failsafe` in failsafe mode, body validated: 200 "Accepted" (header `lsn`) and
    /// remember the leader for `ttl`, or 500 "Running as a leader".
    func acceptFailsafe(_ request: FailsafeRequest) async -> APIResponse
    /// `GET /patroni`: bring a standby's WAL positions up to date before they are served.
    /// Peers compare them in a leader race; a position from the last cycle made a member that
    /// had every commit look behind, and a non-candidate won a switchover. Bounded: a server
    /// that does not answer leaves the last cycle's positions.
    func refreshWALPositions() async
}

extension APIActions {
    public func switchover(_ request: SwitchoverRequest) async -> APIResponse { .httpError(503) }
    public func deleteScheduledSwitchover() async -> APIResponse { .httpError(503) }
    public func restart(_ request: RestartRequest) async -> APIResponse { .httpError(503) }
    public func deleteScheduledRestart() async -> APIResponse { .httpError(503) }
    public func reinitialize(force: Bool, fromLeader: Bool) async -> APIResponse { .httpError(503) }
    public func patchConfig(_ patch: JSONObject) async -> APIResponse { .httpError(503) }
    public func replaceConfig(_ config: JSONObject) async -> APIResponse { .httpError(503) }
    public func checkConfig(_ config: JSONObject) async -> APIResponse { .httpError(503) }
    public func meshDDL(_ request: MeshDDLRequest) async -> APIResponse { .text(503, "mesh is not configured on this member") }
    public func acceptFailsafe(_ request: FailsafeRequest) async -> APIResponse { .httpError(502) }
    public func refreshWALPositions() async {}
}

/// Actions that do nothing; for tests and for running the API before the daemon is wired.
public struct NoAPIActions: APIActions {
    public init() {}
    public func reload() async {}
}
