import StazCore
import StazConfig

/// Synchronous replication in the leader race and before promoting (Patroni's `Ha.is_healthiest_node` and `Ha.process_sync_replication`).
extension Decider {
    var syncMode: SyncMode { SyncMode(settings) }

    /// Patroni's `sync_mode_is_active`: synchronous mode configured and `/sync` names a leader.
    func activeSync(_ cluster: ClusterView) -> SyncState? {
        guard syncMode != .off, cluster.sync.leader != nil else { return nil }
        return cluster.sync
    }

    /// Priority mode: only standbys listed in `/sync`, and the former leader recorded there
    /// (Patroni's `sync.matches(name, check_leader=True)`), hold every acknowledged commit.
    func excludedFromPriorityRace(_ cluster: ClusterView) -> Bool {
        guard syncMode == .priority, let sync = activeSync(cluster) else { return false }
        return !listedInSync(sync)
    }

    /// A switchover (the request names the leader) goes only to a member of `/sync`, in quorum
    /// mode too (Patroni's `is_healthiest_node`: `sync_mode_is_active()` covers both). Only a
    /// manual failover without a leader may pick an asynchronous member.
    func excludedFromSwitchover(_ cluster: ClusterView) -> Bool {
        guard let request = cluster.failover, request.leader != nil, let sync = activeSync(cluster) else { return false }
        return !listedInSync(sync)
    }

    /// In `/sync` as a synchronous standby or as its leader. The former leader counts: it wrote
    /// every commit it acknowledged (e.g. it came back after a partition during which nobody
    /// could take over because no standby was synchronous yet).
    func listedInSync(_ sync: SyncState) -> Bool {
        sync.contains(me) || sync.leader?.lowercased() == me.lowercased()
    }

    /// Quorum mode: how many voters confirm that nobody has more WAL than me, and whether
    /// that is enough (Patroni counts from −1 when the candidate itself is not a voter).
    func quorumVotes(_ cluster: ClusterView, excluding: String?) -> (votes: Int, needed: Int, enough: Bool)? {
        guard syncMode == .quorum, let sync = activeSync(cluster) else { return nil }
        var votes = sync.contains(me) ? 0 : -1
        var nobodyAhead = true
        for peer in input.peers where peer.name != me && peer.name != excluding && peer.reachable {
            let theirs = peer.walPosition ?? .zero
            let ahead = peerIsAhead(peer)
            if ahead { nobodyAhead = false }
            if sync.contains(peer.name), theirs.value > 0, !ahead { votes += 1 }
        }
        // The leader in `/sync` wrote every commit it acknowledged: being level with it (it is a
        // standby now, e.g. it stepped down for a switchover whose candidate then failed) proves
        // as much as the voters' answers. A stale request excluded it from the race, not this.
        let formerLeaderLevel = input.peers.contains { peer in
            peer.name == sync.leader && peer.name != me && peer.reachable && peer.isInRecovery
                && (peer.walPosition?.value ?? 0) > 0 && !peerIsAhead(peer)
        }
        let enough = votes >= sync.quorum || (nobodyAhead && (sync.leader == me || formerLeaderLevel))
        return (max(0, votes), sync.quorum, enough)
    }

    /// The heartbeat line when this node would be the best candidate but must not promote
    /// because it may miss commits that the lost primary acknowledged (double fault).
    func blockedFailoverReason(_ cluster: ClusterView) -> String? {
        guard input.node.mayBecomeLeader, !paused, !runningAsPrimary, let sync = activeSync(cluster) else { return nil }
        let override = "use `stazctl failover --candidate \(me) --force` to accept data loss"
        if syncMode == .priority {
            guard !listedInSync(sync) else { return nil }
            // A reachable synchronous standby will take over; nothing is blocked.
            let syncPeerAlive = input.peers.contains { $0.reachable && sync.contains($0.name) && $0.name != sync.leader }
            if syncPeerAlive { return nil }
            return "not promoting because \(me) is not a synchronous standby and may miss acknowledged commits; \(override)"
        }
        guard let quorum = quorumVotes(cluster, excluding: nil), !quorum.enough else { return nil }
        let aheadOrPrimary = input.peers.contains { peer in
            peer.reachable && (peer.role == .primary || !peer.isInRecovery || peerIsAhead(peer))
        }
        if aheadOrPrimary { return nil }
        return "not promoting because only \(quorum.votes) of the \(quorum.needed) synchronous quorum votes needed confirm that \(me) has every acknowledged commit; \(override)"
    }

    /// An explicit failover to this node overrides the sync rules; say what that may cost.
    func forcedFailoverWarning(_ cluster: ClusterView) -> HAStep? {
        guard let request = cluster.failover, request.candidate == me, let sync = activeSync(cluster) else { return nil }
        let mayLoseCommits = syncMode == .priority ? !listedInSync(sync) : !(quorumVotes(cluster, excluding: request.leader)?.enough ?? true)
        guard mayLoseCommits else { return nil }
        return .logWarning("manual failover to \(me): \(me) is not a synchronous standby, commits acknowledged by the former primary may be lost")
    }

    /// Before promoting in synchronous mode the new leader claims `/sync` (compare-and-set):
    /// priority mode with no standbys yet (the leader step adds confirmed ones), quorum mode
    /// with the former voters and former leader (minus itself) so earlier commits stay covered.
    func prePromoteSync(_ cluster: ClusterView) -> SyncState? {
        guard syncMode != .off else { return nil }
        let old = cluster.sync
        guard syncMode == .quorum, old.leader != nil else { return SyncState(leader: me, syncStandbys: [], quorum: 0) }
        var voters = old.syncStandbys.filter { $0.lowercased() != me.lowercased() }
        if let former = old.leader, former != me, !voters.contains(former) { voters.append(former) }
        let quorum = max(0, min(old.quorum, voters.count - 1))
        return SyncState(leader: me, syncStandbys: voters.sorted(), quorum: voters.isEmpty ? 0 : quorum)
    }
}
