/// Where a standby streams from: the leader's (or the cascade source's) connection address.
public struct FollowTarget: Sendable, Equatable {
    public var memberName: String
    public var host: String
    public var port: Int
    /// The member we follow is the leader (a primary), not a cascade source (`replicatefrom`):
    /// only a primary can be compared with to decide a rewind.
    public var isLeader: Bool
    /// The timeline the member publishes.
    public var timeline: Int64?
    /// The member key's `checkpoint_after_promote`: false while a new primary has not yet
    /// checkpointed since promoting, so pg_control still names its old timeline and a rewind
    /// against it would wrongly find nothing to do.
    public var checkpointAfterPromote: Bool?

    public init(memberName: String, host: String, port: Int, isLeader: Bool, timeline: Int64? = nil,
                checkpointAfterPromote: Bool? = nil) {
        self.memberName = memberName; self.host = host; self.port = port; self.isLeader = isLeader
        self.timeline = timeline; self.checkpointAfterPromote = checkpointAfterPromote
    }
}

/// What the executor found out while carrying out a `follow` step so far. Each planning round
/// gets the answers of the earlier ones, as the DCS branches of `HAStep` do.
public struct FollowFindings: Sendable, Equatable {
    /// The answer to `.checkRewindNeeded`: our WAL diverged from the leader's timeline.
    public var rewindNeeded: Bool?
    /// The answer to `.checkRewindPossible`: use_pg_rewind on, pg_rewind present, and the data
    /// directory WAL-logs hint bits or has checksums.
    public var rewindPossible: Bool?
    /// PostgreSQL was stopped by this step (a running standby that must be rewound).
    public var stopped = false
    /// pg_rewind ran and succeeded / failed.
    public var rewound = false
    public var rewindFailed = false
    /// The answer to `.checkLeaderHealthy` after a failed rewind: the leader answers as a
    /// running primary (Patroni's "failed to rewind from healthy primary").
    public var leaderHealthy: Bool?

    public init(rewindNeeded: Bool? = nil, rewindPossible: Bool? = nil, stopped: Bool = false,
                rewound: Bool = false, rewindFailed: Bool = false, leaderHealthy: Bool? = nil) {
        self.rewindNeeded = rewindNeeded; self.rewindPossible = rewindPossible; self.stopped = stopped
        self.rewound = rewound; self.rewindFailed = rewindFailed; self.leaderHealthy = leaderHealthy
    }
}

/// Everything the choice of how to follow depends on.
public struct FollowInput: Sendable, Equatable {
    /// nil: no member to stream from (no leader, we are it, or it has no connection address).
    public var target: FollowTarget?
    public var isRunning: Bool
    public var isAcceptingConnections: Bool
    public var isInRecovery: Bool
    public var isStreaming: Bool
    public var timeline: Int64?
    /// The upstream the running server follows (its WAL receiver's or `primary_conninfo`'s).
    public var serverUpstream: (host: String, port: Int)?
    /// The upstream our last written configuration names (a server still starting has not
    /// read its settings yet, so `serverUpstream` says nothing).
    public var configuredUpstream: (host: String, port: Int)?
    public var paused: Bool
    public var findings: FollowFindings
    /// `remove_data_directory_on_rewind_failure` / `remove_data_directory_on_diverged_timelines`:
    /// only with these may a member throw its data away to follow (both off by default, as in
    /// Patroni: an old primary's data directory may hold the only copy of some commits).
    public var wipeOnRewindFailure: Bool
    public var wipeOnDivergedTimelines: Bool
    /// An earlier cycle kept the data of this stopped member instead of wiping it.
    public var keptData: KeptData?
    /// Our `nostream` tag: we never stream, WAL comes from the archive (`restore_command`).
    public var noStream: Bool
    /// A standby cluster fed by the archive alone: no upstream even with a target.
    public var archiveOnly: Bool = false
    /// The recovery settings in force differ from those following the target needs (a
    /// standby cluster's slot or archive settings changed): rewrite them and reload.
    public var recoveryOutdated: Bool = false

