import StazCore

// Held slots: no peer change is skipped when a subscriber zone fails over.
//
// pglogical's apply worker commits with synchronous_commit = local and confirms a change to its
// provider as soon as the change is flushed locally (pglogical_apply.c). Spock 5 holds its
// feedback for the synchronous standby only while a local flush is outstanding: once every
// applied commit is flushed locally it reports the last position it received
// (spock_apply.c, send_feedback), whether the standby has it or not. With synchronous
// replication inside the subscriber zone, its standby can still lack a change the provider's
// slot already moved past; if the subscriber's primary dies then, the promoted standby asks for
// its own origin position, the walsender starts at max(that, the slot's confirmed_flush_lsn),
// and the change is never sent again.
//
// So the provider zone's leader keeps, beside each subscription slot S, a held copy T
// (`HeldSlotName.forSlot(S)`) that moves only as far as the subscriber zone's standbys have
// applied: the subscriber zone's leader publishes, per slot, the origin position its standbys
// have (`standbyConfirmed`, in its ledger). Whenever S is not in use and T is behind it, S is
// replaced by a copy of T. That is always harmless: a walsender starts at what the subscriber
// asks for when the slot is behind it, so a subscriber that has everything receives nothing
// twice, and a promoted standby receives exactly what it lacks.

/// A logical slot of the provider's plugin on our primary.
public struct ProviderSlotObserved: Sendable, Equatable {
    public var name: String
    public var database: String
    public var active: Bool
    public var confirmed: LSN?
    /// `wal_status = 'lost'`: invalidated, its WAL is gone.
    public var lost: Bool
    /// When the walsender using it started (the provider's clock, epoch seconds).
    public var walsenderStartedAt: Double?

    public init(name: String, database: String, active: Bool, confirmed: LSN?, lost: Bool = false,
                walsenderStartedAt: Double? = nil) {
        self.name = name; self.database = database; self.active = active; self.confirmed = confirmed; self.lost = lost
        self.walsenderStartedAt = walsenderStartedAt
    }
}

public enum HeldSlotAction: Sendable, Equatable {
    /// `pg_copy_logical_replication_slot(slot, held)`.
    case create(database: String, slot: String, held: String)
    /// `pg_replication_slot_advance(held, lsn)`.
    case advance(database: String, held: String, to: LSN)
    /// Drop `slot` and copy `held` to its name, in one statement.
    case swap(database: String, slot: String, held: String)
    /// A swap of a slot whose walsender serves a member that no longer leads its subscriber
    /// zone: the walsender is ended and the slot replaced in one server-side block, so the new
    /// leader's apply worker cannot take the slot in between and be sent what it lacks no more.
    case takeOver(database: String, slot: String, held: String)
    /// End the walsender of a slot that needs no swap (its subscriber zone's new leader waits
    /// for it otherwise until `wal_sender_timeout`).
    case endWalsender(database: String, slot: String)
    case drop(database: String, held: String)

    public var database: String {
        switch self {
        case .create(let d, _, _), .advance(let d, _, _), .swap(let d, _, _), .takeOver(let d, _, _), .drop(let d, _),
             .endWalsender(let d, _): return d
        }
    }

    public var summary: String {
        switch self {
        case .create(_, let slot, let held): return "hold slot \(slot) as \(held)"
        case .advance(_, let held, let lsn): return "advance held slot \(held) to \(lsn)"
        case .swap(_, let slot, let held): return "replace idle slot \(slot) by its held copy \(held)"
        case .takeOver(_, let slot, let held):
            return "end the walsender of slot \(slot) (its subscriber zone has a new leader or none) and replace the slot by its held copy \(held)"
        case .endWalsender(_, let slot): return "end the walsender of slot \(slot): its subscriber zone has a new leader or none"
        case .drop(_, let held): return "drop held slot \(held): its slot is gone"
        }
    }

    public var sql: String {
        switch self {
        case .create(_, let slot, let held):
            return "SELECT pg_catalog.pg_copy_logical_replication_slot(\(literal(slot)), \(literal(held)))::text AS result"
        case .advance(_, let held, let lsn):
            return "SELECT pg_catalog.pg_replication_slot_advance(\(literal(held)), \(literal(lsn.description))::pg_lsn)::text AS result"
        case .swap(_, let slot, let held):
            // The drop runs first (left to right); it fails while a walsender uses the slot.
            return "SELECT pg_catalog.pg_drop_replication_slot(\(literal(slot)))::text AS dropped, "
                + "pg_catalog.pg_copy_logical_replication_slot(\(literal(held)), \(literal(slot)))::text AS copied"
        case .drop(_, let held):
            return "SELECT pg_catalog.pg_drop_replication_slot(\(literal(held)))::text AS result"
        case .takeOver(_, let slot, let held):
            return HeldSlotQueries.takeOver(slot: slot, held: held)
        case .endWalsender(_, let slot):
            return HeldSlotQueries.endWalsender(slot: slot)
        }
    }
}

