import Foundation
import StazCore
import StazSystem

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
    /// The oldest transaction a standby's hot_standby_feedback asks this slot to keep.
    public var xmin: UInt32? = nil
    /// Dropped when its session ends (pg_basebackup's slot, for instance).
    public var temporary: Bool = false
    public init(name: String, type: String, restartLSN: LSN? = nil, confirmedFlushLSN: LSN? = nil, active: Bool,
                plugin: String? = nil, database: String? = nil, walStatus: String? = nil, catalogXmin: UInt32? = nil,
                temporary: Bool = false, xmin: UInt32? = nil) {
        self.name = name; self.type = type; self.restartLSN = restartLSN; self.confirmedFlushLSN = confirmedFlushLSN; self.active = active
        self.plugin = plugin; self.database = database; self.walStatus = walStatus; self.catalogXmin = catalogXmin
        self.temporary = temporary; self.xmin = xmin
    }
}

/// One cycle's work on this member's slots, decided by a pure function (`SlotRules.plan`) so
/// the rules, pgEdge's among them, are testable.
public struct SlotPlan: Sendable, Equatable {
    /// Physical slots to create (WAL reserved at once).
    public var create: [String] = []
    /// Permanent logical slots to create (on a primary only).
    public var createLogical: [DesiredLogicalSlot] = []
    /// Slots to drop, with the reason logged for each.
    public var drop: [String] = []
    public var dropReasons: [String: String] = [:]
    /// Physical slots nobody streams from, moved to where their owner is known to be.
    public var advance: [PhysicalSlotAdvance] = []
    /// Desired physical slots staz did not create: it manages them from now on.
    public var adopt: [String] = []
    /// Slots staz does not own and therefore keeps (Spock/pglogical slots, manual slots, ...).
    public var ignored: [String] = []
    /// Owned names whose slot no longer exists: removed from the ownership record.
    public var forget: [String] = []
    /// Slots of a wanted name but of another kind that staz did not create: left alone.
    public var conflicts: [String] = []
    public init() {}
}

public struct PhysicalSlotAdvance: Sendable, Equatable {
    public var name: String
    public var target: LSN
    public init(name: String, target: LSN) { self.name = name; self.target = target }
}

/// What the rules know besides the slots themselves.
public struct SlotRuleContext: Sendable, Equatable {
    /// Names of slots staz created on this member (`staz.slots.json`).
    public var owned: Set<String> = []
    /// Slots another part of staz manages (logical slot copies on a replica): not reported.
    public var managedElsewhere: Set<String> = []
    public var ignore: [SlotMatcher] = []
    /// Running as a primary: permanent logical slots can be created.
    public var primary = false
    /// Drop an inactive physical slot that should not be in use but holds an `xmin` (it would
    /// hold the xmin horizon back for good): a leader that is a primary, or a replica with a leader.
    public var cleanInactiveWithXmin = false
    /// In pause nothing is dropped.
    public var paused = false
    public init(owned: Set<String> = [], managedElsewhere: Set<String> = [], ignore: [SlotMatcher] = [], primary: Bool = false,
                cleanInactiveWithXmin: Bool = false, paused: Bool = false) {
        self.owned = owned; self.managedElsewhere = managedElsewhere; self.ignore = ignore; self.primary = primary
        self.cleanInactiveWithXmin = cleanInactiveWithXmin; self.paused = paused
    }
}