    public init(target: FollowTarget?, isRunning: Bool, isAcceptingConnections: Bool, isInRecovery: Bool,
                isStreaming: Bool, timeline: Int64?, serverUpstream: (host: String, port: Int)?,
                configuredUpstream: (host: String, port: Int)?, paused: Bool, findings: FollowFindings = FollowFindings(),
                wipeOnRewindFailure: Bool = false, wipeOnDivergedTimelines: Bool = false, keptData: KeptData? = nil,
                noStream: Bool = false) {
        self.target = target; self.isRunning = isRunning; self.isAcceptingConnections = isAcceptingConnections
        self.isInRecovery = isInRecovery; self.isStreaming = isStreaming; self.timeline = timeline
        self.serverUpstream = serverUpstream; self.configuredUpstream = configuredUpstream; self.paused = paused
        self.findings = findings
        self.wipeOnRewindFailure = wipeOnRewindFailure; self.wipeOnDivergedTimelines = wipeOnDivergedTimelines
        self.keptData = keptData; self.noStream = noStream
    }

    public static func == (a: FollowInput, b: FollowInput) -> Bool {
        a.target == b.target && a.isRunning == b.isRunning && a.isAcceptingConnections == b.isAcceptingConnections
            && a.isInRecovery == b.isInRecovery && a.isStreaming == b.isStreaming && a.timeline == b.timeline
            && a.serverUpstream?.host == b.serverUpstream?.host && a.serverUpstream?.port == b.serverUpstream?.port
            && a.configuredUpstream?.host == b.configuredUpstream?.host
            && a.configuredUpstream?.port == b.configuredUpstream?.port
            && a.paused == b.paused && a.findings == b.findings
            && a.wipeOnRewindFailure == b.wipeOnRewindFailure && a.wipeOnDivergedTimelines == b.wipeOnDivergedTimelines
            && a.keptData == b.keptData && a.noStream == b.noStream
            && a.archiveOnly == b.archiveOnly && a.recoveryOutdated == b.recoveryOutdated
    }
}

/// Which callback a start reports: a member that was a primary changed its role.
public enum StartEvent: String, Sendable, Equatable {
    case onStart = "on_start"
    case onRoleChange = "on_role_change"
}

/// Why a member throws its data away and clones again.
public enum RecloneReason: Sendable, Equatable {
    case rewindImpossible
    case rewindFailed
}

/// Why a member that cannot follow without losing its data keeps it instead.
public enum KeepDataReason: Sendable, Equatable, CustomStringConvertible {
    case rewindFailed
    case divergedWithoutRewind

    public var description: String {
        switch self {
        case .rewindFailed:
            return "pg_rewind failed and remove_data_directory_on_rewind_failure is off"
        case .divergedWithoutRewind:
            return "its timeline diverged from the leader's, pg_rewind is not possible (use_pg_rewind off, or neither wal_log_hints nor data checksums) and remove_data_directory_on_diverged_timelines is off"
        }
    }
}

/// The memory of a kept data directory: against which leader and timeline it was decided.
/// A stopped member stays stopped while these are unchanged (trying again would only fail again).
public struct KeptData: Sendable, Equatable {
    public var leader: String
    public var timeline: Int64?
    public var reason: KeepDataReason
    public init(leader: String, timeline: Int64?, reason: KeepDataReason) {
        self.leader = leader; self.timeline = timeline; self.reason = reason
    }
}

/// The next thing to do to follow a target. Questions (`check...`) are answered by the executor
/// in `FollowFindings` and planned again; every other action ends the step, except `stopForRewind`
/// and `rewind`, whose outcome is planned on.
public enum FollowAction: Sendable, Equatable {
    /// Nothing to change this cycle.
    case keep
    /// Start PostgreSQL as a standby of the target (nil: read-only, no upstream).
    case startStandby(upstream: FollowTarget?, reporting: StartEvent)
    /// Rewrite `primary_conninfo` for the target and reload (PostgreSQL 13+ reconnects).
    case repoint(FollowTarget)
    /// Rewrite the recovery settings without an upstream and reload: WAL comes from the archive.
    case dropUpstream
    case checkRewindNeeded(against: FollowTarget)
    case checkRewindPossible
    /// Fast stop of the running standby before rewinding it.
    case stopForRewind
    /// The new primary has not checkpointed since its promotion: rewind next cycle.
    case waitForCheckpoint(leader: String)
    case rewind(from: FollowTarget)
    /// pg_rewind failed: does the leader answer as a running primary?
    case checkLeaderHealthy(FollowTarget)
    /// Immediate stop, wipe the data directory, clone from the target in the background.
    case reclone(from: FollowTarget, because: RecloneReason)
    /// Leave the data directory and the server as they are and say why: the operator decides
    /// (`reinit`), or the settings allow a wipe.
    case keepData(KeptData)
}

