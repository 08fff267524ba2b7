import StazCore
import StazSystem

/// A logical slot the leader publishes in the `status` key: its name and the position its
/// subscriber confirmed (`confirmed_flush_lsn` on the primary).
public struct PublishedSlot: Sendable, Equatable {
    public var name: String
    public var position: LSN
    public init(name: String, position: LSN) { self.name = name; self.position = position }
}

/// One `pg_replication_slot_advance` call a replica makes on a copy.
public struct SlotAdvance: Sendable, Equatable {
    public var name: String
    public var database: String
    public var target: LSN
    public init(name: String, database: String, target: LSN) { self.name = name; self.database = database; self.target = target }
}

/// What one replica cycle does with its copies of the primary's logical slots.
public struct LogicalSlotCopyPlan: Sendable, Equatable {
    /// Published slots this replica has no slot of that name for: copied from the primary.
    public var copy: [String] = []
    /// Copies behind the published position (never beyond it, never beyond replay).
    public var advance: [SlotAdvance] = []
    /// Copies staz made whose slot is gone from the primary.
    public var drop: [String] = []
    public init(copy: [String] = [], advance: [SlotAdvance] = [], drop: [String] = []) {
        self.copy = copy; self.advance = advance; self.drop = drop
    }
}

/// Per-copy progress a replica keeps between cycles (reset when PostgreSQL restarts or the
/// leader changes, because both can take the guarantees below away).
public struct LogicalSlotProgress: Sendable, Equatable {
    /// The published position each copy must reach, recorded when the copy was first seen.
    public var targets: [String: LSN] = [:]
    /// Copies whose `confirmed_flush_lsn` reached their target at least once.
    public var reached: Set<String> = []
    /// Copies whose catalog rows the primary keeps: the primary's physical slot for this replica
    /// carries a `catalog_xmin` (hot_standby_feedback) no newer than the copy's.
    public var covered: Set<String> = []
    public init() {}

    public mutating func reset() { self = LogicalSlotProgress() }

    /// Forgets copies that are gone or about to be replaced.
    public mutating func forget(_ names: some Sequence<String>) {
        for name in names { targets[name] = nil; reached.remove(name); covered.remove(name) }
    }
}

/// Why a published slot is not ready on this replica (nil in the report: ready).
public enum SlotNotReady: Sendable, Equatable, CustomStringConvertible {
    case missing
    case wrongKind(String)
    case invalidated
    /// Copied from a primary whose slot needs WAL older than this replica keeps (it was built
    /// from a backup taken after the slot was made): it cannot decode until copied again.
    case lacksWAL(LSN)
    case notAdvanced
    case catalogNotProtected

    public var description: String {
        switch self {
        case .missing: return "no copy yet"
        case .wrongKind(let detail): return "a slot of that name exists but is \(detail)"
        case .invalidated: return "the copy is invalidated (wal_status lost)"
        case .lacksWAL(let from): return "the copy needs WAL from \(from), which this replica does not keep"
        case .notAdvanced: return "the copy has not reached a published position yet"
        case .catalogNotProtected: return "the primary does not yet hold the copy's catalog rows (hot_standby_feedback)"
        }
    }
}

/// The replica side of logical slot failover, as pure functions (Patroni's permanent logical
/// slots, `slots.py`, are the model): which published slots to copy from the primary, how far
/// to advance the copies, which copies to drop, and whether they are ready for a failover.
public enum LogicalSlotRules {
    /// Whether the chain of `replicatefrom` members from `source` passes a `nostream` member:
    /// such a replica has no slot on the primary holding its catalog rows, so it keeps no copies
    /// of logical slots (Patroni's `get_slot_name_on_primary` gives it none). A chain that loops
    /// or names a member without a key ends where it breaks.
    public static func cascadesThroughNoStream(from source: String?, members: [Member], me: String) -> Bool {
        var seen: Set<String> = [me]
        var next = source
        while let name = next, seen.insert(name).inserted, let member = members.first(where: { $0.name == name }) {
            if member.noStream { return true }
            next = member.replicateFrom
        }
        return false
    }

