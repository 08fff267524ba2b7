import StazCore
import StazConfig

/// Quorum commit safety: with `ANY k (S)` a commit is acknowledged by some k members of S; a
/// promotion needs `quorum + 1` members of the voters V (the candidate and `quorum` votes).
/// Every acknowledging set meets every promoting set iff |V| − quorum ≤ k − |S \ V|.
/// An empty S protects nothing, so any `/sync` is consistent with it.
public func quorumIsSafe(voters: [String], quorum: Int, standbys: StandbyNames?) -> Bool {
    guard let standbys, !standbys.names.isEmpty, standbys.count > 0 else { return true }
    let voterSet = Set(voters.map { $0.lowercased() })
    let outside = standbys.names.filter { !voterSet.contains($0.lowercased()) }.count
    return voterSet.count - quorum <= standbys.count - outside
}

func quorumStep(_ input: SyncPlannerInput) -> SyncAction? {
    let active = eligibleStandbys(input).map { row in
        input.members.first { $0.name.lowercased() == row.applicationName.lowercased() }?.name ?? row.applicationName
    }.sorted()
    let voters = input.sync.syncStandbys
    let quorum = input.sync.quorum
    let current = input.standbyNames

    // Target: every active standby is both listed and a voter.
    var targetNames: StandbyNames?
    var targetVoters: [String]
    var targetQuorum: Int
    if active.isEmpty {
        if input.settings.synchronousModeStrict {
            // Keep the voters (they hold every acknowledged commit); commits wait for them.
            targetNames = StandbyNames.initial(mode: .quorum, strict: true, sync: input.sync)
            targetVoters = voters
            targetQuorum = quorum
        } else {
            targetNames = nil
            targetVoters = []
            targetQuorum = 0
        }
    } else {
        let wanted = min(max(1, input.settings.synchronousNodeCount), active.count)
        targetNames = StandbyNames(count: wanted, names: active, isQuorum: true)
        targetVoters = active
        targetQuorum = active.count - wanted
    }
    let namesStable = current == targetNames
    let syncStable = Set(voters.map { $0.lowercased() }) == Set(targetVoters.map { $0.lowercased() }) && quorum == targetQuorum
    if namesStable && syncStable { return nil }

    // Commits acknowledged under an earlier parameter are only covered by the new standbys
    // once they caught up with the point where it changed.
    let settled = standbysCaughtUp(input)
    func syncAction(_ newVoters: [String], _ newQuorum: Int) -> SyncAction {
        .writeSync(SyncState(leader: input.me, syncStandbys: newVoters.sorted(), quorum: newQuorum),
                   log: "Setting quorum to \(newQuorum) and voters to [\(newVoters.sorted().joined(separator: ", "))]")
    }
    if !syncStable, settled, quorumIsSafe(voters: targetVoters, quorum: targetQuorum, standbys: current) {
        return syncAction(targetVoters, targetQuorum)
    }
    if !namesStable, quorumIsSafe(voters: voters, quorum: quorum, standbys: targetNames) {
        return .setStandbyNames(targetNames, log: "Setting synchronous_standby_names to '\(targetNames?.text ?? "")'")
    }
    // Neither side can move alone: first widen the voters and raise the quorum so that both
    // the current and the target parameter are safe, then the parameter can change.
    var union = voters
    for name in targetVoters where !union.contains(where: { $0.lowercased() == name.lowercased() }) { union.append(name) }
    for q in quorum..<max(quorum + 1, union.count) where
        quorumIsSafe(voters: union, quorum: q, standbys: current) && quorumIsSafe(voters: union, quorum: q, standbys: targetNames) {
        if Set(union.map { $0.lowercased() }) == Set(voters.map { $0.lowercased() }) && q == quorum { break }
        return syncAction(union, q)
    }
    return nil
}

/// Whether enough listed standbys reached the flush position recorded when the parameter changed.
func standbysCaughtUp(_ input: SyncPlannerInput) -> Bool {
    guard let names = input.standbyNames, !names.names.isEmpty else { return true }
    guard let appliedAt = input.standbyNamesAppliedAt else { return false }
    let listed = Set(names.names.map { $0.lowercased() })
    let caughtUp = input.walSenders.filter { row in
        listed.contains(row.applicationName.lowercased()) && (row.lsn.map { $0 >= appliedAt } ?? false)
    }.count
    return caughtUp >= names.count
}