/// How a member follows a leader: keep streaming, repoint, restart, rewind or clone again
/// (Patroni's `Ha.follow` and `_rewind`/`_handle_rewind_or_reinitialize` choices).
public func planFollow(_ input: FollowInput) -> FollowAction {
    let findings = input.findings
    // `nostream` (Patroni), or a standby cluster fed by its archive: a standby with no upstream
    // at all, restoring WAL from the archive.
    if input.noStream || input.archiveOnly {
        if input.paused { return .keep }
        if input.isRunning { return input.configuredUpstream != nil || input.recoveryOutdated ? .dropUpstream : .keep }
        return .startStandby(upstream: nil, reporting: input.isInRecovery ? .onStart : .onRoleChange)
    }
    guard let target = input.target else {
        return !input.isRunning && !input.paused ? .startStandby(upstream: nil, reporting: .onStart) : .keep
    }
    if findings.rewound { return .startStandby(upstream: target, reporting: .onRoleChange) }
    if findings.rewindFailed {
        switch findings.leaderHealthy {
        case nil: return .checkLeaderHealthy(target)
        // The leader went away meanwhile: nothing is known about pg_rewind, try again next cycle.
        case false?: return .keep
        case true?:
            return input.wipeOnRewindFailure || input.wipeOnDivergedTimelines
                ? .reclone(from: target, because: .rewindFailed) : keep(.rewindFailed, target)
        }
    }
    if let kept = input.keptData, !input.isRunning, kept == KeptData(leader: target.memberName, timeline: target.timeline, reason: kept.reason) {
        return .keepData(kept)
    }

    if input.isRunning && !findings.stopped {
        let sameUpstream = input.serverUpstream.map { $0.host == target.host && $0.port == target.port } ?? false
        if !input.isAcceptingConnections {
            // Still starting (waiting for WAL from its upstream): point it at the right upstream
            // if the leader changed meanwhile, otherwise look again next cycle.
            let configured = input.configuredUpstream.map { $0.host == target.host && $0.port == target.port } ?? false
            return configured ? .keep : .repoint(target)
        }
        // Streaming stopped while the target is on a later timeline: the standby cannot
        // follow the switch by itself (its WAL went past the fork point).
        let stuck = !input.isStreaming && (target.timeline ?? 0) > (input.timeline ?? 0)
        if sameUpstream && !stuck { return input.recoveryOutdated && !input.paused ? .repoint(target) : .keep }
        if target.isLeader && !input.paused {
            switch findings.rewindNeeded {
            case nil: return .checkRewindNeeded(against: target)
            case true?:
                // A diverged standby that may not be wiped keeps running (read-only) rather than
                // being stopped for nothing.
                switch findings.rewindPossible {
                case nil: return .checkRewindPossible
                case true?: return .stopForRewind
                case false?: return input.wipeOnDivergedTimelines ? .reclone(from: target, because: .rewindImpossible)
                                                                  : keep(.divergedWithoutRewind, target)
                }
            case false?: break
            }
        }
        return sameUpstream ? .keep : .repoint(target)
    }
    if input.paused { return .keep }
    // A stopped former primary always rewinds against a new leader (its last WAL may be
    // unreplicated); a stopped standby only when its timeline diverged.
    let wasPrimary = !input.isInRecovery && !findings.stopped
    if target.isLeader {
        if !wasPrimary && findings.rewindNeeded == nil { return .checkRewindNeeded(against: target) }
        if wasPrimary || findings.rewindNeeded == true { return rewindOrReclone(target, input, wasPrimary: wasPrimary) }
    }
    return .startStandby(upstream: target, reporting: wasPrimary ? .onRoleChange : .onStart)
}

private func keep(_ reason: KeepDataReason, _ target: FollowTarget) -> FollowAction {
    .keepData(KeptData(leader: target.memberName, timeline: target.timeline, reason: reason))
}

private func rewindOrReclone(_ target: FollowTarget, _ input: FollowInput, wasPrimary: Bool) -> FollowAction {
    let findings = input.findings
    if target.checkpointAfterPromote == false { return .waitForCheckpoint(leader: target.memberName) }
    switch findings.rewindPossible {
    case nil: return .checkRewindPossible
    case true?: return .rewind(from: target)
    case false?:
        // A former primary is rewound whatever its WAL says; without pg_rewind only a real
        // divergence justifies anything but starting it as a standby.
        switch findings.rewindNeeded {
        case nil: return .checkRewindNeeded(against: target)
        case false?: return .startStandby(upstream: target, reporting: wasPrimary ? .onRoleChange : .onStart)
        case true?: return input.wipeOnDivergedTimelines ? .reclone(from: target, because: .rewindImpossible)
                                                        : keep(.divergedWithoutRewind, target)
        }
    }
}
