import StazCore

/// One entry of the `failsafe` key: a member the leader must hear "Accepted" from before it
/// may stay primary without the DCS.
public struct FailsafeMember: Sendable, Equatable {
    public var name: String
    public var apiURL: String

    public init(name: String, apiURL: String) { self.name = name; self.apiURL = apiURL }

    /// The `failsafe` key (`{name: api_url}`) as members, in key order; nil when the value is
    /// absent. Entries whose URL is not a string are skipped (Patroni would fail to call them,
    /// which refuses the round; skipping keeps the member out of the topology, and a member
    /// missing from a non-empty key cannot win a race, so neither choice lets it promote).
    public static func list(_ key: JSONObject?) -> [FailsafeMember]? {
        guard let key else { return nil }
        return key.pairs.compactMap { name, url in url.stringValue.map { FailsafeMember(name: name, apiURL: $0) } }
    }
}

/// What the decision knows about DCS failsafe mode (Patroni's `Failsafe` in patroni/ha.py) besides the settings.
public struct FailsafeInput: Sendable, Equatable {
    /// The last `failsafe` key this member knows: read from the DCS, merged with what it wrote
    /// itself as leader. nil: no key (then a leader cut off from the DCS demotes).
    public var topology: [FailsafeMember]?
    /// A leader that confirmed itself through `POST /failsafe` less than `ttl` ago (replicas):
    /// while the cluster looks unlocked it is followed as the leader and nobody races.
    public var leader: String?
    /// We hold the leader lock but the lease keeper could not renew it lately (its last renewal
    /// failed, or one is overdue), although the DCS may still answer reads: an etcd restarting
    /// or overloaded.
    public var lockInDoubt: Bool

    public init(topology: [FailsafeMember]? = nil, leader: String? = nil, lockInDoubt: Bool = false) {
        self.topology = topology; self.leader = leader; self.lockInDoubt = lockInDoubt
    }
}

/// Failsafe mode in the decision: the DCS-error path of a primary, the leader announced by
/// `POST /failsafe`, and the race exclusion of members the `failsafe` key does not list.
extension Decider {
    static let keepRunningOnFailsafe = "continue to run as a leader because failsafe mode is enabled and all members are accessible"

    /// The members a failsafe round asks: every other member of the last known `failsafe` key,
    /// when failsafe mode is on and the key lists us; nil when no round can keep us primary.
    var failsafeMembersToAsk: [FailsafeMember]? {
        guard settings.failsafeMode, let topology = input.failsafe.topology, topology.contains(where: { $0.name == me }) else {
            return nil
        }
        return topology.filter { $0.name != me }
    }

    /// Patroni's `_handle_dcs_error` for a running primary: without failsafe mode (or when we are
    /// not in the last known `failsafe` key) demote at once; otherwise ask every other listed
    /// member (`POST /failsafe`) and stay primary only if all of them accept.
    func primaryWithoutDCS() -> HAPlan {
        let demote = HAPlan("demoted self because DCS is not accessible and I was a leader", [.demote(.offline)])
        guard let others = failsafeMembersToAsk else { return demote }
        return HAPlan(Self.keepRunningOnFailsafe,
                      [.confirmFailsafe(members: others, then: HAPlan(Self.keepRunningOnFailsafe), otherwise: demote)])
    }

    /// The leader's lock update while its confirmation is in doubt (`FailsafeInput.lockInDoubt`):
    /// a round of `POST /failsafe` first, as on the DCS-error path. An accepted round extends
    /// the lease keeper's fence deadline before the update, which may spend `retry_timeout` on
    /// a DCS that answers reads but not keepalives, and so reach the DCS-error path only after
    /// that deadline. The round's outcome changes nothing else: the lock still holds.
    func backedByFailsafe(_ update: HAPlan) -> HAPlan {
        guard input.failsafe.lockInDoubt, runningAsPrimary, !paused, let others = failsafeMembersToAsk else { return update }
        return HAPlan(update.message, [.confirmFailsafe(members: others, then: update, otherwise: update)])
    }

    /// A primary's PostgreSQL is down (the lease keeper fenced it, or it crashed) while the DCS
    /// is unreachable: nobody can tell whether we still lead, so never as a primary again.
    var stoppedPrimaryWithoutDCS: Bool {
        input.memory.longAction == nil && !pg.isRunning && !pg.isInRecovery && !pg.dataDirectoryEmpty
            && pg.dataDirectoryError == nil && pg.systemIdentifier != nil
    }

    /// A start this node carried out failed (a demotion's restart as a standby, say) and the
    /// DCS cannot say whom to follow: read-only with no upstream is safe whatever the DCS holds,
    /// and a member without a running server is a cluster with one node less.
    var startFailedWithoutDCS: Bool {
        input.memory.startFailedAt != nil && input.memory.longAction == nil && !pg.isRunning
            && !pg.dataDirectoryEmpty && pg.dataDirectoryError == nil
    }

    /// Completes what `demote(offline)` would have done: read-only, no upstream, until the DCS
    /// answers again and says whom to follow.
    func finishOfflineDemotion() -> HAPlan {
        HAPlan("starting as readonly because DCS is not accessible and I was a leader", [.follow(leader: nil)])
    }

    /// The leader that announced itself through `POST /failsafe` (Patroni injects it into an
    /// unlocked cluster view): follow it instead of racing for the lock it cannot refresh.
    /// Honoured whatever `failsafe_mode` says now: the endpoint accepts only in failsafe mode,
    /// and a member that said "Accepted" must keep its word for `ttl` even if the mode was
    /// switched off meanwhile, or the leader relying on that answer could meet a second primary.
    func followFailsafeLeader(_ cluster: ClusterView) -> HAPlan? {
        guard let leader = input.failsafe.leader, leader != me else { return nil }
        return follow(cluster, leader: leader,
                      demoteReason: "demoting self because I do not have the lock and I was a leader",
                      followReason: "no action. I am (\(me)), a secondary, and following a leader (\(leader))")
    }

    /// A non-empty `failsafe` key without us: we never took part in the leader's confirmation
    /// rounds, so the leader may still be running on them: we must not win a race.
    func excludedByFailsafeKey(_ cluster: ClusterView, _ name: String? = nil) -> Bool {
        guard settings.failsafeMode, !paused, let listed = cluster.failsafe?.keys, !listed.isEmpty else { return false }
        return !listed.contains(name ?? me)
    }
}
