import Foundation
import Logging
import StazConcurrency
import StazCore

/// Patroni's `KVCache`: one range read of the cluster prefix, then a streaming `/v3/watch` from
/// the next revision, keeping an in-memory copy of every key. Trusted only while the watch is
/// live; after any error the loop starts over with a fresh range read. Wakes `waitForChange`
/// callers when `leader`, `config` or `failover` change.
actor EtcdV3Cache {
    private let transport: EtcdTransport
    private let prefix: String
    private let logger: Logger

    private var keys = EtcdV3KeyTable()
    private var hasData = false
    private(set) var isLive = false
    /// Wakes the HA loop's `waitForChange`; remembers a change that arrived while nobody was
    /// waiting until the HA loop reads the cluster.
    private nonisolated let changes = SignalWaiters()
    private var watchTask: Task<Void, Never>?
    /// Endpoint the live watch stream is connected to.
    private var watchEndpointIndex: Int?
    private var closed = false

    static let wakingKeys = [DCSKey.leader, DCSKey.config, DCSKey.failover]

    init(transport: EtcdTransport, prefix: String, logger: Logger) {
        self.transport = transport
        self.prefix = prefix
        self.logger = logger
    }

    func startIfNeeded() {
        guard !closed, watchTask == nil else { return }
        watchTask = Task { await self.run() }
    }

    /// The cached keys, or nil when the watch is not live. Other requests having failed over to
    /// another endpoint means the watch's endpoint may be frozen without the stream noticing:
    /// then the watch is restarted and nil returned.
    func snapshot() async -> [String: DCSRawValue]? {
        guard isLive else { return nil }
        if let watchEndpointIndex, await transport.endpointIndex != watchEndpointIndex {
            logger.info("etcd endpoint changed, restarting the watch")
            markBroken()
            startIfNeeded()
            return nil
        }
        return isLive ? keys.entries : nil
    }

    func value(of key: String) -> DCSRawValue? { isLive ? keys.entries[key] : nil }

    /// A change the HA loop must react to arrived since it last read the cluster.
    var hasPendingWake: Bool { changes.isPending }

    /// The HA loop has read the cluster: earlier changes need no extra wake-up.
    func consumePendingWake() { changes.consumePending() }

    /// Records the result of our own write at `revision` so that a read right after it sees it.
    /// Kept while the watch is down too: a range read the restarting watch sent before our
    /// write may be answered after it, and must not undo it (`EtcdV3KeyTable.replaceAll`).
    func applyLocal(_ key: String, _ value: DCSRawValue?, revision: Int64?) {
        guard let revision else { return }
        update(key, value, revision: revision)
    }

    /// A request failed: the watch may be hanging on a dead endpoint, so start over.
    func markBroken() {
        guard isLive else { return }
        isLive = false
        watchTask?.cancel()
        watchTask = nil
    }

    func stop() {
        closed = true
        isLive = false
        watchTask?.cancel()
        watchTask = nil
        changes.close()
    }

    func waitForChange(timeout: Duration) async -> Bool {
        startIfNeeded()
        return await changes.wait(timeout: timeout)
    }

    private func wake() { changes.signal() }

    // MARK: the watch loop

    private func run() async {
        while !Task.isCancelled {
            do {
                let (kvs, revision) = try await Self.readPrefix(transport: transport, prefix: prefix)
                replaceAll(kvs, revision: revision)
                try await watch(fromRevision: revision + 1)
                logger.debug("etcd watch stream ended, restarting")
            } catch {
                if Task.isCancelled { break }
                logger.debug("etcd watch failed, restarting", metadata: ["error": "\(error)"])
            }
            isLive = false
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    private func watch(fromRevision revision: Int64) async throws {
        let request: JSONValue = ["create_request": [
            "key": .string(EtcdV3Wire.base64(prefix)),
            "range_end": .string(EtcdV3Wire.rangeEnd(forPrefix: prefix)),
            "start_revision": .string(String(revision)),
        ]]
        let (response, endpointIndex) = try await transport.openStream(.json("/v3/watch", request))
        watchEndpointIndex = endpointIndex
        var splitter = JSONObjectStreamSplitter()
        for try await chunk in response.body {
            for object in splitter.append(chunk.readableBytesView) {
                try handleWatchMessage(try JSONValue.parse(object))
            }
        }
    }

    private func handleWatchMessage(_ message: JSONValue) throws {
        if let error = message["error"] {
            throw DCSError.protocolError("etcd watch error: \(error.compactString)")
        }
        guard let result = message["result"] else { return }
        if result["created"]?.boolValue == true { isLive = true }
        if result["canceled"]?.boolValue == true {
            throw DCSError.protocolError("etcd watch canceled: \(result["cancel_reason"]?.stringValue ?? "") compact_revision=\(result["compact_revision"]?.compactString ?? "-")")
        }
        for event in result["events"]?.arrayValue ?? [] {
            guard let kvJSON = event["kv"], let kv = EtcdV3Wire.keyValue(kvJSON), kv.key.hasPrefix(prefix) else { continue }
            let key = String(kv.key.dropFirst(prefix.count))
            if event["type"]?.stringValue == "DELETE" {
                update(key, nil, revision: kv.modRevision)
            } else {
                update(key, Self.raw(kv), revision: kv.modRevision)
            }
        }
    }

    private func update(_ key: String, _ value: DCSRawValue?, revision: Int64) {
        guard let replaced = keys.update(key, value, revision: revision) else { return }
        let old = replaced.old
        if Self.wakingKeys.contains(key), old?.value != value?.value { wake() }
        // A member joining wakes the loop too, so the leader creates its replication slot at
        // once instead of up to loop_wait later (the new replica cannot stream without it).
        if old == nil, value != nil, key.hasPrefix(DCSKey.members) { wake() }
    }

    private func replaceAll(_ kvs: [EtcdV3Wire.KeyValue], revision: Int64) {
        var read: [String: (DCSRawValue, Int64)] = [:]
        for kv in kvs where kv.key.hasPrefix(prefix) {
            read[String(kv.key.dropFirst(prefix.count))] = (Self.raw(kv), kv.modRevision)
        }
        let old = keys.replaceAll(read, revision: revision)
        if hasData, Self.wakingKeys.contains(where: { old[$0]?.value != keys.entries[$0]?.value }) { wake() }
        hasData = true
    }

    // MARK: shared helpers

    static func raw(_ kv: EtcdV3Wire.KeyValue) -> DCSRawValue {
        DCSRawValue(value: kv.value, version: String(kv.modRevision), session: kv.lease)
    }

    /// A linearizable range read of everything under `prefix`.
    static func readPrefix(transport: EtcdTransport, prefix: String) async throws -> ([EtcdV3Wire.KeyValue], Int64) {
        let response = try await transport.perform(.json("/v3/kv/range", EtcdV3Wire.range(prefix: prefix)))
        let json = try EtcdV3Wire.check(response, "range \(prefix)")
        let kvs = (json["kvs"]?.arrayValue ?? []).compactMap(EtcdV3Wire.keyValue)
        return (kvs, EtcdV3Wire.headerRevision(json) ?? 0)
    }

    static func relativeKeys(_ kvs: [EtcdV3Wire.KeyValue], prefix: String) -> [String: DCSRawValue] {
        var keys: [String: DCSRawValue] = [:]
        for kv in kvs where kv.key.hasPrefix(prefix) { keys[String(kv.key.dropFirst(prefix.count))] = raw(kv) }
        return keys
    }
}
