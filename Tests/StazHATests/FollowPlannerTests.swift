import Testing
@testable import StazHA

/// How a member follows its leader: one row per situation, each with the answers the executor
/// found so far and the action that must come next.
@Suite("Follow planner")
struct FollowPlannerTests {
    static let leader = FollowTarget(memberName: "node1", host: "127.0.0.1", port: 5433, isLeader: true, timeline: 2,
                                     checkpointAfterPromote: true)
    static let cascade = FollowTarget(memberName: "node3", host: "127.0.0.1", port: 5435, isLeader: false, timeline: 2)
    static let freshPrimary = FollowTarget(memberName: "node1", host: "127.0.0.1", port: 5433, isLeader: true,
                                           timeline: 2, checkpointAfterPromote: false)
    static let oldUpstream = (host: "127.0.0.1", port: 5434)
    static let leaderAddress = (host: "127.0.0.1", port: 5433)

    enum Server { case stopped, stoppedPrimary, starting, streaming, notStreaming, primary }

    static func input(_ target: FollowTarget?, _ server: Server, from upstream: (host: String, port: Int)? = leaderAddress,
                      timeline: Int64 = 2, paused: Bool = false, wipe: (rewindFailure: Bool, diverged: Bool) = (false, false),
                      kept: KeptData? = nil, _ findings: FollowFindings = FollowFindings()) -> FollowInput {
        let running = ![.stopped, .stoppedPrimary].contains(server)
        return FollowInput(target: target, isRunning: running, isAcceptingConnections: running && server != .starting,
                           isInRecovery: server != .primary && server != .stoppedPrimary,
                           isStreaming: server == .streaming, timeline: timeline,
                           serverUpstream: running && server != .primary ? upstream : nil,
                           configuredUpstream: upstream, paused: paused, findings: findings,
                           wipeOnRewindFailure: wipe.rewindFailure, wipeOnDivergedTimelines: wipe.diverged, keptData: kept)
    }

    static func archiveOnly(_ input: FollowInput) -> FollowInput {
        var input = input
        input.archiveOnly = true
        return input
    }

