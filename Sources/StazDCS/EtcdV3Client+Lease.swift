import Foundation
import StazCore

// The lease: one per daemon, TTL = `ttl`, shared by `members/<name>` and `leader`.
extension EtcdV3Client {
    /// Our lease, granting one when we have none or the TTL changed. With `keepalive`, also
    /// confirms it with a keepalive (re-granting when etcd says it is gone), at most once per
    /// `loop_wait` unless `force`.
    func currentLease(keepalive: Bool, force: Bool = false) async throws -> String {
        if let lease, leaseTTL == timeouts.ttlSeconds {
            let recent = keepaliveSent(within: .seconds(timeouts.loopWait)) != nil
            if !keepalive || (recent && !force) { return lease }
            if try await sendKeepalive(lease) { return lease }
            logger.info("etcd lease is gone, granting a new one", metadata: ["lease": "\(lease)"])
            forgetLease(lease)
        }
        return try await grantLease()
    }

    /// The send instant of the last keepalive of our current lease (at the current TTL) when it
    /// is more recent than `window` and no keepalive sent since is failing or unanswered, else
    /// nil. A caller that gets nil asks etcd itself, and so learns of an outage as soon as the
    /// lease keeper's own renewal runs into it.
    func keepaliveSent(within window: Duration) -> ContinuousClock.Instant? {
        guard lease != nil, leaseTTL == timeouts.ttlSeconds, let last = lastKeepalive,
              lastKeepaliveAttempt.map({ $0 <= last }) ?? true,
              ContinuousClock.now - last < window else { return nil }
        return last
    }

    func forgetLease(_ id: String) {
        if lease == id { lease = nil; leaseTTL = nil; lastKeepalive = nil; lastKeepaliveAttempt = nil }
    }

    private func sendKeepalive(_ id: String) async throws -> Bool {
        let sent = ContinuousClock.now
        lastKeepaliveAttempt = sent
        let answer = try await call("/v3/lease/keepalive", ["ID": .string(id)], "lease keepalive")
        // The streaming gateway wraps the answer in "result"; a missing or 0 TTL means gone.
        let ttl = (answer["result"] ?? answer)["TTL"]?.intValue ?? 0
        if ttl > 0, id == lease { lastKeepalive = sent }
        return ttl > 0
    }

    private func grantLease() async throws -> String {
        if let leaseGrant { return try await leaseGrant.value }
        let ttl = timeouts.ttlSeconds
        let task = Task { () throws -> String in
            let answer = try await self.call("/v3/lease/grant", ["TTL": .int(Int64(ttl))], "lease grant")
            guard let id = answer["ID"]?.stringValue ?? answer["ID"]?.intValue.map(String.init), id != "0" else {
                throw DCSError.protocolError("lease grant answered without an ID: \(answer.compactString)")
            }
            return id
        }
        leaseGrant = task
        defer { leaseGrant = nil }
        let sent = ContinuousClock.now
        let id = try await task.value
        lease = id
        leaseTTL = ttl
        lastKeepalive = sent
        lastKeepaliveAttempt = sent
        logger.debug("granted etcd lease", metadata: ["lease": "\(id)", "ttl": "\(ttl)"])
        return id
    }

    /// Runs `body` with our lease; if etcd says the lease vanished, grants a new one and runs it
    /// once more (Patroni's retry on `LeaseNotFound`).
    func withLease<T>(keepalive: Bool, _ body: (String) async throws -> T) async throws -> T {
        let first = try await currentLease(keepalive: keepalive)
        do {
            return try await body(first)
        } catch is EtcdV3LeaseNotFound {
            forgetLease(first)
            let second = try await currentLease(keepalive: false)
            do { return try await body(second) } catch is EtcdV3LeaseNotFound {
                forgetLease(second)
                throw DCSError.protocolError("etcd lost our lease twice in a row")
            }
        }
    }

    /// Not holding the leader: keepalive (or grant) our lease. Holding it: only a successful
    /// keepalive of the lease the `leader` key is bound to proves the key is still ours; if that
    /// lease is gone a new one is granted for later use but nil is returned. After a TTL change
    /// the key is moved onto the new lease while the old one is still alive (VALUE == our name
    /// only, never re-created here).
    public func keepSessionAlive() async throws {
        guard memberName != nil else { return }
        // Within loop_wait the HA loop's member-key write usually sent one; half the TTL keeps
        // a keepalive due well before the lease could expire when loop_wait is close to ttl.
        let window = Duration.milliseconds(Int64(min(timeouts.loopWait, timeouts.ttl / 2) * 1000))
        if keepaliveSent(within: window) != nil { return }
        _ = try await currentLease(keepalive: true, force: true)
    }

    public func refreshSession(holdingLeader: Bool) async throws -> ContinuousClock.Instant? {
        guard memberName != nil else { return nil }
        // A keepalive sent at this instant extends the lease to at least instant + ttl.
        let sent = ContinuousClock.now
        guard holdingLeader else {
            _ = try await currentLease(keepalive: true, force: true)
            return sent
        }
        guard let bound = leaderKeyLease else {
            // The key was written by an earlier process or is unknown: the HA loop's
            // `updateLeader` must rebind it first.
            _ = try await currentLease(keepalive: true, force: true)
            return nil
        }
        guard try await sendKeepalive(bound) else {
            logger.warning("the lease of our leader key is gone", metadata: ["lease": "\(bound)"])
            forgetLease(bound)
            leaderKeyLease = nil
            _ = try await currentLease(keepalive: false)
            return nil
        }
        let current = try await currentLease(keepalive: false)
        if current != bound {
            guard try await rebindLeader(to: current, createIfAbsent: false) else { return nil }
            return sent
        }
        // The lease is alive, but someone may have overwritten the key (`takeLeader` elsewhere).
        guard try await leaderKeyIsOurs(on: bound) else {
            leaderKeyLease = nil
            return nil
        }
        return sent
    }

    /// Whether `leader` holds our name on `lease`: from the watch cache when live (it includes
    /// our own writes), else from a range read of the key.
    func leaderKeyIsOurs(on lease: String) async throws -> Bool {
        let leader: DCSRawValue?
        if await cache.isLive {
            leader = await cache.value(of: DCSKey.leader)
        } else {
            let answer = try await call("/v3/kv/range", ["key": .string(EtcdV3Wire.base64(key(DCSKey.leader)))], "read leader")
            leader = answer["kvs"]?.arrayValue?.first.flatMap(EtcdV3Wire.keyValue).map(EtcdV3Cache.raw)
        }
        return leader?.value == memberName && leader?.session == lease
    }
}
