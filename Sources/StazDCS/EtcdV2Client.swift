import Foundation
import Logging
import NIOSSL
import StazConcurrency
import StazCore

/// `DCSClient` over the etcd v2 keys API (etcd started with `--enable-v2=true`), following
/// Patroni's `dcs/etcd.py`: TTL keys instead of leases, `prevValue` / `prevExist` / `prevIndex`
/// conditions, a long poll on the `leader` key as the watch.
public actor EtcdV2Client: DCSClient {
    let transport: EtcdTransport
    public nonisolated let prefix: String
    public nonisolated let memberName: String?
    let logger: Logger
    var timeouts: DCSTimeouts
    /// `X-Etcd-Index` of the last cluster read and the leader value it showed: the long poll
    /// starts right after that read.
    var lastIndex: Int64?
    var lastLeaderValue: String?
    /// Send instant of our last successful rewrite of `leader` (`updateLeader` reuses a recent one).
    var lastLeaderRefresh: ContinuousClock.Instant?
    /// Send instant of the lease keeper's last leader refresh, answered or not.
    var lastLeaderRefreshAttempt: ContinuousClock.Instant?
    /// The background long poll on `leader` (`EtcdV2Client+Watch.swift`) and the changes it saw.
    var leaderWatch: Task<Void, Never>?
    nonisolated let leaderChanges = SignalWaiters()
    var closed = false

    public init(endpoints: [String], prefix: String, memberName: String?, ttl: Double = 30, loopWait: Double = 10,
                retryTimeout: Double = 10, username: String? = nil, password: String? = nil, logger: Logger,
                tls: TLSConfiguration? = nil) {
        let timeouts = DCSTimeouts(ttl: ttl, loopWait: loopWait, retryTimeout: retryTimeout)
        let auth: EtcdAuthentication = username.map { .basic(username: $0, password: password ?? "") } ?? .none
        self.transport = EtcdTransport(endpoints: endpoints, authentication: auth, timeouts: timeouts, logger: logger, tls: tls)
        self.prefix = prefix
        self.memberName = memberName
        self.timeouts = timeouts
        self.logger = logger
    }

    private var ttlParameter: (String, String) { ("ttl", String(timeouts.ttlSeconds)) }

    /// PUT of one key; returns the answer for the caller to judge.
    func write(_ relative: String, _ value: String, _ parameters: [(String, String)]) async throws -> EtcdHTTPResponse {
        try await transport.perform(EtcdRequest(method: .put, path: EtcdV2Wire.keyPath(prefix + relative),
                                                body: EtcdV2Wire.formBody(value: value, parameters),
                                                contentType: "application/x-www-form-urlencoded"))
    }

    func delete(_ relative: String, _ parameters: [(String, String)]) async throws -> EtcdHTTPResponse {
        try await transport.perform(EtcdRequest(method: .delete,
                                                path: EtcdV2Wire.keyPath(prefix + relative) + EtcdV2Wire.query(parameters)))
    }

    /// Success (2xx) → true; one of the `refusals` error codes → false; anything else throws.
    func judge(_ response: EtcdHTTPResponse, _ what: String, refusals: Set<Int64>) throws -> Bool {
        if (200..<300).contains(response.status) { return true }
        if let code = EtcdV2Wire.errorCode(response), refusals.contains(code) { return false }
        throw EtcdV2Wire.unexpected(response, what)
    }

    // MARK: reads

    public func loadCluster(fresh: Bool) async throws -> ClusterView {
        // Before the read, not after: a change that lands while it is under way stays pending
        // (at worst the loop looks once more at a change this read already shows).
        if !fresh { leaderChanges.consumePending() }
        let parameters = fresh ? [("recursive", "true"), ("quorum", "true")] : [("recursive", "true")]
        let response = try await transport.perform(EtcdRequest(method: .get,
                                                               path: EtcdV2Wire.keyPath(prefix) + EtcdV2Wire.query(parameters)))
        let keys: [String: DCSRawValue]
        if response.status == 200 {
            keys = EtcdV2Wire.relativeKeys(try response.json()["node"], prefix: prefix)
        } else if EtcdV2Wire.errorCode(response) == EtcdV2Wire.keyNotFound {
            keys = [:]
        } else {
            throw EtcdV2Wire.unexpected(response, "read \(prefix)")
        }
        if let index = EtcdV2Wire.etcdIndex(response) { lastIndex = max(lastIndex ?? 0, index) }
        lastLeaderValue = keys[DCSKey.leader]?.value
        return ClusterView.fromKeys(keys)
    }

    // MARK: member and leader

    public func touchMember(_ data: JSONObject) async throws -> Bool {
        guard let name = memberName else { return false }
        let response = try await write(DCSKey.members + name, JSONValue.object(data).compactString, [ttlParameter])
        return try judge(response, "write member key", refusals: [])
    }

    public func attemptToAcquireLeader() async throws -> Bool {
        guard let name = memberName else { return false }
        let response = try await write(DCSKey.leader, name, [ttlParameter, ("prevExist", "false")])
        let won = try judge(response, "acquire leader", refusals: [EtcdV2Wire.keyExists])
        if !won { logger.info("Could not take out TTL lock") }
        return won
    }

    public func updateLeader() async throws -> ContinuousClock.Instant? {
        guard let name = memberName else { return nil }
        // Only while no refresh sent since is failing or unanswered (as `keepaliveSent` in v3).
        if let last = lastLeaderRefresh, lastLeaderRefreshAttempt.map({ $0 <= last }) ?? true,
           ContinuousClock.now - last < timeouts.leaseConfirmationWindow { return last }
        let sent = ContinuousClock.now
        let response = try await write(DCSKey.leader, name, [ttlParameter, ("prevValue", name)])
        let held: Bool
        if EtcdV2Wire.errorCode(response) == EtcdV2Wire.keyNotFound {
            // The key expired but nobody took it: take it again (Patroni does the same).
            held = try await attemptToAcquireLeader()
        } else {
            held = try judge(response, "update leader", refusals: [EtcdV2Wire.compareFailed])
        }
        lastLeaderRefresh = held ? sent : nil
        return held ? sent : nil
    }

    public func deleteLeader() async throws -> Bool {
        guard let name = memberName else { return false }
        lastLeaderRefresh = nil
        let response = try await delete(DCSKey.leader, [("prevValue", name)])
        return try judge(response, "delete leader", refusals: [EtcdV2Wire.compareFailed, EtcdV2Wire.keyNotFound])
    }

    public func takeLeader() async throws -> Bool {
        guard let name = memberName else { return false }
        return try judge(try await write(DCSKey.leader, name, [ttlParameter]), "take leader", refusals: [])
    }

    /// etcd v2 has no session: the member key lives by the HA loop's writes.
    public func keepSessionAlive() async throws {}

    /// etcd v2 has no session: when holding the leader key its TTL is renewed (prevValue write);
    /// otherwise a read of `leader` proves etcd answers.
    public func refreshSession(holdingLeader: Bool) async throws -> ContinuousClock.Instant? {
        guard let name = memberName else { return nil }
        let sent = ContinuousClock.now
        if holdingLeader {
            lastLeaderRefreshAttempt = sent
            let response = try await write(DCSKey.leader, name, [ttlParameter, ("prevValue", name)])
            let held = try judge(response, "refresh leader", refusals: [EtcdV2Wire.compareFailed, EtcdV2Wire.keyNotFound])
            lastLeaderRefresh = held ? sent : nil
            return held ? sent : nil
        }
        let response = try await transport.perform(EtcdRequest(method: .get, path: EtcdV2Wire.keyPath(prefix + DCSKey.leader)))
        return response.status == 200 || EtcdV2Wire.errorCode(response) == EtcdV2Wire.keyNotFound ? sent : nil
    }

    public func setTimeouts(ttl: Double, loopWait: Double, retryTimeout: Double) async {
        timeouts = DCSTimeouts(ttl: ttl, loopWait: loopWait, retryTimeout: retryTimeout)
        await transport.setTimeouts(timeouts)
    }

    // MARK: permanent keys

    public func initialize(sysid: String, createNew: Bool) async throws -> Bool {
        // Patroni: prevExist = not create_new (create when racing, else only overwrite).
        let response = try await write(DCSKey.initialize, sysid, [("prevExist", createNew ? "false" : "true")])
        return try judge(response, "write initialize", refusals: [EtcdV2Wire.keyExists, EtcdV2Wire.keyNotFound])
    }

    public func cancelInitialization() async throws {
        _ = try judge(try await delete(DCSKey.initialize, []), "delete initialize", refusals: [EtcdV2Wire.keyNotFound])
    }

    public func setConfig(_ value: JSONValue, version: String?) async throws -> Bool {
        try await casWrite(DCSKey.config, value.compactString, version: version)
    }

    public func setFailover(_ value: JSONValue, version: String?) async throws -> Bool {
        try await casWrite(DCSKey.failover, value.compactString, version: version)
    }

    public func setSync(_ value: JSONValue, version: String?) async throws -> Bool {
        try await casWrite(DCSKey.sync, value.compactString, version: version)
    }

    public func deleteSync(version: String?) async throws -> Bool {
        let parameters = try version.map { [("prevIndex", try checkedVersion($0))] } ?? []
        return try judge(try await delete(DCSKey.sync, parameters), "delete sync",
                         refusals: [EtcdV2Wire.compareFailed, EtcdV2Wire.keyNotFound])
    }

    public func setHistory(_ value: JSONValue) async throws { try await plainWrite(DCSKey.history, value.compactString) }
    public func setStatus(_ value: JSONValue) async throws { try await plainWrite(DCSKey.status, value.compactString) }
    public func setFailsafe(_ value: JSONValue) async throws { try await plainWrite(DCSKey.failsafe, value.compactString) }
    public func setMesh(_ value: JSONValue) async throws { try await plainWrite(DCSKey.mesh, value.compactString) }

    public func deleteCluster() async throws {
        let response = try await transport.perform(EtcdRequest(
            method: .delete, path: EtcdV2Wire.keyPath(prefix) + EtcdV2Wire.query([("recursive", "true"), ("dir", "true")])))
        _ = try judge(response, "delete \(prefix)", refusals: [EtcdV2Wire.keyNotFound])
    }

    public func close() async {
        closed = true
        leaderWatch?.cancel()
        leaderWatch = nil
        leaderChanges.close()
        await transport.shutdown()
    }

    private func plainWrite(_ relative: String, _ value: String) async throws {
        _ = try judge(try await write(relative, value, []), "write \(relative)", refusals: [])
    }

    /// Write guarded by `prevIndex == version` (modifiedIndex); unconditional when nil.
    private func casWrite(_ relative: String, _ value: String, version: String?) async throws -> Bool {
        let parameters = try version.map { [("prevIndex", try checkedVersion($0))] } ?? []
        return try judge(try await write(relative, value, parameters), "write \(relative)",
                         refusals: [EtcdV2Wire.compareFailed, EtcdV2Wire.keyNotFound])
    }

    private func checkedVersion(_ version: String) throws -> String {
        guard let number = Int64(version), number >= 0 else {
            throw DCSError.protocolError("invalid etcd v2 version '\(version)': expected a modifiedIndex number")
        }
        return String(number)
    }
}
