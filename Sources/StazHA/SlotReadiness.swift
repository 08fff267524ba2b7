import StazCore

/// How logical slot readiness orders this node against one peer in the leader race.
enum SlotReadinessOrder: Equatable {
    /// I am not ready and the peer is, and nothing stops the peer from winning: let it.
    case peerPreferred
    /// I am ready and the peer is not: its WAL position or priority does not beat me.
    case iAmPreferred
}

/// Mesh slot failover (issue 5): a replica whose copies of the mesh's logical slots are not
/// ready would, once promoted, leave the other zones' subscriptions without a slot or with one
/// that is unsafe to decode from. So a ready replica is preferred over one that is not, ahead
/// of the WAL-position and priority rules, but never over the rules that protect acknowledged
/// commits: the lag limit and synchronous mode still decide who may race at all.
extension Decider {
    /// nil: readiness does not decide between us (either side does not report it, or both agree).
    func slotReadinessOrder(_ peer: PeerStatus, cluster: ClusterView, checkLag: Bool, sync: SyncState?) -> SlotReadinessOrder? {
        guard let mine = input.logicalSlotsReady, let theirs = peer.logicalSlotsReady, mine != theirs else { return nil }
        if mine { return .iAmPreferred }
        return peerCanWinRace(peer, cluster: cluster, checkLag: checkLag, sync: sync) ? .peerPreferred : nil
    }

    /// Yield only to a peer that passes the rules it applies to itself; otherwise nobody would
    /// take over (a ready replica too far behind refuses, so the unready one must not wait for it).
    func peerCanWinRace(_ peer: PeerStatus, cluster: ClusterView, checkLag: Bool, sync: SyncState?) -> Bool {
        if sync?.leader == peer.name { return false }
        if syncMode == .quorum, let sync, !sync.contains(peer.name) { return false }
        if checkLag, let optime = cluster.status.optime, optime > 0 {
            let theirs = peer.walPosition ?? .zero
            if UInt64(optime) > theirs.value, UInt64(optime) - theirs.value > UInt64(max(0, settings.maximumLagOnFailover)) {
                return false
            }
        }
        return true
    }
}