public enum HeldSlots {
    /// The provider side, one round: hold every subscription slot, advance each held copy as far
    /// as its subscriber zone's standbys confirm (never past the slot itself), replace an idle
    /// slot that is ahead of its held copy, drop held copies whose slot is gone and no zone
    /// subscribes to any more.
    /// - `standbyConfirmed`: slot name → origin position the subscriber zone's standbys have,
    ///   merged from every other zone's ledger.
    /// - `displaced`: slots whose walsender serves a member that no longer leads its subscriber
    ///   zone (`staleWalsenders`): the walsender is ended, and the slot replaced at once when it
    ///   is ahead of its held copy.
    public static func plan(slots: [ProviderSlotObserved], standbyConfirmed: [String: LSN],
                            displaced: Set<String> = []) -> [HeldSlotAction] {
        var actions: [HeldSlotAction] = []
        let byName = Dictionary(slots.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let subscribed = Set(standbyConfirmed.keys.map(HeldSlotName.forSlot))
        for slot in slots.sorted(by: { $0.name < $1.name }) where !HeldSlotName.isHeld(slot.name) {
            guard !slot.lost, let confirmed = slot.confirmed else { continue }
            let heldName = HeldSlotName.forSlot(slot.name)
            let held = byName[heldName]
            if displaced.contains(slot.name) && slot.active {
                // A usable held copy behind the slot replaces it along with the walsender;
                // otherwise the walsender alone goes and the rest of the round is as usual.
                if let held, !held.lost, let heldAt = held.confirmed, heldAt < confirmed {
                    actions.append(.takeOver(database: slot.database, slot: slot.name, held: heldName))
                    continue
                }
                actions.append(.endWalsender(database: slot.database, slot: slot.name))
            }
            guard let held else {
                actions.append(.create(database: slot.database, slot: slot.name, held: heldName))
                continue
            }
            if held.lost {
                actions.append(.drop(database: held.database, held: heldName))
                actions.append(.create(database: slot.database, slot: slot.name, held: heldName))
                continue
            }
            guard let heldAt = held.confirmed else { continue }
            if !slot.active && heldAt < confirmed {
                actions.append(.swap(database: slot.database, slot: slot.name, held: heldName))
            } else if let safe = standbyConfirmed[slot.name], min(safe, confirmed) > heldAt {
                actions.append(.advance(database: held.database, held: heldName, to: min(safe, confirmed)))
            }
        }
        let holding = Set(slots.filter { !HeldSlotName.isHeld($0.name) }.map { HeldSlotName.forSlot($0.name) })
        for held in slots.sorted(by: { $0.name < $1.name }) where HeldSlotName.isHeld(held.name) {
            if !holding.contains(held.name) && !subscribed.contains(held.name) && !held.active {
                actions.append(.drop(database: held.database, held: held.name))
            }
        }
        return actions
    }

    /// Slots whose walsender serves a member that no longer leads its subscriber zone: the zone
    /// has a new leader since the last round (`previousLeaders` → `leaders`, zone → leader name;
    /// a zone seen for the first time or unreadable is no change) or has lost it (`leaderless`:
    /// read without a leader key, or its leader does not answer as a running primary; ending
    /// the walsenders then lets the slot be replaced before a successor exists, instead of
    /// racing its apply worker), the slot is one of
    /// that zone's subscriptions (`subscriberSlots`, from its ledger), and its walsender started
    /// before the last round (`previousRoundAt`, the provider's clock), when the old leader still
    /// led: a later one may already serve the new leader, whose worker must not be cut off. A
    /// partitioned old primary keeps its connection until `wal_sender_timeout`, and while it
    /// does the held copy cannot take the slot's place: ending that walsender lets the swap
    /// happen.
    public static func staleWalsenders(previousLeaders: [String: String], leaders: [String: String],
                                       leaderless: Set<String> = [], subscriberSlots: [String: Set<String>],
                                       slots: [ProviderSlotObserved], previousRoundAt: Double?) -> [String] {
        guard let previousRoundAt else { return [] }
        let changed = Set(leaders.compactMap { zone, leader in
            previousLeaders[zone].map { $0 != leader } == true ? zone : nil
        }).union(leaderless)
        let theirs = changed.reduce(into: Set<String>()) { $0.formUnion(subscriberSlots[$1] ?? []) }
        return slots.filter {
            $0.active && !HeldSlotName.isHeld($0.name) && theirs.contains($0.name)
                && ($0.walsenderStartedAt.map { $0 < previousRoundAt } ?? false)
        }.map(\.name).sorted()
    }

    /// The subscriber side: how far this zone's standbys have applied each subscription. An
    /// origin's last applied commit (`remote`) is theirs once every standby has flushed our WAL
    /// past the local commit (`local`). Without standbys nothing can be promoted that lacks it.
    /// Kept as it was when the standbys are behind; a subscription without origin yet is absent.
    public static func standbyConfirmed(previous: [String: LSN], subscriptions: [SubscriptionProgress],
                                        standbysFlushed: LSN?, standbyCount: Int) -> [String: LSN] {
        var result: [String: LSN] = [:]
        for sub in subscriptions {
            let kept = previous[sub.slotName]
            guard let remote = sub.originLSN, let local = sub.originLocalLSN else {
                if let kept { result[sub.slotName] = kept }
                continue
            }
            let theirs = standbyCount == 0 || (standbysFlushed.map { $0 >= local } ?? false)
            if theirs {
                result[sub.slotName] = max(remote, kept ?? remote)
            } else if let kept {
                result[sub.slotName] = kept
            }
        }
        return result
    }
}

public enum HeldSlotQueries {
    /// Ends the walsender of `slot` (see `HeldSlots.staleWalsenders`).
    public static func endWalsender(slot: String) -> String {
        "SELECT coalesce(bool_and(pg_catalog.pg_terminate_backend(active_pid)), false)::text AS ended "
            + "FROM pg_catalog.pg_replication_slots WHERE slot_name = \(literal(slot)) AND active"
    }

