import Foundation
import PostgresNIO
import StazConcurrency
import StazCore
import StazSystem

/// A logical slot as the primary reports it, with its on-disk state file.
public struct PrimaryLogicalSlot: Sendable, Equatable {
    public var name: String
    public var plugin: String
    public var database: String
    public var restartLSN: LSN?
    public var catalogXmin: UInt32?
    /// nil when the file could not be decoded (hex); check `isValid` before installing.
    public var state: SlotStateFile?
}

/// The I/O of logical slot failover on a replica (decisions: `LogicalSlotRules`). PostgreSQL
/// 15/16 has no slot synchronisation of its own, so, as Patroni does for permanent logical
/// slots: the slot's state file is read from the primary (`pg_read_binary_file`), written into
/// the stopped replica's `pg_replslot` (PostgreSQL loads slots only at startup), and the copy
/// is then moved forward with `pg_replication_slot_advance`, which PostgreSQL 15 allows in
/// recovery for a logical slot (fast-forward decoding; it must run in the slot's database and
/// stops at the replay position).
extension PostgresController {
    /// Copies staz made, tagged with this member's name like the member-slot record.
    static let logicalCopiesFileName = "staz.logical-slots.json"

    public nonisolated func ownedLogicalSlotCopies() -> Set<String> {
        guard let text = SmallFile.readWhole(dataPath(Self.logicalCopiesFileName)) else { return [] }
        return SlotOwnership.decode(text, member: memberName)
    }

    public nonisolated func saveOwnedLogicalSlotCopies(_ names: Set<String>) async throws {
        try await writeFileAtomically(dataPath(Self.logicalCopiesFileName), contents: SlotOwnership.encode(names, member: memberName))
    }

    nonisolated func superuserEndpoint(_ upstream: UpstreamTarget, database: String = "postgres") -> SQLEndpoint {
        SQLEndpoint(host: upstream.host, port: upstream.port, user: section.superuser.username,
                    password: section.superuser.password, database: database, security: superuserSecurity)
    }

    /// The named logical slots of `plugins` on the primary `upstream`, with their state files.
    /// Slots that are not there are simply absent; a server still in recovery is an error.
    public func fetchLogicalSlots(_ names: [String], plugins: [String], from upstream: UpstreamTarget) async throws -> [PrimaryLogicalSlot] {
        guard !names.isEmpty, !plugins.isEmpty else { return [] }
        // A leader still finishing its promotion has no answer yet: asked then, an empty result
        // would say "no such slot there" and the name would not be asked for again.
        let rows = try await Self.queryOnce(superuserEndpoint(upstream), [
            "DO $$BEGIN IF pg_catalog.pg_is_in_recovery() THEN RAISE EXCEPTION 'the server is still in recovery (not a primary yet)'; END IF; END$$",
            """
            SELECT s.slot_name::text AS name, s.plugin::text AS plugin, d.datname::text AS database,
                   s.restart_lsn::text AS restart_lsn, s.catalog_xmin::text AS catalog_xmin,
                   encode(pg_catalog.pg_read_binary_file('pg_replslot/' || s.slot_name || '/state'), 'hex') AS state
              FROM pg_catalog.pg_replication_slots s JOIN pg_catalog.pg_database d ON d.oid = s.datoid
             WHERE NOT pg_catalog.pg_is_in_recovery() AND s.slot_type = 'logical' AND NOT s.temporary
               AND s.plugin = ANY(ARRAY[\(plugins.map(sqlLiteral).joined(separator: ", "))]::text[])
               AND s.slot_name = ANY(ARRAY[\(names.map(sqlLiteral).joined(separator: ", "))]::text[])
            """], timeout: 10, logger: logger)
        return rows.compactMap { row in
            guard let name = row["name"] ?? nil, let plugin = row["plugin"] ?? nil, let database = row["database"] ?? nil else { return nil }
            return PrimaryLogicalSlot(name: name, plugin: plugin, database: database,
                                      restartLSN: (row["restart_lsn"] ?? nil).flatMap(LSN.init(text:)),
                                      catalogXmin: (row["catalog_xmin"] ?? nil).flatMap { UInt32($0) },
                                      state: (row["state"] ?? nil).flatMap(SlotStateFile.init(hex:)))
        }
    }

