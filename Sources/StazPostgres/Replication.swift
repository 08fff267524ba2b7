import Foundation
import StazCore

/// One walsender of the local primary (`pg_stat_replication`); staz members connect with
/// `application_name` = member name.
public struct ReplicationConnection: Sendable, Equatable {
    public var applicationName: String
    public var userName: String?
    public var clientAddress: String?
    /// `streaming`, `catchup`, `backup`, `startup`, `stopping`.
    public var state: String
    /// `async`, `potential`, `sync`, `quorum`.
    public var syncState: String
    public var syncPriority: Int
    public var writeLSN: LSN?
    public var flushLSN: LSN?
    public var replayLSN: LSN?
    /// The primary's `synchronous_commit` and flush position when this row was read (the same
    /// on every row of one read): which position a commit waits for, and where lag starts.
    public var synchronousCommit: String?
    public var primaryFlushLSN: LSN?

    public init(applicationName: String, userName: String? = nil, clientAddress: String? = nil, state: String,
                syncState: String, syncPriority: Int = 0, writeLSN: LSN? = nil, flushLSN: LSN? = nil, replayLSN: LSN? = nil,
                synchronousCommit: String? = nil, primaryFlushLSN: LSN? = nil) {
        self.applicationName = applicationName; self.userName = userName; self.clientAddress = clientAddress
        self.state = state; self.syncState = syncState; self.syncPriority = syncPriority
        self.writeLSN = writeLSN; self.flushLSN = flushLSN; self.replayLSN = replayLSN
        self.synchronousCommit = synchronousCommit; self.primaryFlushLSN = primaryFlushLSN
    }

    /// The object Patroni lists under `replication` in the status JSON.
    public var statusJSON: JSONObject {
        JSONObject([
            ("usename", userName.map { .string($0) } ?? .null),
            ("application_name", .string(applicationName)),
            ("client_addr", clientAddress.map { .string($0) } ?? .null),
            ("state", .string(state)),
            ("sync_state", .string(syncState)),
            ("sync_priority", .int(Int64(syncPriority))),
        ])
    }
}

extension PostgresController {
    /// The physical walsenders of this primary, ordered by application name.
    public func replicationConnections() async throws -> [ReplicationConnection] {
        let rows = try await queryLocal("""
            SELECT application_name::text AS application_name, usename::text AS usename,
                   host(client_addr)::text AS client_addr, state::text AS state, sync_state::text AS sync_state,
                   sync_priority::text AS sync_priority, write_lsn::text AS write_lsn,
                   flush_lsn::text AS flush_lsn, replay_lsn::text AS replay_lsn,
                   pg_catalog.current_setting('synchronous_commit') AS synchronous_commit,
                   pg_catalog.pg_current_wal_flush_lsn()::text AS primary_flush_lsn
              FROM pg_catalog.pg_stat_replication
             ORDER BY application_name
            """, timeout: 2)
        return rows.compactMap { row in
            func text(_ key: String) -> String? { row[key].flatMap { $0 } }
            guard let name = text("application_name") else { return nil }
            return ReplicationConnection(applicationName: name, userName: text("usename"), clientAddress: text("client_addr"),
                                         state: text("state") ?? "", syncState: text("sync_state") ?? "async",
                                         syncPriority: text("sync_priority").flatMap { Int($0) } ?? 0,
                                         writeLSN: text("write_lsn").flatMap(LSN.init(text:)),
                                         flushLSN: text("flush_lsn").flatMap(LSN.init(text:)),
                                         replayLSN: text("replay_lsn").flatMap(LSN.init(text:)),
                                         synchronousCommit: text("synchronous_commit"),
                                         primaryFlushLSN: text("primary_flush_lsn").flatMap(LSN.init(text:)))
        }
    }

    /// `pg_current_wal_flush_lsn()` of the primary (the point a new synchronous standby must reach).
    public func currentFlushLSN() async throws -> LSN? {
        let rows = try await queryLocal("SELECT pg_catalog.pg_current_wal_flush_lsn()::text AS lsn", timeout: 2)
        return rows.first.flatMap { $0["lsn"] ?? nil }.flatMap(LSN.init(text:))
    }
}