public enum SlotRules {
    /// Patroni's `SlotsHandler.sync_replication_slots`, with pgEdge's rule: a slot staz did not
    /// create is never dropped (Spock's and pglogical's slots, manual ones), and neither is one
    /// `ignore_slots` matches. Desired physical slots are created, advanced when nothing streams
    /// from them, and dropped to be made again when invalidated or holding a stale `xmin`.
    public static func plan(existing: [ReplicationSlotInfo], desired: DesiredSlots, context: SlotRuleContext) -> SlotPlan {
        var plan = SlotPlan()
        let byName = Dictionary(existing.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        func isIgnored(_ slot: ReplicationSlotInfo) -> Bool {
            context.ignore.contains { $0.matches(name: slot.name, type: slot.type, database: slot.database, plugin: slot.plugin) }
        }
        func drop(_ slot: ReplicationSlotInfo, _ reason: String) {
            guard !context.paused, !slot.active, !isIgnored(slot), !plan.drop.contains(slot.name) else { return }
            plan.drop.append(slot.name)
            plan.dropReasons[slot.name] = reason
        }

        for wanted in desired.physical {
            guard let slot = byName[wanted.name] else {
                if !plan.create.contains(wanted.name) { plan.create.append(wanted.name) }
                continue
            }
            guard slot.type == "physical" else {
                if context.owned.contains(slot.name) { drop(slot, "it is a \(slot.type) slot, a physical one is wanted") } else {
                    plan.conflicts.append("slot '\(slot.name)' is a \(slot.type) slot staz did not create; a physical slot of that name is wanted")
                }
                continue
            }
            if !context.owned.contains(slot.name) { plan.adopt.append(slot.name) }
            if slot.walStatus == "lost" { drop(slot, "its WAL is lost (wal_status=lost)"); continue }
            guard !wanted.expectedActive else { continue }
            if context.cleanInactiveWithXmin, let xmin = slot.xmin {
                drop(slot, "nothing should stream from it but it holds xmin \(xmin)")
                continue
            }
            guard slot.xmin == nil else { continue }
            guard let restart = slot.restartLSN else { drop(slot, "it has no restart_lsn (no WAL reserved)"); continue }
            if let target = wanted.position, target > restart { plan.advance.append(PhysicalSlotAdvance(name: slot.name, target: target)) }
        }

        for wanted in desired.logical {
            guard let slot = byName[wanted.name] else {
                if context.primary { plan.createLogical.append(wanted) }
                continue
            }
            let matches = slot.type == "logical" && slot.plugin == wanted.plugin && slot.database == wanted.database
            guard context.primary else { continue }  // a replica's copies are the copier's
            if !matches {
                if context.owned.contains(slot.name) {
                    drop(slot, "it is not a logical slot of plugin \(wanted.plugin) in database \(wanted.database)")
                } else {
                    plan.conflicts.append("slot '\(slot.name)' is not a logical slot of plugin \(wanted.plugin) in database \(wanted.database) and staz did not create it")
                }
            } else if slot.walStatus == "lost", context.owned.contains(slot.name) {
                drop(slot, "its WAL is lost (wal_status=lost)")
            }
        }

        let wantedNames = desired.names
        for slot in existing where !wantedNames.contains(slot.name) && !slot.temporary {
            if context.owned.contains(slot.name) {
                drop(slot, "no longer wanted")
            } else if !context.managedElsewhere.contains(slot.name) {
                plan.ignored.append(slot.name)
            }
        }
        plan.forget = context.owned.filter { byName[$0] == nil }.sorted()
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
        guard let text = SmallFile.readWhole(dataPath(SlotOwnership.fileName)) else { return [] }
        return SlotOwnership.decode(text, member: memberName)
    }

    nonisolated func saveOwnedSlots(_ names: Set<String>) async throws {
        try await writeFileAtomically(dataPath(SlotOwnership.fileName), contents: SlotOwnership.encode(names, member: memberName))
    }

    public func replicationSlots() async throws -> [ReplicationSlotInfo] {
        let rows = try await queryLocal("""
            SELECT slot_name::text AS name, slot_type AS type, restart_lsn::text AS restart_lsn,
                   confirmed_flush_lsn::text AS confirmed_flush_lsn, active::text AS active,
                   plugin::text AS plugin, database::text AS database, wal_status AS wal_status,
                   catalog_xmin::text AS catalog_xmin, temporary::text AS temporary, xmin::text AS xmin
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
                                       temporary: row["temporary"] == .some("true"),
                                       xmin: (row["xmin"] ?? nil).flatMap { UInt32($0) })
        }
    }

    /// Brings this member's slots to `desired` (see `SlotRules.plan`); `context.owned` is
    /// filled in from the ownership record here.
    public func syncSlots(desired: DesiredSlots, context: SlotRuleContext) async throws {
        let existing = try await replicationSlots()
        var owned = ownedSlots()
        var context = context
        context.owned = owned
        let plan = SlotRules.plan(existing: existing, desired: desired, context: context)
        for name in plan.ignored where reportedUnknownSlots.insert(name).inserted {
            logger.info("Ignored unknown replication slot '\(name)'")
        }
        for conflict in plan.conflicts where reportedUnknownSlots.insert(conflict).inserted { logger.error("\(conflict)") }
        var ownershipChanged = !plan.forget.isEmpty || !plan.adopt.isEmpty
        owned.subtract(plan.forget)
        owned.formUnion(plan.adopt)
        // The record is saved whatever happens below, as far as it got.
        let outcome: Result<Void, Error>
        do {
            for name in plan.drop {
                do {
                    _ = try await queryLocal("SELECT pg_catalog.pg_drop_replication_slot(\(sqlLiteral(name)))::text AS s", timeout: 5)
                    owned.remove(name); ownershipChanged = true
                    logger.info("dropped replication slot '\(name)': \(plan.dropReasons[name] ?? "no longer wanted")")
                } catch {
                    // Typically it became active in the meantime; retried next cycle.
                    logger.warning("could not drop replication slot '\(name)': \(Self.describe(error))")
                }
            }
            for name in plan.create where !plan.drop.contains(name) {
                // Recorded before creating, so a crash in between cannot leave an unowned staz slot.
                owned.insert(name); ownershipChanged = true
                try await saveOwnedSlots(owned)
                _ = try await queryLocal("SELECT pg_catalog.pg_create_physical_replication_slot(\(sqlLiteral(name)), true)::text AS s", timeout: 5)
                logger.info("created physical replication slot '\(name)'")
            }
            for slot in plan.createLogical {
                owned.insert(slot.name); ownershipChanged = true
                try await saveOwnedSlots(owned)
                do {
                    try await createLogicalSlot(slot)
                    logger.info("created logical replication slot '\(slot.name)' (plugin \(slot.plugin), database \(slot.database))")
                } catch {
                    logger.error("could not create logical replication slot '\(slot.name)' (plugin \(slot.plugin), database \(slot.database)): \(Self.describe(error))")
                }
            }
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        if ownershipChanged { try? await saveOwnedSlots(owned) }
        try outcome.get()
        for advance in plan.advance {
            do {
                _ = try await queryLocal("SELECT pg_catalog.pg_replication_slot_advance(\(sqlLiteral(advance.name)), \(sqlLiteral(advance.target.description))::pg_lsn)::text AS s", timeout: 5)
            } catch {
                logger.warning("could not advance replication slot '\(advance.name)' to \(advance.target): \(Self.describe(error))")
            }
        }
    }

    /// `pg_create_logical_replication_slot` in the slot's database, on a connection of its own
    /// (it waits for running transactions to finish before the slot is consistent).
    nonisolated func createLogicalSlot(_ slot: DesiredLogicalSlot, timeout: Double = 30) async throws {
        var endpoint = localEndpoint
        endpoint.database = slot.database
        _ = try await Self.queryOnce(endpoint, [
            "SELECT pg_catalog.pg_create_logical_replication_slot(\(sqlLiteral(slot.name)), \(sqlLiteral(slot.plugin)))::text AS s "
                + "WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = \(sqlLiteral(slot.name)))",
        ], timeout: timeout, logger: logger)
    }
}