    /// The failover logical slots among the leader's published `status.slots`: everything that is
    /// not a physical member slot (`retain_slots`, or a member's slot name). Held slots are
    /// published for the subscriber zones only: a new primary creates its own (a copy here would
    /// cost a restart of this replica for each one).
    public static func candidates(status: ClusterStatus, memberSlotNames: Set<String>) -> [PublishedSlot] {
        let physical = memberSlotNames.union(status.retainSlots)
        return status.slots.compactMap { name, value in
            guard !physical.contains(name), !HeldSlotName.isHeld(name), value >= 0 else { return nil }
            return PublishedSlot(name: name, position: LSN(UInt64(value)))
        }
    }

    /// A local slot that can stand in for the published one: logical, of one of `plugins`.
    static func isCopy(_ slot: ReplicationSlotInfo, plugins: Set<String>) -> Bool {
        slot.type == "logical" && plugins.contains(slot.plugin ?? "")
    }

    /// - `notOnPrimary`: names the primary did not return when asked for them (not a logical
    ///   slot of the provider's plugin there); not asked again until the published set changes.
    /// - `replay`: this replica's replay position; an advance never goes past it (PostgreSQL
    ///   clamps there too) nor past the published position.
    /// - `statusHasSlots`: the leader published a non-empty `slots` map, so a name missing from
    ///   it really is gone from the primary (never drop on an empty or absent status).
    public static func plan(candidates: [PublishedSlot], local: [ReplicationSlotInfo], plugins: Set<String>,
                            owned: Set<String>, replay: LSN?, notOnPrimary: Set<String>, statusHasSlots: Bool) -> LogicalSlotCopyPlan {
        var plan = LogicalSlotCopyPlan()
        let byName = Dictionary(local.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for published in candidates.sorted(by: { $0.name < $1.name }) {
            guard let slot = byName[published.name] else {
                if !notOnPrimary.contains(published.name) { plan.copy.append(published.name) }
                continue
            }
            guard isCopy(slot, plugins: plugins), slot.walStatus != "lost", let database = slot.database, let replay else { continue }
            let target = min(published.position, replay)
            if slot.confirmedFlushLSN.map({ $0 < target }) ?? true {
                plan.advance.append(SlotAdvance(name: slot.name, database: database, target: target))
            }
        }
        if statusHasSlots {
            let published = Set(candidates.map(\.name))
            plan.drop = local.filter { owned.contains($0.name) && isCopy($0, plugins: plugins) && !$0.active && !published.contains($0.name) }
                .map(\.name).sorted()
        }
        return plan
    }

    /// Records, for every copy, the published position it must reach and whether it reached it.
    public static func observe(_ progress: inout LogicalSlotProgress, candidates: [PublishedSlot], local: [ReplicationSlotInfo],
                               plugins: Set<String>) {
        let byName = Dictionary(local.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for published in candidates {
            guard let slot = byName[published.name], isCopy(slot, plugins: plugins) else {
                progress.forget([published.name])
                continue
            }
            let target = progress.targets[published.name] ?? published.position
            progress.targets[published.name] = target
            if let confirmed = slot.confirmedFlushLSN, confirmed >= target { progress.reached.insert(published.name) }
        }
        let current = Set(candidates.map(\.name))
        progress.forget(Set(progress.targets.keys).subtracting(current))
    }

    /// Whether hot_standby_feedback protects a copy's catalog rows on the primary: the primary's
    /// physical slot for this replica has a `catalog_xmin` that precedes or equals the copy's
    /// (transaction ids compare modulo 2^32, as PostgreSQL's `TransactionIdPrecedesOrEquals`).
    public static func feedbackCovers(physicalCatalogXmin: UInt32?, copyCatalogXmin: UInt32?) -> Bool {
        guard let physical = physicalCatalogXmin, let copy = copyCatalogXmin, physical != 0, copy != 0 else { return false }
        return Int32(bitPattern: physical &- copy) <= 0
    }

    /// Readiness of every published slot on this replica: a copy exists, is a logical slot of the
    /// provider's plugin, is not invalidated, reached a published position at least once, and its
    /// catalog rows are held by the primary. No published slot: ready (nothing to fail over).
    /// Names the primary said are not slots of the provider's plugin (`notOnPrimary`) do not count.
    public static func readiness(candidates: [PublishedSlot], local: [ReplicationSlotInfo], plugins: Set<String>,
                                 progress: LogicalSlotProgress, notOnPrimary: Set<String> = [],
                                 lackingWAL: [String: LSN] = [:]) -> [String: SlotNotReady] {
        let byName = Dictionary(local.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var notReady: [String: SlotNotReady] = [:]
        for published in candidates where !notOnPrimary.contains(published.name) {
            guard let slot = byName[published.name] else { notReady[published.name] = .missing; continue }
            if !isCopy(slot, plugins: plugins) {
                let kind = slot.type == "logical" ? "of plugin \(slot.plugin ?? "?")" : "a \(slot.type) slot"
                notReady[published.name] = .wrongKind(kind)
            } else if slot.walStatus == "lost" {
                notReady[published.name] = .invalidated
            } else if let needed = lackingWAL[published.name] {
                notReady[published.name] = .lacksWAL(needed)
            } else if !progress.reached.contains(published.name) {
                notReady[published.name] = .notAdvanced
            } else if !progress.covered.contains(published.name) {
                notReady[published.name] = .catalogNotProtected
            }
        }
        return notReady
    }
}

/// A slot's on-disk `state` file as read from the primary with `pg_read_binary_file`
/// (`ReplicationSlotOnDisk` in PostgreSQL's slot.c). It is checked before it is installed on a
/// replica: PostgreSQL refuses to start (PANIC) on a slot file with a bad checksum.
public struct SlotStateFile: Sendable, Equatable {
    public let bytes: [UInt8]
    static let magic: UInt32 = 0x1051CA1
    /// Bytes before the checksummed part (magic and the checksum itself).
    static let unchecksummedSize = 8
    static let nameOffset = 16

    public init?(hex: String) {
        guard hex.utf8.count % 2 == 0, hex.utf8.count >= 2 * (Self.nameOffset + 64) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for c in hex.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        bytes = out
    }

    func uint32(at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }

    func uint64(at offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
    }

    /// Magic number, declared length and CRC-32C all match (little-endian, as written here).
    public var isValid: Bool {
        guard uint32(at: 0) == Self.magic else { return false }
        guard Int(uint32(at: 12)) == bytes.count - Self.nameOffset else { return false }
        return CRC32C.checksum(bytes[Self.unchecksummedSize...]) == uint32(at: 4)
    }

    /// The slot name stored in the file.
    public var slotName: String {
        let field = bytes[Self.nameOffset..<(Self.nameOffset + 64)]
        return String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// PostgreSQL 15's layout (`SLOT_VERSION` 2, 184 bytes of slot data): name, database,
    /// persistency, xmin, catalog_xmin, restart_lsn, ... Other versions: nil (not parsed).
    var isPostgres15Layout: Bool { bytes.count == 200 && uint32(at: 8) == 2 }

    public var restartLSN: LSN? { isPostgres15Layout ? LSN(uint64(at: 96)) : nil }
    public var catalogXmin: UInt32? { isPostgres15Layout ? uint32(at: 92) : nil }
    public var confirmedFlushLSN: LSN? { isPostgres15Layout ? LSN(uint64(at: 112)) : nil }
}

/// CRC-32C (Castagnoli), PostgreSQL's `pg_crc32c`.
enum CRC32C {
    static let table: [UInt32] = (0..<256).map { index -> UInt32 in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    static func checksum(_ data: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
