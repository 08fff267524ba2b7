import StazCore
import StazConfig

/// What the leader's synchronous-replication step sees (Patroni's `Ha.process_sync_replication`).
public struct SyncPlannerInput: Sendable {
    public var me: String
    public var settings: DynamicSettings
    public var members: [Member]
    /// The `sync` key as last read (version nil: the key does not exist).
    public var sync: SyncState
    public var walSenders: [WalSender]
    /// `synchronous_standby_names` staz last applied (nil: empty / not yet managed).
    public var standbyNames: StandbyNames?
    /// The primary's flush LSN when `standbyNames` was applied: a standby that newly became
    /// synchronous holds every earlier acknowledged commit only once it reached this point.
    public var standbyNamesAppliedAt: LSN?
    /// The primary's own flush position: with a single standby, `maximum_lag_on_syncnode`
    /// measures its lag from here (Patroni's `_ReplicaList.max_lsn`).
    public var primaryLSN: LSN?

    public init(me: String, settings: DynamicSettings, members: [Member], sync: SyncState, walSenders: [WalSender],
                standbyNames: StandbyNames?, standbyNamesAppliedAt: LSN?, primaryLSN: LSN? = nil) {
        self.me = me; self.settings = settings; self.members = members; self.sync = sync; self.walSenders = walSenders
        self.standbyNames = standbyNames; self.standbyNamesAppliedAt = standbyNamesAppliedAt; self.primaryLSN = primaryLSN
    }
}

/// One step towards the wanted synchronous state. The executor performs it, re-reads and asks again.
public enum SyncAction: Sendable, Equatable {
    /// Compare-and-set the `sync` key (against `SyncPlannerInput.sync.version`).
    case writeSync(SyncState, log: String)
    /// Write `synchronous_standby_names` (nil: empty) to postgresql.conf and reload.
    case setStandbyNames(StandbyNames?, log: String)
    /// Synchronous mode was switched off: delete `sync` (compare-and-set).
    case deleteSync(log: String)
}

/// The next step of the leader's synchronous-replication maintenance, or nil when stable.
/// Priority mode keeps Patroni's invariant: a standby is listed in `/sync` only while it
/// really is synchronous (shrink `/sync`, change the parameter, confirm, then grow `/sync`).
/// Quorum mode moves one side at a time and only through states where every set of standbys
/// that can acknowledge a commit overlaps every set that can vote a promotion.
public func nextSyncAction(_ input: SyncPlannerInput) -> SyncAction? {
    let mode = SyncMode(input.settings)
    if mode == .off {
        if input.sync.version != nil || input.sync.leader != nil {
            return .deleteSync(log: "Disabled synchronous replication")
        }
        return nil
    }
    if input.sync.leader != input.me {
        let log = input.sync.leader == nil ? "Enabled synchronous replication" : "Taking over /sync from \(input.sync.leader!)"
        return .writeSync(SyncState(leader: input.me, syncStandbys: [], quorum: 0), log: log)
    }
    return mode == .priority ? priorityStep(input) : quorumStep(input)
}

/// Strict synchronous mode and no standby that could confirm a commit: commits wait (for the
/// standbys `/sync` names, or for the placeholder). Patroni warns of it once per episode.
public func strictModeIsStarved(_ input: SyncPlannerInput) -> Bool {
    SyncMode(input.settings) != .off && input.settings.synchronousModeStrict && eligibleStandbys(input).isEmpty
}

