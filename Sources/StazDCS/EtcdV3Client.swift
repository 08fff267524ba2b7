import Foundation
import Logging
import NIOSSL
import StazCore

/// `DCSClient` over the etcd v3 JSON gateway, following Patroni's `dcs/etcd3.py`: one lease per
/// daemon (TTL = `ttl`) shared by `members/<name>` and `leader`, a watch-fed cache for reads,
/// compare-and-set by `mod_revision`.
///
/// `memberName == nil` makes a read-only client (stazctl): it never grants a lease, and the
/// member / leader operations return false.
public actor EtcdV3Client: DCSClient {
    let transport: EtcdTransport
    let cache: EtcdV3Cache
    /// The view of the last keys read (`loadCluster`).
    var viewMemo = ClusterViewMemo()
    /// Cluster prefix, `/<namespace>/<scope>/`.
    public nonisolated let prefix: String
    public nonisolated let memberName: String?
    let logger: Logger
    var timeouts: DCSTimeouts

    /// Our lease id (decimal string as etcd returns it) and the TTL it was granted with.
    var lease: String?
    var leaseTTL: Int?
    var lastKeepalive: ContinuousClock.Instant?
    /// Send instant of the last keepalive, answered or not (`keepaliveSent`).
    var lastKeepaliveAttempt: ContinuousClock.Instant?
    var leaseGrant: Task<String, Error>?
    /// The lease we last bound the `leader` key to; differs from `lease` after a re-grant.
    var leaderKeyLease: String?

    init(endpoints: [String], authentication: EtcdAuthentication, prefix: String, memberName: String?,
         timeouts: DCSTimeouts, logger: Logger, tls: TLSConfiguration? = nil) {
        let transport = EtcdTransport(endpoints: endpoints, authentication: authentication, timeouts: timeouts,
                                      logger: logger, tls: tls)
        self.transport = transport
        self.cache = EtcdV3Cache(transport: transport, prefix: prefix, logger: logger)
        self.prefix = prefix
        self.memberName = memberName
        self.timeouts = timeouts
        self.logger = logger
    }

    /// Creates a client. `endpoints` are `http://host:port`; `prefix` is the cluster prefix.
    public init(endpoints: [String], prefix: String, memberName: String?, ttl: Double = 30, loopWait: Double = 10,
                retryTimeout: Double = 10, username: String? = nil, password: String? = nil, logger: Logger,
                tls: TLSConfiguration? = nil) {
        let auth: EtcdAuthentication = username.map { .v3Token(username: $0, password: password ?? "") } ?? .none
        self.init(endpoints: endpoints, authentication: auth, prefix: prefix, memberName: memberName,
                  timeouts: DCSTimeouts(ttl: ttl, loopWait: loopWait, retryTimeout: retryTimeout), logger: logger, tls: tls)
    }

    func key(_ relative: String) -> String { prefix + relative }

    /// Sends a JSON gateway call and interprets the answer; transport failures also mark the
    /// watch cache broken (its stream may be stuck on the same dead endpoint).
    func call(_ path: String, _ body: JSONValue, _ what: String) async throws -> JSONValue {
        do {
            return try EtcdV3Wire.check(try await transport.perform(.json(path, body)), what)
        } catch let error as DCSError {
            if case .unreachable = error { await cache.markBroken() }
            throw error
        }
    }

    public func setTimeouts(ttl: Double, loopWait: Double, retryTimeout: Double) async {
        timeouts = DCSTimeouts(ttl: ttl, loopWait: loopWait, retryTimeout: retryTimeout)
        await transport.setTimeouts(timeouts)
        // A changed TTL is picked up by `currentLease`, which grants a new lease on next use.
    }

    // MARK: member and leader

    public func touchMember(_ data: JSONObject) async throws -> Bool {
        guard let name = memberName else { return false }
        let memberKey = DCSKey.members + name
        let value = JSONValue.object(data).compactString
        return try await withLease(keepalive: true) { lease in
            if let cached = await cache.value(of: memberKey), cached.value == value, cached.session == lease { return true }
            let answer = try await call("/v3/kv/put", EtcdV3Wire.putBody(key(memberKey), value, lease: lease), "put \(memberKey)")
            let revision = EtcdV3Wire.headerRevision(answer)
            await cache.applyLocal(memberKey, DCSRawValue(value: value, version: revision.map(String.init), session: lease),
                                   revision: revision)
            return true
        }
    }

    public func attemptToAcquireLeader() async throws -> Bool {
        guard let name = memberName else { return false }
        let won = try await withLease(keepalive: true) { lease -> Bool in
            let txn = EtcdV3Wire.txn(compare: [EtcdV3Wire.compareAbsent(key(DCSKey.leader))],
                                     success: [EtcdV3Wire.opPut(key(DCSKey.leader), name, lease: lease)],
                                     failure: [EtcdV3Wire.opRange(key(DCSKey.leader))])
            let answer = try await call("/v3/kv/txn", txn, "acquire leader")
            let held: (value: DCSRawValue, revision: Int64?)
            if EtcdV3Wire.succeeded(answer) {
                held = (leaderRaw(name, lease, answer), EtcdV3Wire.headerRevision(answer))
            } else if let holder = EtcdV3Wire.firstRangedKey(answer), holder.value == name, holder.lease == lease {
                // A view older than our own write can make us race for a key we already hold;
                // the key naming us on our live lease is a won race, not a lost one to demote for.
                logger.info("the leader key already names us on our lease")
                held = (EtcdV3Cache.raw(holder), holder.modRevision)
            } else {
                return false
            }
            leaderKeyLease = lease
            await cache.applyLocal(DCSKey.leader, held.value, revision: held.revision)
            return true
        }
        if !won { logger.info("Could not take out TTL lock") }
        return won
    }

    public func updateLeader() async throws -> ContinuousClock.Instant? {
        guard memberName != nil else { return nil }
        if let lease, leaderKeyLease == lease, let last = keepaliveSent(within: timeouts.leaseConfirmationWindow) { return last }
        // The keepalive itself is the heartbeat; the key only needs rewriting after a re-grant.
        let sent = ContinuousClock.now
        let lease = try await currentLease(keepalive: true, force: true)
        if leaderKeyLease == lease { return sent }
        return try await rebindLeader(to: lease, createIfAbsent: true) ? sent : nil
    }

    /// Moves `leader` = our name onto `lease` if it still holds our name, or, with
    /// `createIfAbsent` (Patroni's `_update_leader` failure branch), if it does not exist at all.
    func rebindLeader(to lease: String, createIfAbsent: Bool) async throws -> Bool {
        guard let name = memberName else { return false }
        let leaderKey = key(DCSKey.leader)
        let put = EtcdV3Wire.opPut(leaderKey, name, lease: lease)
        let ifAbsent = EtcdV3Wire.txn(compare: [EtcdV3Wire.compareAbsent(leaderKey)], success: [put])
        let txn = EtcdV3Wire.txn(compare: [EtcdV3Wire.compareValue(leaderKey, equals: name)], success: [put],
                                 failure: createIfAbsent ? [EtcdV3Wire.opTxn(ifAbsent)] : [])
        let answer: JSONValue
        do {
            answer = try await call("/v3/kv/txn", txn, "update leader")
        } catch is EtcdV3LeaseNotFound {
            forgetLease(lease)
            return false
        }
        let nestedSucceeded = answer["responses"]?.arrayValue?.first?["response_txn"].map(EtcdV3Wire.succeeded) ?? false
        guard EtcdV3Wire.succeeded(answer) || nestedSucceeded else { return false }
        leaderKeyLease = lease
        await cache.applyLocal(DCSKey.leader, leaderRaw(name, lease, answer), revision: EtcdV3Wire.headerRevision(answer))
        return true
    }

    public func deleteLeader() async throws -> Bool {
        guard let name = memberName else { return false }
        let leaderKey = key(DCSKey.leader)
        let txn = EtcdV3Wire.txn(compare: [EtcdV3Wire.compareValue(leaderKey, equals: name)],
                                 success: [EtcdV3Wire.opDelete(leaderKey)])
        let answer = try await call("/v3/kv/txn", txn, "delete leader")
        guard EtcdV3Wire.succeeded(answer) else { return false }
        leaderKeyLease = nil
        await cache.applyLocal(DCSKey.leader, nil, revision: EtcdV3Wire.headerRevision(answer))
        return true
    }

    public func takeLeader() async throws -> Bool {
        guard let name = memberName else { return false }
        return try await withLease(keepalive: true) { lease in
            let answer = try await call("/v3/kv/put", EtcdV3Wire.putBody(key(DCSKey.leader), name, lease: lease), "take leader")
            leaderKeyLease = lease
            await cache.applyLocal(DCSKey.leader, leaderRaw(name, lease, answer), revision: EtcdV3Wire.headerRevision(answer))
            return true
        }
    }

    private func leaderRaw(_ name: String, _ lease: String, _ answer: JSONValue) -> DCSRawValue {
        DCSRawValue(value: name, version: EtcdV3Wire.headerRevision(answer).map(String.init), session: lease)
    }

    public func close() async {
        await cache.stop()
        await transport.shutdown()
    }
}
