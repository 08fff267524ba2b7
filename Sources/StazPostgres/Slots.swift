import Foundation
import StazCore

public struct ReplicationSlotInfo: Sendable, Equatable {
    public var name: String
    /// `physical` or `logical`.
    public var type: String
    public var restartLSN: LSN?
    public var confirmedFlushLSN: LSN?
    public var active: Bool
    /// Logical slots: output plugin and database name (nil for physical slots).
    public var plugin: String? = nil
    public var database: String? = nil
    /// `wal_status` (`reserved`, `extended`, `unreserved`, `lost`); `lost` = invalidated.
    public var walStatus: String? = nil
    public var catalogXmin: UInt32? = nil
    /// Dropped when its session ends (pg_basebackup's slot, for instance).
    public var temporary: Bool = false
    public init(name: String, type: String, restartLSN: LSN? = nil, confirmedFlushLSN: LSN? = nil, active: Bool,
                plugin: String? = nil, database: String? = nil, walStatus: String? = nil, catalogXmin: UInt32? = nil,
                temporary: Bool = false) {
        self.name = name; self.type = type; self.restartLSN = restartLSN; self.confirmedFlushLSN = confirmedFlushLSN; self.active = active
        self.plugin = plugin; self.database = database; self.walStatus = walStatus; self.catalogXmin = catalogXmin
        self.temporary = temporary
    }
}

/// What `syncMemberSlots` will do, decided by a pure function so the pgEdge rule is testable.
public struct SlotPlan: Sendable, Equatable {
    public var create: [String] = []
    public var drop: [String] = []
    /// Slots staz does not own and therefore keeps (Spock/pglogical slots, manual slots, ...).
    public var ignored: [String] = []
    /// Owned names whose slot no longer exists: removed from the ownership record.
    public var forget: [String] = []
}

public enum SlotRules {
    /// Create desired slots that are missing. Drop a slot only when staz created it, it is
    /// physical, no longer desired and inactive. Every other undesired slot is left alone
    /// (pgEdge: logical and unknown slots must survive).
    public static func plan(existing: [ReplicationSlotInfo], desired: [String], owned: Set<String>) -> SlotPlan {
        var plan = SlotPlan()
        let existingNames = Set(existing.map(\.name))
        var seen = Set<String>()
        for name in desired where !existingNames.contains(name) && seen.insert(name).inserted { plan.create.append(name) }
        let wanted = Set(desired)
        for slot in existing where !wanted.contains(slot.name) {
            if owned.contains(slot.name) && slot.type == "physical" {
                if !slot.active { plan.drop.append(slot.name) }
            } else if !owned.contains(slot.name) {
                plan.ignored.append(slot.name)
            }
        }
        plan.forget = owned.filter { !existingNames.contains($0) }.sorted()
        return plan
    }
}

/// The names of slots staz created on this node, in `<data>/staz.slots.json`, tagged with the
/// member name so a copy arriving via pg_basebackup/pg_rewind from another node is ignored.
enum SlotOwnership {
    static let fileName = "staz.slots.json"

    static func decode(_ text: String, member: String) -> Set<String> {
        guard let object = (try? JSONValue.parse(text))?.objectValue, object["member"]?.stringValue == member else { return [] }
        return Set((object["slots"]?.arrayValue ?? []).compactMap(\.stringValue))
    }

    static func encode(_ names: Set<String>, member: String) -> String {
        JSONValue.object(JSONObject([("member", .string(member)), ("slots", .array(names.sorted().map { .string($0) }))])).compactString + "\n"
    }
}

extension PostgresController {
    nonisolated func ownedSlots() -> Set<String> {
        guard let text = try? String(contentsOfFile: dataPath(SlotOwnership.fileName), encoding: .utf8) else { return [] }
        return SlotOwnership.decode(text, member: memberName)
    }

    nonisolated func saveOwnedSlots(_ names: Set<String>) throws {
        try writeFileAtomically(dataPath(SlotOwnership.fileName), contents: SlotOwnership.encode(names, member: memberName))
    }

    public func replicationSlots() async throws -> [ReplicationSlotInfo] {
        let rows = try await queryLocal("""
            SELECT slot_name::text AS name, slot_type AS type, restart_lsn::text AS restart_lsn,
                   confirmed_flush_lsn::text AS confirmed_flush_lsn, active::text AS active,
                   plugin::text AS plugin, database::text AS database, wal_status AS wal_status,
                   catalog_xmin::text AS catalog_xmin, temporary::text AS temporary
              FROM pg_catalog.pg_replication_slots ORDER BY slot_name
            """, timeout: 5)
        return rows.compactMap { row in
            guard let name = row["name"] ?? nil else { return nil }
            return ReplicationSlotInfo(name: name, type: (row["type"] ?? nil) ?? "physical",
                                       restartLSN: (row["restart_lsn"] ?? nil).flatMap(LSN.init(text:)),
                                       confirmedFlushLSN: (row["confirmed_flush_lsn"] ?? nil).flatMap(LSN.init(text:)),
                                       active: row["active"] == .some("true"),
                                       plugin: row["plugin"] ?? nil, database: row["database"] ?? nil,
                                       walStatus: row["wal_status"] ?? nil,
                                       catalogXmin: (row["catalog_xmin"] ?? nil).flatMap { UInt32($0) },
                                       temporary: row["temporary"] == .some("true"))
        }
    }

    /// Creates missing physical slots for `desired` member slot names (WAL reserved at once) and
    /// drops only inactive physical slots that staz itself created and no longer wants.
    public func syncMemberSlots(desired: [String]) async throws {
        let existing = try await replicationSlots()
        var owned = ownedSlots()
        let plan = SlotRules.plan(existing: existing, desired: desired, owned: owned)
        for name in plan.ignored where reportedUnknownSlots.insert(name).inserted {
            logger.info("Ignored unknown replication slot '\(name)'")
        }
        var ownershipChanged = !plan.forget.isEmpty
        owned.subtract(plan.forget)
        defer { if ownershipChanged { try? saveOwnedSlots(owned) } }
        for name in plan.create {
            // Recorded before creating, so a crash in between cannot leave an unowned staz slot.
            owned.insert(name); ownershipChanged = true
            try saveOwnedSlots(owned)
            _ = try await queryLocal("SELECT pg_catalog.pg_create_physical_replication_slot(\(sqlLiteral(name)), true)::text AS s", timeout: 5)
            logger.info("created physical replication slot '\(name)'")
        }
        for name in plan.drop {
            do {
                _ = try await queryLocal("SELECT pg_catalog.pg_drop_replication_slot(\(sqlLiteral(name)))::text AS s", timeout: 5)
                owned.remove(name); ownershipChanged = true
                logger.info("dropped replication slot '\(name)'")
            } catch {
                // Typically it became active in the meantime; retried next cycle.
                logger.warning("could not drop replication slot '\(name)': \(Self.describe(error))")
            }
        }
    }
}
