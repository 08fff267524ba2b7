import StazCore
import StazHA

/// Synchronous replication: the leader's step (`processSyncReplication`, with the real
/// `nextSyncAction`), PostgreSQL acknowledging commits only once the standbys named in
/// synchronous_standby_names have them, and the promise: no acknowledged commit is lost.
extension SimWorld {
    var syncMode: SyncMode { SyncMode(settings) }

    /// `HAController.managedStandbyNamesText`.
    func managedStandbyNames(_ i: Int, primary: Bool, _ cluster: ClusterView?) -> StandbyNames? {
        let mode = syncMode
        guard mode != .off else { return nil }
        if members[i].memory.longAction == "bootstrap" { return nil }
        if let names = members[i].standbyNames { return names }
        let strict = settings.synchronousModeStrict
        if primary {
            let sync = cluster?.sync ?? dcs.sync
            let fallback = StandbyNames.initial(mode: mode, strict: strict, sync: sync.leader == members[i].name ? sync : SyncState())
            members[i].standbyNames = fallback
            return fallback
        }
        return strict ? StandbyNames(count: 1, names: [strictSyncPlaceholder], isQuorum: mode == .quorum) : nil
    }

    /// The standbys streaming from member `i`, as `pg_stat_replication` shows them.
    func walSenders(_ i: Int) -> [WalSender] {
        let names = members[i].pg.syncNames
        var priorityLeft = names?.count ?? 0
        return members.indices.filter { j in
            j != i && members[j].pg.running && members[j].pg.inRecovery && members[j].pg.streaming
                && members[j].pg.upstream == members[i].name
        }.sorted { a, b in
            let order = names?.names ?? []
            return (order.firstIndex(of: members[a].name) ?? Int.max, a) < (order.firstIndex(of: members[b].name) ?? Int.max, b)
        }.map { j in
            var state = "async"
            if let names, names.names.contains(members[j].name) {
                if names.isQuorum { state = "quorum" } else if priorityLeft > 0 { state = "sync"; priorityLeft -= 1 } else { state = "potential" }
            }
            return WalSender(applicationName: members[j].name, state: "streaming", syncState: state, lsn: LSN(members[j].pg.lsn))
        }
    }

    /// The leader's synchronous-replication step after its HA cycle.
    func processSync(_ i: Int) {
        guard members[i].pg.acceptsWrites, members[i].memory.longAction == nil, members[i].holding,
              reachesDCS(i) else { return }
        if syncMode == .off { return }
        for _ in 0..<8 {
            let view = dcs.view(at: now)
            let input = SyncPlannerInput(me: members[i].name, settings: settings, members: view.members, sync: view.sync,
                                         walSenders: walSenders(i), standbyNames: members[i].standbyNames,
                                         standbyNamesAppliedAt: members[i].standbyNamesAppliedAt)
            guard let action = nextSyncAction(input) else { return }
            switch action {
            case .deleteSync:
                guard dcs.setSync(SyncState(), version: view.sync.version) else { return }
            case .writeSync(let state, let line):
                guard dcs.setSync(state, version: view.sync.version) else { return }
                log("\(members[i].name): \(line)")
            case .setStandbyNames(let names, _):
                members[i].standbyNames = names
                members[i].pg.syncNames = names
                members[i].standbyNamesAppliedAt = LSN(members[i].pg.lsn)
            }
        }
    }

    /// How far the primary `i` has acknowledged commits: everything when commits are
    /// asynchronous, else what the required synchronous standbys have flushed.
    func acknowledgedPosition(_ i: Int) -> UInt64? {
        let pg = members[i].pg
        guard let names = pg.syncNames, !names.names.isEmpty else { return pg.lsn }
        let confirming = walSenders(i).filter { names.names.contains($0.applicationName) }
        let ranked = names.isQuorum ? confirming : Array(confirming.prefix(names.count))
        guard ranked.count >= names.count else { return nil }
        let positions = ranked.compactMap { $0.lsn?.value }.sorted(by: >)
        return positions.count >= names.count ? min(pg.lsn, positions[names.count - 1]) : nil
    }

    func acknowledgeCommits() {
        guard syncMode != .off else { return }
        for i in members.indices where members[i].pg.acceptsWrites {
            guard let position = acknowledgedPosition(i), let segment = members[i].pg.lineage.last,
                  position >= segment.start else { continue }
            if let acked, acked.segment == segment.id, acked.lsn >= position { continue }
            acked = (segment.id, position)
        }
    }

    /// In synchronous mode a server that becomes primary must hold every acknowledged commit.
    func checkAcknowledgedCommitsKept(by i: Int, _ how: String) {
        guard syncMode != .off, let acked else { return }
        let pg = members[i].pg
        guard let index = pg.lineage.firstIndex(where: { $0.id == acked.segment }) else {
            violations.append("\(members[i].name) \(how) without the acknowledged commits of segment #\(acked.segment) "
                              + "(it has \(pg.lineage))")
            return
        }
        let end = index + 1 < pg.lineage.count ? pg.lineage[index + 1].start : pg.lsn
        if end < acked.lsn {
            violations.append("\(members[i].name) \(how) at \(end), acknowledged commits reached \(acked.lsn): lost")
        }
    }
}