    /// Start of the oldest WAL segment in the local pg_wal (any timeline): a copied slot whose
    /// restart_lsn is older could never be advanced here.
    public func oldestLocalWAL() async throws -> LSN? {
        let row = try await queryLocal("""
            SELECT (('x' || substr(w.name, 9, 8))::bit(32)::bigint * 4294967296
                    + ('x' || substr(w.name, 17, 8))::bit(32)::bigint
                      * (SELECT setting::bigint FROM pg_catalog.pg_settings WHERE name = 'wal_segment_size'))::text AS start
              FROM pg_catalog.pg_ls_waldir() w
             WHERE w.name ~ '^[0-9A-F]{24}$'
             ORDER BY substr(w.name, 9) LIMIT 1
            """, timeout: 5).first
        return (row?["start"] ?? nil).flatMap { UInt64($0) }.map(LSN.init)
    }

    /// Writes the state files into `pg_replslot` of the STOPPED server (Patroni's sequence: a
    /// `.tmp` directory, fsync, replace, fsync the parent). PostgreSQL removes leftover `.tmp`
    /// directories at startup.
    public nonisolated func installLogicalSlotCopies(_ slots: [(name: String, state: SlotStateFile)]) async throws {
        let replslot = dataPath("pg_replslot")
        let slots = slots.map { SlotCopy(name: $0.name, state: $0.state) }
        try await BlockingCalls.perform { try Self.installNow(slots, replslot: replslot) }
    }

    private struct SlotCopy: Sendable { var name: String; var state: SlotStateFile }

    private static func installNow(_ slots: [SlotCopy], replslot: String) throws {
        let fm = FileManager.default
        for slot in slots {
            let name = slot.name, state = slot.state
            let final = replslot + "/" + name, temporary = final + ".tmp"
            try? fm.removeItem(atPath: temporary)
            guard mkdir(temporary, 0o700) == 0 else { throw POSIXFileError(path: temporary, operation: "create", code: errno) }
            let file = temporary + "/state"
            let fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard fd >= 0 else { throw POSIXFileError(path: file, operation: "create", code: errno) }
            let written = state.bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            let code = errno
            fsync(fd)
            close(fd)
            guard written == state.bytes.count else { throw POSIXFileError(path: file, operation: "write", code: code) }
            fsyncPath(temporary)
            if fm.fileExists(atPath: final) { try fm.removeItem(atPath: final) }
            guard rename(temporary, final) == 0 else { throw POSIXFileError(path: final, operation: "rename into place", code: errno) }
            fsyncPath(final)
        }
        fsyncPath(replslot)
    }

    private static func fsyncPath(_ path: String) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// `pg_replication_slot_advance` on the local server, in the slot's database, on a
    /// connection of its own (it may decode a lot of WAL; nothing else waits for it).
    public nonisolated func advanceLogicalSlot(_ advance: SlotAdvance, timeout: Double = 60) async throws -> LSN? {
        var endpoint = localEndpoint
        endpoint.database = advance.database
        let row = try await Self.queryOnce(endpoint, [
            "SELECT end_lsn::text AS end_lsn FROM pg_catalog.pg_replication_slot_advance("
                + "\(sqlLiteral(advance.name)), \(sqlLiteral(advance.target.description))::pg_lsn)",
        ], timeout: timeout, logger: logger).first
        return (row?["end_lsn"] ?? nil).flatMap(LSN.init(text:))
    }

    /// `catalog_xmin` of the physical slot `slot` on the primary `upstream` (what this replica's
    /// hot_standby_feedback makes the primary keep); nil when unset or the slot is missing.
    public nonisolated func physicalSlotCatalogXmin(_ slot: String, on upstream: UpstreamTarget) async throws -> UInt32? {
        let row = try await Self.queryOnce(superuserEndpoint(upstream), [
            "SELECT catalog_xmin::text AS x FROM pg_catalog.pg_replication_slots WHERE slot_name = \(sqlLiteral(slot))",
        ], timeout: 5, logger: logger).first
        return (row?["x"] ?? nil).flatMap { UInt32($0) }
    }

    public func dropReplicationSlot(_ name: String) async throws {
        _ = try await queryLocal("SELECT pg_catalog.pg_drop_replication_slot(\(sqlLiteral(name)))::text AS s", timeout: 5)
    }

    /// The SQLSTATE of a server error, if `error` is one.
    public nonisolated static func sqlState(of error: Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// The server's message for a SQL error, else the error's own text.
    public nonisolated static func errorText(_ error: Error) -> String { describe(error) }
}