/// Patroni's `_ReplicaList`: streaming members that may be synchronous, best first
/// (higher `sync_priority`, already synchronous, further ahead).
public func eligibleStandbys(_ input: SyncPlannerInput) -> [WalSender] {
    let members = Dictionary(input.members.map { ($0.name.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
    var rows = input.walSenders.filter { row in
        guard let member = members[row.applicationName.lowercased()], member.name != input.me,
              row.state == "streaming", row.lsn != nil, !member.noSync else { return false }
        return true
    }
    // A standby further behind than maximum_lag_on_syncnode (> 0; 0 and -1 switch it off, as in
    // Patroni) is not synchronous material: measured from the newest standby, or from the
    // primary itself when there is only one (it could not lag behind itself).
    let newest = rows.count > 1 ? rows.compactMap(\.lsn).max() : input.primaryLSN
    if input.settings.maximumLagOnSyncNode > 0, let newest {
        rows = rows.filter { newest.value - min(newest.value, $0.lsn?.value ?? 0) <= UInt64(input.settings.maximumLagOnSyncNode) }
    }
    func priority(_ row: WalSender) -> Int64 { members[row.applicationName.lowercased()]?.syncPriority ?? 1 }
    return rows.sorted { a, b in
        if priority(a) != priority(b) { return priority(a) > priority(b) }
        if a.syncState != b.syncState { return a.syncState > b.syncState }
        if a.lsn != b.lsn { return (a.lsn ?? .zero) > (b.lsn ?? .zero) }
        return a.applicationName < b.applicationName
    }
}

/// Member names as in the member keys (pg_stat_replication may differ in case).
private func memberName(_ row: WalSender, _ input: SyncPlannerInput) -> String {
    input.members.first { $0.name.lowercased() == row.applicationName.lowercased() }?.name ?? row.applicationName
}

/// Standbys PostgreSQL reports in `state` whose position proves they hold every commit
/// acknowledged before the parameter last changed (or that `/sync` already vouches for).
private func confirmed(_ rows: [WalSender], state: String, _ input: SyncPlannerInput) -> [String] {
    rows.filter { row in
        guard row.syncState == state else { return false }
        if input.sync.contains(row.applicationName) { return true }
        guard let appliedAt = input.standbyNamesAppliedAt, let lsn = row.lsn else { return false }
        return lsn >= appliedAt
    }.map { memberName($0, input) }
}

private func sameNames(_ a: [String], _ b: [String]) -> Bool {
    Set(a.map { $0.lowercased() }) == Set(b.map { $0.lowercased() })
}

private func describe(_ names: [String]) -> String { "[" + names.sorted().map { "'\($0)'" }.joined(separator: ", ") + "]" }

func priorityStep(_ input: SyncPlannerInput) -> SyncAction? {
    let candidates = eligibleStandbys(input)
    let picked = candidates.prefix(max(1, input.settings.synchronousNodeCount)).map { memberName($0, input) }
    let current = input.sync.syncStandbys
    let strictKeep = input.settings.synchronousModeStrict && picked.isEmpty
    let wanted: StandbyNames?
    if strictKeep {
        // Nobody can confirm: commits wait for the standbys that hold every acknowledged commit.
        wanted = StandbyNames.initial(mode: .priority, strict: true, sync: input.sync)
    } else {
        wanted = picked.isEmpty ? nil : StandbyNames(count: picked.count, names: picked, isQuorum: false)
    }
    let wantedNames = wanted?.names ?? []
    let reallySync = confirmed(candidates, state: "sync", input)
        .filter { name in wantedNames.contains { $0.lowercased() == name.lowercased() } }
    if !strictKeep {
        let keep = current.filter { name in reallySync.contains { $0.lowercased() == name.lowercased() } }
        if !sameNames(keep, current) {
            return .writeSync(SyncState(leader: input.me, syncStandbys: keep.sorted(), quorum: 0),
                              log: "Updating /sync key temporarily from \(describe(current)) to \(describe(keep))")
        }
    }
    if input.standbyNames != wanted {
        if strictKeep && input.standbyNames?.names != wanted?.names {
            return .setStandbyNames(wanted, log: "Commits wait until a synchronous standby connects: synchronous_standby_names = '\(wanted?.text ?? "")'")
        }
        return .setStandbyNames(wanted, log: "Assigning synchronous standby status to \(describe(wantedNames))")
    }
    if !strictKeep && !sameNames(reallySync, current) {
        return .writeSync(SyncState(leader: input.me, syncStandbys: reallySync.sorted(), quorum: 0),
                          log: "Synchronous standby status assigned to \(describe(reallySync))")
    }
    return nil
}