    /// Ends the walsender of `slot` (waiting up to a second for it to exit) and replaces the
    /// slot by a copy of `held`, retrying for about two seconds while some walsender takes the
    /// slot again. One block: between the walsender's exit and the drop there is no round trip
    /// in which the subscriber's apply worker (retrying every second) could take the slot.
    /// A copy that fails after the drop is repaired by the caller (`restoreAfterFailedSwap`).
    public static func takeOver(slot: String, held: String) -> String {
        """
        DO $staz$
        DECLARE
            holder integer;
        BEGIN
            FOR attempt IN 1..20 LOOP
                SELECT active_pid INTO holder FROM pg_catalog.pg_replication_slots WHERE slot_name = \(literal(slot));
                IF holder IS NOT NULL THEN
                    PERFORM pg_catalog.pg_terminate_backend(holder, 1000);
                    CONTINUE;
                END IF;
                BEGIN
                    PERFORM pg_catalog.pg_drop_replication_slot(\(literal(slot)));
                EXCEPTION WHEN object_in_use THEN
                    PERFORM pg_catalog.pg_sleep(0.1);
                    CONTINUE;
                END;
                PERFORM pg_catalog.pg_copy_logical_replication_slot(\(literal(held)), \(literal(slot)));
                RETURN;
            END LOOP;
            RAISE EXCEPTION 'replication slot % is still in use', \(literal(slot));
        END
        $staz$
        """
    }

    /// Every non-temporary logical slot of `plugin` on the primary (none on a standby).
    public static func slots(plugin: String) -> String {
        """
        SELECT s.slot_name::text AS name, s.database::text AS database, s.active::text AS active,
               s.confirmed_flush_lsn::text AS confirmed, coalesce(s.wal_status, '') AS wal_status,
               extract(epoch FROM a.backend_start)::text AS walsender_started
          FROM pg_catalog.pg_replication_slots s
          LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = s.active_pid
         WHERE s.slot_type = 'logical' AND NOT s.temporary AND s.plugin = \(literal(plugin))
           AND NOT pg_catalog.pg_is_in_recovery()
        """
    }

    public static func parseSlots(_ rows: [MeshQueries.Row]) -> [ProviderSlotObserved] {
        rows.compactMap { row in
            guard let name = MeshQueries.text(row, "name") else { return nil }
            return ProviderSlotObserved(name: name, database: MeshQueries.text(row, "database") ?? "",
                                        active: MeshQueries.text(row, "active") == "true",
                                        confirmed: MeshQueries.text(row, "confirmed").flatMap(LSN.init(text:)),
                                        lost: MeshQueries.text(row, "wal_status") == "lost",
                                        walsenderStartedAt: MeshQueries.text(row, "walsender_started").flatMap { Double($0) })
        }
    }

    /// The physical standbys' lowest flush position (NULL flush counts as nothing flushed) and
    /// how many there are; logical walsenders (the mesh's own) are left out.
    public static let standbys = """
        SELECT count(*)::text AS standbys, extract(epoch FROM pg_catalog.clock_timestamp())::text AS server_time,
               min(coalesce(r.flush_lsn, '0/0'::pg_lsn))::text AS flushed
          FROM pg_catalog.pg_stat_replication r
         WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots s
                            WHERE s.active_pid = r.pid AND s.slot_type = 'logical')
        """
}
