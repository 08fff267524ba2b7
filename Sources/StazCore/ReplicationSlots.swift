/// A slot of the dynamic configuration's `slots` map (Patroni's permanent slots), typed as
/// Patroni's `Cluster.is_physical_slot` / `is_logical_slot` read it.
public struct PermanentSlot: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case physical
        case logical(database: String, plugin: String)
    }

    public var name: String
    public var kind: Kind

    public init(name: String, kind: Kind) { self.name = name; self.kind = kind }

    /// PostgreSQL's rule for slot names (`ReplicationSlotValidateName`), as Patroni checks it.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 63
            && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }
}

/// One `ignore_slots` entry: a slot matches when every key the entry gives is equal
/// (Patroni's `SlotsHandler.ignore_replication_slot`).
public struct SlotMatcher: Sendable, Equatable {
    public var name: String?
    public var type: String?
    public var database: String?
    public var plugin: String?

    public init(name: String? = nil, type: String? = nil, database: String? = nil, plugin: String? = nil) {
        self.name = name; self.type = type; self.database = database; self.plugin = plugin
    }

    public func matches(name: String, type: String, database: String?, plugin: String?) -> Bool {
        func agrees(_ wanted: String?, _ actual: String?) -> Bool { wanted == nil || wanted == "" || wanted == actual }
        return (self.name == nil || self.name == name) && agrees(self.type, type)
            && agrees(self.database, database) && agrees(self.plugin, plugin)
    }
}

/// A physical slot this member should have.
public struct DesiredPhysicalSlot: Sendable, Equatable {
    public var name: String
    /// Where the slot's owner is known to be (the leader's `status.slots`, or a cascading
    /// member's own position); a slot nobody streams from is advanced there.
    public var position: LSN?
    /// A member streams from this slot here now: it moves by itself and its `xmin` is live.
    public var expectedActive: Bool

    public init(name: String, position: LSN? = nil, expectedActive: Bool) {
        self.name = name; self.position = position; self.expectedActive = expectedActive
    }
}

/// A permanent logical slot this member should have (created on the primary, copied to replicas).
public struct DesiredLogicalSlot: Sendable, Equatable {
    public var name: String
    public var database: String
    public var plugin: String
    /// The primary's `confirmed_flush_lsn` from `status.slots`.
    public var position: LSN?

    public init(name: String, database: String, plugin: String, position: LSN? = nil) {
        self.name = name; self.database = database; self.plugin = plugin; self.position = position
    }
}

/// Every slot a member should have, from the cluster view and the configuration.
public struct DesiredSlots: Sendable, Equatable {
    public var physical: [DesiredPhysicalSlot] = []
    public var logical: [DesiredLogicalSlot] = []
    /// Configuration problems found on the way (two members sharing a slot name, ...).
    public var problems: [String] = []

    public init(physical: [DesiredPhysicalSlot] = [], logical: [DesiredLogicalSlot] = [], problems: [String] = []) {
        self.physical = physical; self.logical = logical; self.problems = problems
    }

    public var names: Set<String> { Set(physical.map(\.name)).union(logical.map(\.name)) }

    public func physicalSlot(named name: String) -> DesiredPhysicalSlot? { physical.first { $0.name == name } }
    public func logicalSlot(named name: String) -> DesiredLogicalSlot? { logical.first { $0.name == name } }
}
