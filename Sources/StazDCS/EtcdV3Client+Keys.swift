import Foundation
import StazCore

// Reads, compare-and-set writes and plain puts of the permanent keys.
extension EtcdV3Client {
    public func loadCluster(fresh: Bool) async throws -> ClusterView {
        if !fresh {
            await cache.startIfNeeded()
            if let keys = await cache.snapshot() {
                await cache.consumePendingWake()
                return viewMemo.view(of: keys)
            }
        }
        let kvs: [EtcdV3Wire.KeyValue]
        do {
            (kvs, _) = try await EtcdV3Cache.readPrefix(transport: transport, prefix: prefix)
        } catch let error as DCSError {
            if case .unreachable = error { await cache.markBroken() }
            throw error
        }
        if !fresh { await cache.consumePendingWake() }
        return viewMemo.view(of: EtcdV3Cache.relativeKeys(kvs, prefix: prefix))
    }

    public func waitForChange(timeout: Duration) async -> Bool {
        await cache.waitForChange(timeout: timeout)
    }

    public func changedSinceLastRead() async -> Bool {
        await cache.hasPendingWake
    }

    public func initialize(sysid: String, createNew: Bool) async throws -> Bool {
        if createNew {
            return try await compareAndPut(DCSKey.initialize, sysid, compare: EtcdV3Wire.compareAbsent(key(DCSKey.initialize)))
        }
        try await plainPut(DCSKey.initialize, sysid)
        return true
    }

    public func cancelInitialization() async throws {
        let answer = try await call("/v3/kv/deleterange", EtcdV3Wire.deleteBody(key(DCSKey.initialize)), "delete initialize")
        await cache.applyLocal(DCSKey.initialize, nil, revision: EtcdV3Wire.headerRevision(answer))
    }

    public func setConfig(_ value: JSONValue, version: String?) async throws -> Bool {
        try await casPut(DCSKey.config, value.compactString, version: version)
    }

    public func setFailover(_ value: JSONValue, version: String?) async throws -> Bool {
        try await casPut(DCSKey.failover, value.compactString, version: version)
    }

    public func setSync(_ value: JSONValue, version: String?) async throws -> Bool {
        try await casPut(DCSKey.sync, value.compactString, version: version)
    }

    public func deleteSync(version: String?) async throws -> Bool {
        let syncKey = key(DCSKey.sync)
        let answer: JSONValue
        if let version {
            let txn = EtcdV3Wire.txn(compare: [EtcdV3Wire.compareModRevision(syncKey, equals: try checkedVersion(version))],
                                     success: [EtcdV3Wire.opDelete(syncKey)])
            answer = try await call("/v3/kv/txn", txn, "delete sync")
            guard EtcdV3Wire.succeeded(answer) else { return false }
        } else {
            answer = try await call("/v3/kv/deleterange", EtcdV3Wire.deleteBody(syncKey), "delete sync")
        }
        await cache.applyLocal(DCSKey.sync, nil, revision: EtcdV3Wire.headerRevision(answer))
        return true
    }

    public func setHistory(_ value: JSONValue) async throws { try await plainPut(DCSKey.history, value.compactString) }
    public func setStatus(_ value: JSONValue) async throws { try await plainPut(DCSKey.status, value.compactString) }
    public func setFailsafe(_ value: JSONValue) async throws { try await plainPut(DCSKey.failsafe, value.compactString) }
    public func setMesh(_ value: JSONValue) async throws { try await plainPut(DCSKey.mesh, value.compactString) }

    public func deleteCluster() async throws {
        _ = try await call("/v3/kv/deleterange",
                           EtcdV3Wire.deleteBody(prefix, rangeEnd: EtcdV3Wire.rangeEnd(forPrefix: prefix)),
                           "delete \(prefix)")
    }

    // MARK: helpers

    /// Unconditional put without lease.
    func plainPut(_ relative: String, _ value: String) async throws {
        let answer = try await call("/v3/kv/put", EtcdV3Wire.putBody(key(relative), value, lease: nil), "put \(relative)")
        let revision = EtcdV3Wire.headerRevision(answer)
        await cache.applyLocal(relative, DCSRawValue(value: value, version: revision.map(String.init)), revision: revision)
    }

    /// Put guarded by `mod_revision == version`; unconditional when `version` is nil.
    func casPut(_ relative: String, _ value: String, version: String?) async throws -> Bool {
        guard let version else {
            try await plainPut(relative, value)
            return true
        }
        return try await compareAndPut(relative, value,
                                       compare: EtcdV3Wire.compareModRevision(key(relative), equals: try checkedVersion(version)))
    }

    func compareAndPut(_ relative: String, _ value: String, compare: JSONValue) async throws -> Bool {
        let txn = EtcdV3Wire.txn(compare: [compare], success: [EtcdV3Wire.opPut(key(relative), value, lease: nil)])
        let answer = try await call("/v3/kv/txn", txn, "compare-and-set \(relative)")
        guard EtcdV3Wire.succeeded(answer) else { return false }
        let revision = EtcdV3Wire.headerRevision(answer)
        await cache.applyLocal(relative, DCSRawValue(value: value, version: revision.map(String.init)), revision: revision)
        return true
    }

    /// Versions are `mod_revision` decimal strings; anything else is a caller bug worth naming.
    func checkedVersion(_ version: String) throws -> String {
        guard let number = Int64(version), number >= 0 else {
            throw DCSError.protocolError("invalid etcd v3 version '\(version)': expected a mod_revision number")
        }
        return String(number)
    }
}