    static func outdated(_ input: FollowInput) -> FollowInput {
        var input = input
        input.recoveryOutdated = true
        return input
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var input: FollowInput
        var expected: FollowAction
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "no leader, stopped: start read-only", input: input(nil, .stopped),
            expected: .startStandby(upstream: nil, reporting: .onStart)),
        Row(name: "no leader, running: keep", input: input(nil, .streaming), expected: .keep),
        Row(name: "no leader, stopped, paused: keep", input: input(nil, .stopped, paused: true), expected: .keep),
        Row(name: "streaming from the leader: keep", input: input(leader, .streaming), expected: .keep),
        Row(name: "starting, configured for the leader: keep", input: input(leader, .starting), expected: .keep),
        Row(name: "starting, configured for an old upstream: repoint", input: input(leader, .starting, from: oldUpstream),
            expected: .repoint(leader)),
        Row(name: "streaming from an old upstream: ask about rewind first",
            input: input(leader, .streaming, from: oldUpstream), expected: .checkRewindNeeded(against: leader)),
        Row(name: "streaming from an old upstream, no rewind needed: repoint",
            input: input(leader, .streaming, from: oldUpstream, FollowFindings(rewindNeeded: false)), expected: .repoint(leader)),
        Row(name: "streaming from an old upstream, paused: repoint without rewind checks",
            input: input(leader, .streaming, from: oldUpstream, paused: true), expected: .repoint(leader)),
        Row(name: "cascade source changed: repoint, never rewind against a standby",
            input: input(cascade, .streaming, from: oldUpstream), expected: .repoint(cascade)),
        Row(name: "not streaming, leader on a later timeline: ask about rewind",
            input: input(leader, .notStreaming, timeline: 1), expected: .checkRewindNeeded(against: leader)),
        Row(name: "not streaming, same timeline: keep (it reconnects by itself)",
            input: input(leader, .notStreaming, timeline: 2), expected: .keep),
        Row(name: "running primary told to follow: ask about rewind",
            input: input(leader, .primary), expected: .checkRewindNeeded(against: leader)),
        Row(name: "running, diverged: ask whether pg_rewind can run before stopping",
            input: input(leader, .notStreaming, timeline: 1, FollowFindings(rewindNeeded: true)), expected: .checkRewindPossible),
        Row(name: "running, diverged, rewind possible: stop before rewinding",
            input: input(leader, .notStreaming, timeline: 1, FollowFindings(rewindNeeded: true, rewindPossible: true)),
            expected: .stopForRewind),
        Row(name: "running, diverged, no pg_rewind: keep running and keep the data",
            input: input(leader, .notStreaming, timeline: 1, FollowFindings(rewindNeeded: true, rewindPossible: false)),
            expected: .keepData(KeptData(leader: "node1", timeline: 2, reason: .divergedWithoutRewind))),
        Row(name: "running, diverged, no pg_rewind, wipe allowed: clone again",
            input: input(leader, .notStreaming, timeline: 1, wipe: (false, true), FollowFindings(rewindNeeded: true, rewindPossible: false)),
            expected: .reclone(from: leader, because: .rewindImpossible)),
        Row(name: "stopped for rewind: ask whether pg_rewind can run",
            input: input(leader, .notStreaming, timeline: 1, FollowFindings(rewindNeeded: true, stopped: true)),
            expected: .checkRewindPossible),
        Row(name: "stopped for rewind, rewind possible: rewind",
            input: input(leader, .notStreaming, timeline: 1, FollowFindings(rewindNeeded: true, rewindPossible: true, stopped: true)),
            expected: .rewind(from: leader)),
        Row(name: "rewound: start as standby, reporting the role change",
            input: input(leader, .stoppedPrimary, FollowFindings(rewindPossible: true, rewound: true)),
            expected: .startStandby(upstream: leader, reporting: .onRoleChange)),
        Row(name: "rewind failed: is the leader healthy?",
            input: input(leader, .stoppedPrimary, FollowFindings(rewindPossible: true, rewindFailed: true)),
            expected: .checkLeaderHealthy(leader)),
        Row(name: "rewind failed against a healthy leader: keep the data (the default)",
            input: input(leader, .stoppedPrimary, FollowFindings(rewindPossible: true, rewindFailed: true, leaderHealthy: true)),
            expected: .keepData(KeptData(leader: "node1", timeline: 2, reason: .rewindFailed))),
        Row(name: "rewind failed, remove_data_directory_on_rewind_failure: clone again",
            input: input(leader, .stoppedPrimary, wipe: (true, false),
                         FollowFindings(rewindPossible: true, rewindFailed: true, leaderHealthy: true)),
            expected: .reclone(from: leader, because: .rewindFailed)),
        Row(name: "rewind failed, remove_data_directory_on_diverged_timelines: clone again",
            input: input(leader, .stoppedPrimary, wipe: (false, true),
                         FollowFindings(rewindPossible: true, rewindFailed: true, leaderHealthy: true)),
            expected: .reclone(from: leader, because: .rewindFailed)),
        Row(name: "rewind failed, the leader went away: try again next cycle",
            input: input(leader, .stoppedPrimary, wipe: (true, true),
                         FollowFindings(rewindPossible: true, rewindFailed: true, leaderHealthy: false)),
            expected: .keep),
        Row(name: "kept data for this leader and timeline: stay stopped",
            input: input(leader, .stoppedPrimary, kept: KeptData(leader: "node1", timeline: 2, reason: .rewindFailed)),
            expected: .keepData(KeptData(leader: "node1", timeline: 2, reason: .rewindFailed))),
        Row(name: "kept data for an older timeline: try again",
            input: input(leader, .stoppedPrimary, kept: KeptData(leader: "node1", timeline: 1, reason: .rewindFailed)),
            expected: .checkRewindPossible),
        Row(name: "stopped former primary: always rewinds, asks whether it can",
            input: input(leader, .stoppedPrimary), expected: .checkRewindPossible),
        Row(name: "stopped former primary, pg_rewind impossible: is it diverged?",
            input: input(leader, .stoppedPrimary, FollowFindings(rewindPossible: false)),
            expected: .checkRewindNeeded(against: leader)),
        Row(name: "stopped former primary, no pg_rewind, not diverged: start as a standby",
            input: input(leader, .stoppedPrimary, FollowFindings(rewindNeeded: false, rewindPossible: false)),
            expected: .startStandby(upstream: leader, reporting: .onRoleChange)),
        Row(name: "stopped former primary, no pg_rewind, diverged: keep the data (the default)",
            input: input(leader, .stoppedPrimary, FollowFindings(rewindNeeded: true, rewindPossible: false)),
            expected: .keepData(KeptData(leader: "node1", timeline: 2, reason: .divergedWithoutRewind))),
        Row(name: "stopped former primary, no pg_rewind, diverged, wipe allowed: clone again",
            input: input(leader, .stoppedPrimary, wipe: (false, true), FollowFindings(rewindNeeded: true, rewindPossible: false)),
            expected: .reclone(from: leader, because: .rewindImpossible)),
        Row(name: "stopped former primary, new leader not checkpointed yet: wait",
            input: input(freshPrimary, .stoppedPrimary), expected: .waitForCheckpoint(leader: "node1")),
        Row(name: "stopped standby: ask about rewind", input: input(leader, .stopped),
            expected: .checkRewindNeeded(against: leader)),
        Row(name: "stopped standby, not diverged: start streaming",
            input: input(leader, .stopped, FollowFindings(rewindNeeded: false)),
            expected: .startStandby(upstream: leader, reporting: .onStart)),
        Row(name: "stopped standby, diverged: rewind",
            input: input(leader, .stopped, FollowFindings(rewindNeeded: true, rewindPossible: true)),
            expected: .rewind(from: leader)),
        Row(name: "stopped standby of a cascade source: start, no rewind check",
            input: input(cascade, .stopped), expected: .startStandby(upstream: cascade, reporting: .onStart)),
        Row(name: "stopped former primary, cascade target: start, reporting the role change",
            input: input(cascade, .stoppedPrimary), expected: .startStandby(upstream: cascade, reporting: .onRoleChange)),
        Row(name: "stopped, paused: leave it stopped", input: input(leader, .stoppedPrimary, paused: true), expected: .keep),
        Row(name: "nostream, stopped: start with no upstream (WAL from the archive)",
            input: { var i = input(leader, .stopped); i.noStream = true; return i }(),
            expected: .startStandby(upstream: nil, reporting: .onStart)),
        Row(name: "nostream, running without an upstream: keep (never repointed)",
            input: { var i = input(leader, .notStreaming, from: nil, timeline: 1); i.noStream = true; return i }(),
            expected: .keep),
        // A standby cluster fed by its archive alone (`standby_cluster` with restore_command only).
        Row(name: "archive only, streaming from a remote primary before: drop the upstream",
            input: archiveOnly(input(nil, .streaming)), expected: .dropUpstream),
        Row(name: "archive only, no upstream configured: keep", input: archiveOnly(input(nil, .notStreaming, from: nil)),
            expected: .keep),
        Row(name: "archive only, stopped: start with no upstream", input: archiveOnly(input(nil, .stopped, from: nil)),
            expected: .startStandby(upstream: nil, reporting: .onStart)),
        Row(name: "archive only, a demoted primary: start with no upstream, reporting the role change",
            input: archiveOnly(input(nil, .stoppedPrimary, from: nil)), expected: .startStandby(upstream: nil, reporting: .onRoleChange)),
        Row(name: "same upstream but the standby cluster's slot or archive settings changed: repoint",
            input: outdated(input(leader, .streaming)), expected: .repoint(leader)),
        Row(name: "same upstream, settings changed, paused: keep", input: outdated(input(leader, .streaming, paused: true)),
            expected: .keep),
    ]

    @Test(arguments: rows)
    func plans(_ row: Row) {
        #expect(planFollow(row.input) == row.expected)
    }

    /// Whatever the answers, the rounds of one `follow` step end: the executor's loop is bounded
    /// at eight rounds, and no chain of answers needs more than six.
    @Test(arguments: [Server.stopped, .stoppedPrimary, .starting, .streaming, .notStreaming, .primary])
    func everyChainEnds(_ server: Server) {
        for needed in [true, false] {
            for possible in [true, false] {
                for rewindWorks in [true, false] {
                  for healthy in [true, false] {
                    var findings = FollowFindings()
                    var rounds = 0
                    while true {
                        rounds += 1
                        let action = planFollow(Self.input(Self.leader, server, from: Self.oldUpstream, timeline: 1, findings))
                        switch action {
                        case .checkRewindNeeded: findings.rewindNeeded = needed
                        case .checkRewindPossible: findings.rewindPossible = possible
                        case .stopForRewind: findings.stopped = true
                        case .rewind:
                            if rewindWorks { findings.rewound = true } else { findings.rewindFailed = true }
                        case .checkLeaderHealthy: findings.leaderHealthy = healthy
                        default: break
                        }
                        if case .checkRewindNeeded = action { continue }
                        if [.checkRewindPossible, .stopForRewind].contains(action) { continue }
                        if case .rewind = action { continue }
                        if case .checkLeaderHealthy = action { continue }
                        break
                    }
                    #expect(rounds <= 6, "\(server) needed=\(needed) possible=\(possible) rewindWorks=\(rewindWorks)")
                  }
                }
            }
        }
    }
}
