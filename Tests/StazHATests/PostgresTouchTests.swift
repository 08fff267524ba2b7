import Testing
import StazCore
@testable import StazHA

/// A cycle whose executed steps all leave PostgreSQL alone publishes the observation it decided
/// on instead of observing the server again; every step that can change it must say so.
@Suite("HA steps that change PostgreSQL")
struct PostgresTouchTests {
    static let members = ["node1", "node2", "node3"]

    /// The steady states: one observation a cycle is enough.
    @Test func keepingTheLockChangesNothing() {
        let plan = decide(input("node1", cluster(leader: "node1", members: Self.members), PG.primary()))
        #expect(!plan.steps.isEmpty)
        #expect(plan.resolved().steps.allSatisfy { $0.leavesPostgresAlone })
    }

    /// A follower's step changes the server only if the follow planner chooses to.
    @Test func followingIsLeftToTheFollowPlanner() {
        let plan = decide(input("node2", cluster(leader: "node1", members: Self.members), PG.replica()))
        #expect(plan.resolved().steps == [.follow(leader: "node1")])
        #expect(!HAStep.follow(leader: "node1").leavesPostgresAlone)
        #expect(!HAStep.followRemote(asLeader: false).leavesPostgresAlone)
    }

    /// Role changes observe the server again after their steps.
    @Test(arguments: [
        ("promotes", input("node1", cluster(leader: "node1", members: members), PG.replica())),
        ("demotes", input("node2", cluster(leader: "node1", members: members), PG.primary())),
        ("starts a stopped primary", input("node1", cluster(leader: "node1", members: members), PG.stopped(wasPrimary: true))),
    ])
    func roleChangesTouchPostgres(_ what: String, _ input: HAInput) {
        let steps = decide(input).resolved().steps
        #expect(steps.contains { !$0.leavesPostgresAlone }, "the plan that \(what)")
    }

    static let upstream = FollowTarget(memberName: "node1", host: "127.0.0.1", port: 5432, isLeader: true, timeline: 1,
                                       checkpointAfterPromote: nil)

    @Test(arguments: [
        (FollowAction.keep, false),
        (.checkRewindNeeded(against: upstream), false),
        (.checkRewindPossible, false),
        (.waitForCheckpoint(leader: "node1"), false),
        (.checkLeaderHealthy(upstream), false),
        (.startStandby(upstream: upstream, reporting: .onStart), true),
        (.repoint(upstream), true),
        (.dropUpstream, true),
        (.stopForRewind, true),
        (.rewind(from: upstream), true),
        (.reclone(from: upstream, because: .rewindFailed), true),
    ])
    func followRounds(_ action: FollowAction, _ changes: Bool) {
        #expect(action.changesPostgres == changes)
    }
}

@Suite("Publishing the observation a cycle decided on")
struct ObservationReuseTests {
    @Test(arguments: [
        (true, true, false, true),    // a steady cycle: one query
        (false, true, false, false),  // a step changed the server
        (true, false, false, false),  // the server did not answer: it may be up by now
        (true, true, true, false),    // a long action ran beside the cycle
    ])
    func stillHolds(_ leftAlone: Bool, _ answered: Bool, _ longAction: Bool, _ holds: Bool) {
        #expect(observationStillHolds(planLeftPostgresAlone: leftAlone, serverAnswered: answered, longActionRan: longAction) == holds)
    }
}
