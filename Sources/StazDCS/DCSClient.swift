import StazCore

/// What the HA loop, the REST API and stazctl need from a distributed configuration store.
/// All keys are relative to the cluster prefix `/<namespace>/<scope>/`; values are Patroni's
/// exact formats (see StazCore). Implementations: `EtcdV3Client` (JSON gateway) and
/// `EtcdV2Client`.
///
/// Errors: every method throws `DCSError` for transport problems (all endpoints failed within
/// `retryTimeout`); a lost compare-and-set is not an error but `false`.
public protocol DCSClient: AnyObject, Sendable {
    /// Reads the whole cluster. `fresh: false` may answer from the watch-fed cache;
    /// `fresh: true` always does a linearizable read (stazctl, REST `/cluster`).
    func loadCluster(fresh: Bool) async throws -> ClusterView

    /// Writes `members/<name>` bound to our lease / TTL. Returns false if the write was refused.
    func touchMember(_ data: JSONObject) async throws -> Bool

    /// Creates `leader` = our name only if it does not exist (create-revision 0 / prevExist=false).
    func attemptToAcquireLeader() async throws -> Bool
    /// Refreshes our hold of `leader` (lease keepalive / prevValue rewrite). Returns the instant
    /// (ContinuousClock) at which the confirming request was *sent*, nil when we no longer hold
    /// it. A renewal sent within `LeaseRenewal.confirmationWindow` (the lease keeper's) confirms
    /// the lock as well as a new one would: its instant is returned and nothing is sent.
    func updateLeader() async throws -> ContinuousClock.Instant?
    /// Deletes `leader` only if it still holds our name.
    func deleteLeader() async throws -> Bool
    /// Unconditional put of `leader` = our name with our lease (after bootstrap).
    func takeLeader() async throws -> Bool

    /// `initialize` = sysid; `createNew` races (create-revision 0 / prevExist=false).
    func initialize(sysid: String, createNew: Bool) async throws -> Bool
    func cancelInitialization() async throws

    /// Compare-and-set writes: `version` nil = unconditional. Return false when the CAS lost.
    func setConfig(_ value: JSONValue, version: String?) async throws -> Bool
    func setFailover(_ value: JSONValue, version: String?) async throws -> Bool
    func setSync(_ value: JSONValue, version: String?) async throws -> Bool
    func deleteSync(version: String?) async throws -> Bool

    /// Plain puts (no lease).
    func setHistory(_ value: JSONValue) async throws
    func setStatus(_ value: JSONValue) async throws
    func setFailsafe(_ value: JSONValue) async throws
    /// staz extension key `mesh` (the zone's mesh integrity ledger), written by the zone leader.
    func setMesh(_ value: JSONValue) async throws

    /// Removes everything under the cluster prefix (`stazctl remove`).
    func deleteCluster() async throws

    /// Sleeps until `timeout` elapses or the DCS shows a change the HA loop must react to at
    /// once (leader key changed or deleted, `config`/`failover` changed). Returns true when woken
    /// by a change. Never throws: on DCS errors it simply sleeps.
    func waitForChange(timeout: Duration) async -> Bool

    /// Whether the watch has seen such a change since the last `loadCluster(fresh: false)`,
    /// without waiting. False where changes are only seen while waiting (etcd v2's long poll).
    func changedSinceLastRead() async -> Bool

    /// Confirms our session: etcd v3 lease keepalive (re-granting a lost lease), etcd v2
    /// rewrite of `leader` (prevValue) when we hold it. Called by the daemon's lease keeper on its
    /// own schedule while we lead, and right before we take the lock, never behind the HA loop. Returns the instant (ContinuousClock) at which the
    /// request was *sent* when the session was confirmed alive, else nil.
    /// IMPORTANT: with `holdingLeader: true`, return an instant only if the `leader` key is still
    /// ours afterwards: for v3 the keepalive must have succeeded on the SAME lease the leader key
    /// is bound to (if the lease had to be re-granted, the old leader key is gone: return nil
    /// after granting the new lease); for v2 the prevValue rewrite must have succeeded. The
    /// daemon fences PostgreSQL when no instant is returned for too long.
    func refreshSession(holdingLeader: Bool) async throws -> ContinuousClock.Instant?

    /// Keeps our member key alive while we do not lead, confirming nothing: an etcd v3 lease
    /// keepalive only when none was sent within `min(loop_wait, ttl/2)` (the HA loop's
    /// member-key write usually sent one); nothing on etcd v2, where the loop's write renews the key's TTL. Called
    /// by the lease keeper, so the key outlives a loop cycle that waits on PostgreSQL.
    func keepSessionAlive() async throws

    /// Applies new timing (dynamic config). A TTL change makes the next refresh use a new lease.
    func setTimeouts(ttl: Double, loopWait: Double, retryTimeout: Double) async

    /// Stops background tasks (watch, connections).
    func close() async
}

extension DCSClient {
    public func changedSinceLastRead() async -> Bool { false }

    /// Stores without the mesh key (test doubles) refuse it.
    public func setMesh(_ value: JSONValue) async throws {
        throw DCSError.protocolError("this DCS client does not store the mesh key")
    }
}

public enum DCSError: Error, CustomStringConvertible, Sendable {
    /// No endpoint answered within the retry timeout.
    case unreachable(String)
    /// An endpoint answered with something we could not use.
    case protocolError(String)

    public var description: String {
        switch self {
        case .unreachable(let s): return "DCS is not accessible: \(s)"
        case .protocolError(let s): return "DCS protocol error: \(s)"
        }
    }
}
