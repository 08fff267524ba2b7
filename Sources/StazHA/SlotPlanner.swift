import StazCore

/// What decides which slots one member keeps.
public struct SlotPlannerInput: Sendable {
    public var cluster: ClusterView
    public var me: String
    /// Primary, or about to be (a promotion prepares the slots the others will stream from).
    public var leading: Bool
    public var noFailover: Bool
    /// Our own `nostream` tag: such a member streams nothing, so logical slots it kept could
    /// not be protected by feedback to the primary.
    public var noStream: Bool
    public var useSlots: Bool
    public var memberSlotsTTL: Double
    public var permanent: [PermanentSlot]

    public init(cluster: ClusterView, me: String, leading: Bool, noFailover: Bool = false, noStream: Bool = false,
                useSlots: Bool = true, memberSlotsTTL: Double = 1800, permanent: [PermanentSlot] = []) {
        self.cluster = cluster; self.me = me; self.leading = leading; self.noFailover = noFailover; self.noStream = noStream
        self.useSlots = useSlots; self.memberSlotsTTL = memberSlotsTTL; self.permanent = permanent
    }
}

/// The slots a member should have, as Patroni 4.1 works them out (`Cluster._get_members_slots`,
/// `_get_permanent_slots` and `_merge_permanent_slots` in patroni/dcs/__init__.py, on a server
/// that can advance slots, PostgreSQL 11 and newer):
/// - with `member_slots_ttl` > 0 every member keeps a physical slot for every other member
///   that streams (a replica's copies are advanced to the positions the leader publishes, so a
///   promoted replica already holds the WAL its peers need); a `nofailover` member only for
///   those cascading from it. With 0, the leader keeps slots for the members streaming from it
///   and a replica for those cascading from it;
/// - slot names the leader's `status.retain_slots` lists are kept as well (members whose key
///   expired a short while ago);
/// - permanent physical slots everywhere but on `nofailover` members, never one named after us;
///   permanent logical slots too, unless we stream nothing (`nostream`).
public enum SlotPlanner {
    public static func desired(_ input: SlotPlannerInput) -> DesiredSlots {
        var result = DesiredSlots()
        guard input.useSlots else { return result }
        let cluster = input.cluster
        let mySlot = slotName(forMember: input.me)
        let published = Dictionary(cluster.status.slots, uniquingKeysWith: { first, _ in first })
        let streaming = cluster.members.filter { $0.name != input.me && !$0.noStream && $0.isUsable }

        func expectedActive(_ member: Member) -> Bool {
            if input.leading {
                guard let source = member.replicateFrom else { return true }
                return source == input.me || cluster.member(named: source) == nil
            }
            return member.replicateFrom == input.me && member.name != cluster.leader?.name
        }
        let kept = input.memberSlotsTTL > 0
            ? streaming.filter { !input.noFailover || $0.replicateFrom == input.me }
            : streaming.filter(expectedActive)

        var slotOwners: [String: [String]] = [:]
        for member in kept {
            let name = slotName(forMember: member.name)
            slotOwners[name, default: []].append(member.name)
            guard result.physicalSlot(named: name) == nil else { continue }
            var position = published[name].map { LSN(UInt64(max(0, $0))) }
            // The leader's slot for a cascading member does not move: the member's own position does.
            if member.replicateFrom != nil, let own = member.xlogLocation { position = max(position ?? own, own) }
            result.physical.append(DesiredPhysicalSlot(name: name, position: position, expectedActive: expectedActive(member)))
        }
        for (name, owners) in slotOwners.sorted(by: { $0.key < $1.key }) where owners.count > 1 {
            result.problems.append("members \(owners.sorted().joined(separator: ", ")) share the replication slot name \(name)")
        }
        if !input.noFailover {
            for name in cluster.status.retainSlots where name != mySlot && result.physicalSlot(named: name) == nil {
                result.physical.append(DesiredPhysicalSlot(name: name, position: nil, expectedActive: false))
            }
        }
        guard !input.noFailover else { return result }

        let cascadingSlots = Set(cluster.members.filter { $0.replicateFrom != nil }.map { slotName(forMember: $0.name) })
        let memberPositions = Dictionary(cluster.members.filter { $0.replicateFrom != nil }
            .compactMap { member in member.xlogLocation.map { (slotName(forMember: member.name), $0) } },
                                         uniquingKeysWith: { first, _ in first })
        for slot in input.permanent {
            switch slot.kind {
            case .physical:
                guard slot.name != mySlot, result.physicalSlot(named: slot.name) == nil else { continue }
                let publishedPosition = published[slot.name].map { LSN(UInt64(max(0, $0))) }
                let position = [publishedPosition, memberPositions[slot.name]].compactMap { $0 }.max()
                // On the leader a permanent slot is in use, except one for a member that
                // cascades from another (A(B active, C inactive) <- B(C active) <- C).
                let active = input.leading && !cascadingSlots.contains(slot.name)
                result.physical.append(DesiredPhysicalSlot(name: slot.name, position: position, expectedActive: active))
            case .logical(let database, let plugin):
                guard !input.noStream else { continue }
                if result.physicalSlot(named: slot.name) != nil {
                    result.problems.append("permanent logical slot \(slot.name) has the name of a member's physical slot: not created")
                    continue
                }
                let position = published[slot.name].map { LSN(UInt64(max(0, $0))) }
                result.logical.append(DesiredLogicalSlot(name: slot.name, database: database, plugin: plugin, position: position))
            }
        }
        return result
    }
}

/// The leader's `status.retain_slots` (Patroni's `AbstractDCS._build_retain_slots`): the
/// physical slot names of members it has seen, each kept for `member_slots_ttl` after the
/// member was last seen, so a member whose key expired finds its slot, and its WAL, again.
public struct RetainedSlots: Sendable, Equatable {
    /// Slot name → when it was last seen (seconds, the loop's clock).
    public private(set) var lastSeen: [String: Double] = [:]

    public init(lastSeen: [String: Double] = [:]) { self.lastSeen = lastSeen }

    /// After winning the lock: the names the previous leader retained count as seen now.
    public static func inherited(_ names: [String], now: Double) -> RetainedSlots {
        RetainedSlots(lastSeen: Dictionary(names.map { ($0, now) }, uniquingKeysWith: { first, _ in first }))
    }

    /// One leader cycle. `slots`: the slot names the leader has or publishes (its own name
    /// included); members' names count, permanent physical slots do not (they are kept anyway).
    /// Returns the names that expired in this call.
    @discardableResult
    public mutating func update(slots: Set<String>, members: [Member], me: String, permanentPhysical: Set<String>,
                                ttl: Double, now: Double) -> [String] {
        if !slots.isEmpty {
            var memberSlots = Set(members.filter { !$0.noStream }.map { slotName(forMember: $0.name) })
            if !members.contains(where: { $0.name == me }) { memberSlots.insert(slotName(forMember: me)) }
            for name in slots where memberSlots.contains(name) && !permanentPhysical.contains(name) { lastSeen[name] = now }
        }
        let expired = lastSeen.filter { $0.value + ttl <= now }.map(\.key).sorted()
        for name in expired { lastSeen[name] = nil }
        return expired
    }

    public var names: [String] { lastSeen.keys.sorted() }
}
