import Testing
import StazCore
import StazConfig
@testable import StazHA

/// DCS failsafe mode (Patroni's `Failsafe`, `Ha._handle_dcs_error`, `Ha.is_failover_possible`).
@Suite("HA decide: DCS failsafe mode")
struct FailsafeTests {
    static let threeNodes = ["node1", "node2", "node3"]
    static let failsafeOn = settings { $0.failsafeMode = true }
    static let keep = "continue to run as a leader because failsafe mode is enabled and all members are accessible"
    static let demoted = "demoted self because DCS is not accessible and I was a leader"

    static func listed(_ names: [String]) -> [FailsafeMember] {
        names.map { FailsafeMember(name: $0, apiURL: "http://127.0.0.1:8008/patroni") }
    }

    /// A `failsafe` key naming these members.
    static func key(_ names: [String]) -> JSONObject {
        JSONObject(names.map { ($0, JSONValue.string("http://127.0.0.1:8008/patroni")) })
    }

    static func confirm(_ names: [String]) -> HAStep {
        .confirmFailsafe(members: listed(names), then: HAPlan(""), otherwise: HAPlan(""))
    }

    /// `input(...)` with the failsafe part set.
    static func with(_ base: HAInput, topology: [String]? = nil, leader: String? = nil) -> HAInput {
        var input = base
        input.failsafe = FailsafeInput(topology: topology.map(listed), leader: leader)
        return input
    }

    /// `with(...)` for a leader whose lease keeper could not renew the lock lately.
    static func inDoubt(_ base: HAInput, topology: [String]? = threeNodes) -> HAInput {
        var input = with(base, topology: topology)
        input.failsafe.lockInDoubt = true
        return input
    }

    /// An unlocked cluster whose `failsafe` key names `failsafeKey` (nil: no key).
    static func unlocked(failsafeKey: [String]?, failover: FailoverRequest? = nil) -> ClusterView {
        var view = cluster(members: threeNodes, failover: failover, optime: baseLSN)
        view.failsafe = failsafeKey.map(key)
        return view
    }

    static let dcsDownCases: [HACase] = [
        HACase("DCS down, failsafe mode, every member accepts: keep running as primary",
               with(input("node1", nil, PG.primary(), settings: failsafeOn), topology: threeNodes),
               steps: [confirm(["node2", "node3"])], message: keep),
        HACase("DCS down, failsafe mode, one member refuses or times out: demote offline",
               with(input("node1", nil, PG.primary(), settings: failsafeOn), topology: threeNodes), .failsafeRefused,
               steps: [confirm(["node2", "node3"]), .demote(.offline)], message: demoted),
        HACase("DCS down, failsafe mode, single-member key: nobody to ask, keep running",
               with(input("node1", nil, PG.primary(), settings: failsafeOn), topology: ["node1"]),
               steps: [confirm([])], message: keep),
        HACase("DCS down, failsafe mode, we are not in the failsafe key: demote at once",
               with(input("node1", nil, PG.primary(), settings: failsafeOn), topology: ["node2", "node3"]),
               steps: [.demote(.offline)], message: demoted),
        HACase("DCS down, failsafe mode, no failsafe key known: demote at once",
               with(input("node1", nil, PG.primary(), settings: failsafeOn)),
               steps: [.demote(.offline)], message: demoted),
        HACase("DCS down, failsafe mode off: demote at once although a key is known",
               with(input("node1", nil, PG.primary()), topology: threeNodes),
               steps: [.demote(.offline)], message: demoted),
        HACase("DCS down, failsafe mode, paused: nothing changes",
               with(input("node1", nil, PG.primary(), settings: settings { $0.failsafeMode = true; $0.pause = true }), topology: threeNodes),
               steps: [], message: "PAUSE: DCS is not accessible"),
        HACase("DCS down, replica in failsafe mode: keeps replicating, never asks anybody",
               with(input("node2", nil, PG.replica(), settings: failsafeOn), topology: threeNodes, leader: "node1"),
               steps: [], message: "DCS is not accessible"),
        HACase("DCS down, the primary's PostgreSQL was fenced: back read-only, no upstream",
               input("node1", nil, PG.stopped(wasPrimary: true), settings: failsafeOn),
               steps: [.follow(leader: nil)], message: "starting as readonly because DCS is not accessible and I was a leader"),
        HACase("DCS down, fenced primary in pause: left alone",
               input("node1", nil, PG.stopped(wasPrimary: true), settings: paused),
               steps: [], message: "PAUSE: DCS is not accessible"),
    ]

    @Test(arguments: dcsDownCases)
    func dcsDown(_ row: HACase) { row.check() }

    static let raceCases: [HACase] = [
        HACase("replica with a recent failsafe leader in an unlocked cluster follows it, does not race",
               with(input("node2", unlocked(failsafeKey: threeNodes), PG.replica(), settings: failsafeOn), leader: "node1"),
               steps: [.follow(leader: "node1")],
               message: "no action. I am (node2), a secondary, and following a leader (node1)"),
        HACase("the failsafe leader is honoured even after failsafe mode was switched off",
               with(input("node2", unlocked(failsafeKey: threeNodes), PG.replica()), leader: "node1"),
               steps: [.follow(leader: "node1")],
               message: "no action. I am (node2), a secondary, and following a leader (node1)"),
        HACase("a primary told about another failsafe leader demotes instead of racing",
               with(input("node2", unlocked(failsafeKey: threeNodes), PG.primary(), settings: failsafeOn), leader: "node1"),
               steps: [.demote(.immediateToFollow)],
               message: "demoting self because I do not have the lock and I was a leader"),
        HACase("member absent from a non-empty failsafe key does not race",
               input("node3", unlocked(failsafeKey: ["node1", "node2"]), PG.replica(), settings: failsafeOn),
               steps: [.follow(leader: nil)],
               message: "following a different leader because i am not the healthiest node"),
        HACase("member absent from the failsafe key does not race even as the failover candidate",
               input("node3", unlocked(failsafeKey: ["node1", "node2"], failover: failoverKey(to: "node3")), PG.replica(), settings: failsafeOn),
               steps: [.follow(leader: nil)],
               message: "following a different leader because i am not the healthiest node"),
        HACase("member listed in the failsafe key races as usual",
               input("node3", unlocked(failsafeKey: threeNodes), PG.replica(), settings: failsafeOn),
               steps: [acquireLock, .prepareMemberSlots, .promote, .recordPromotion],
               message: "promoted self to leader by acquiring session lock"),
        HACase("an empty failsafe key excludes nobody",
               input("node3", unlocked(failsafeKey: []), PG.replica(), settings: failsafeOn),
               steps: [acquireLock, .prepareMemberSlots, .promote, .recordPromotion],
               message: "promoted self to leader by acquiring session lock"),
        HACase("failsafe mode off: the key is ignored",
               input("node3", unlocked(failsafeKey: ["node1", "node2"]), PG.replica()),
               steps: [acquireLock, .prepareMemberSlots, .promote, .recordPromotion],
               message: "promoted self to leader by acquiring session lock"),
        HACase("the former primary may retake the lock after the DCS returns (it is not a replica racing)",
               input("node1", unlocked(failsafeKey: ["node2", "node3"]), PG.primary(), settings: failsafeOn),
               steps: [acquireLock],
               message: "acquired session lock as a leader"),
    ]

    static let leaderKey = cluster(leader: "node1", members: threeNodes)
    static let noAction = "no action. I am (node1), the leader with the lock"

    /// The DCS answers reads but the lock's renewals fail (an etcd coming back): the leader asks
    /// the members before it updates the lock, so an accepted round extends its fence deadline
    /// even when the update then spends `retry_timeout` failing.
    static let lockInDoubtCases: [HACase] = [
        HACase("lock in doubt, failsafe mode: a round of POST /failsafe, then the lock update",
               inDoubt(input("node1", leaderKey, PG.primary(), settings: failsafeOn)),
               steps: [confirm(["node2", "node3"]), updateLock], message: noAction),
        HACase("lock in doubt, the round refused: the lock update still decides",
               inDoubt(input("node1", leaderKey, PG.primary(), settings: failsafeOn)), .failsafeRefused,
               steps: [confirm(["node2", "node3"]), updateLock], message: noAction),
        HACase("lock in doubt, the round refused and the lock lost: demote as without failsafe",
               inDoubt(input("node1", leaderKey, PG.primary(), settings: failsafeOn)),
               DCSAnswers(lockUpdated: false, failsafeConfirmed: false),
               steps: [confirm(["node2", "node3"]), updateLock, .demote(.immediateNoLock)],
               message: "demoted self because failed to update leader lock in DCS"),
        HACase("lock not in doubt: no round, the lock update alone",
               with(input("node1", leaderKey, PG.primary(), settings: failsafeOn), topology: threeNodes),
               steps: [updateLock], message: noAction),
        HACase("lock in doubt, failsafe mode off: the lock update alone",
               inDoubt(input("node1", leaderKey, PG.primary())),
               steps: [updateLock], message: noAction),
        HACase("lock in doubt, we are not in the failsafe key: nobody's answer could keep us",
               inDoubt(input("node1", leaderKey, PG.primary(), settings: failsafeOn), topology: ["node2", "node3"]),
               steps: [updateLock], message: noAction),
        HACase("lock in doubt in pause: nothing is fenced, so no round",
               inDoubt(input("node1", leaderKey, PG.primary(), settings: settings { $0.failsafeMode = true; $0.pause = true })),
               steps: [updateLock], message: "PAUSE: " + noAction),
        HACase("lock in doubt while a replica holds the key's name of another leader: no round",
               inDoubt(input("node2", leaderKey, PG.replica(), settings: failsafeOn)),
               steps: nil, message: "no action. I am (node2), a secondary, and following a leader (node1)"),
    ]

    @Test(arguments: lockInDoubtCases)
    func lockInDoubt(_ row: HACase) {
        row.check()
        let rounds = decide(row.input).resolved().steps.filter { if case .confirmFailsafe = $0 { return true }; return false }
        #expect(rounds.count <= 1, "\(row.name): one round a cycle at most")
    }

    @Test(arguments: raceCases)
    func race(_ row: HACase) { row.check() }

    /// Whatever the members answer, a plan made without the DCS never promotes or takes a lock.
    @Test(arguments: dcsDownCases)
    func noPromotionWithoutDCS(_ row: HACase) {
        for answers in [DCSAnswers.yes, .failsafeRefused] {
            let steps = decide(row.input).resolved(failsafeConfirmed: answers.failsafeConfirmed).steps
            #expect(!steps.contains(.promote) && !steps.contains(acquireLock), "\(row.name): \(steps)")
        }
    }

    @Test func failsafeKeyParsing() {
        let key = JSONObject([("a", .string("http://a:8008/patroni")), ("b", .int(1)), ("c", .string("https://c/patroni"))])
        #expect(FailsafeMember.list(key) == [FailsafeMember(name: "a", apiURL: "http://a:8008/patroni"),
                                             FailsafeMember(name: "c", apiURL: "https://c/patroni")])
        #expect(FailsafeMember.list(nil) == nil)
        #expect(FailsafeMember.list(JSONObject()) == [])
    }

    /// The simulation's seed 33: a stale switchover names node3, which the `failsafe` key
    /// leaves out (its member key had expired when the leader wrote it). node3 may not win a
    /// race, so nobody waits for it: neither another member nor the former leader.
    @Test func nobodyWaitsForACandidateTheFailsafeKeyLeavesOut() {
        let view = Self.unlocked(failsafeKey: ["node1", "node2"], failover: failoverKey(from: "node1", to: "node3"))
        let other = decide(input("node2", view, PG.replica(), peers: [Peer.replica("node1"), Peer.replica("node3")],
                                 settings: Self.failsafeOn))
        #expect(other.resolved().steps.contains(.promote), "\(other.message)")
        let formerLeader = decide(input("node1", view, PG.replica(), peers: [Peer.replica("node3")], settings: Self.failsafeOn))
        #expect(formerLeader.resolved().steps.contains(.promote), "\(formerLeader.message)")
        // Listed, node3 is waited for as before.
        let listed = Self.unlocked(failsafeKey: ["node1", "node2", "node3"], failover: failoverKey(from: "node1", to: "node3"))
        let waits = decide(input("node2", listed, PG.replica(), peers: [Peer.replica("node1"), Peer.replica("node3")],
                                 settings: Self.failsafeOn))
        #expect(!waits.resolved().steps.contains(.promote), "\(waits.message)")
    }

    /// The simulation's seed 361 (failsafe mode), its end state: a stale switchover from node3 to
    /// node2, which the `failsafe` key leaves out; node2 and node3 level on timeline 3, node1
    /// behind on timeline 2. node3 waited for node1 (another member could win), node1 deferred
    /// to node2 (ahead of it), node2 may not race: nobody led, for good.
    @Test func aFormerLeaderLeadsWhenOnlyAMemberOnAnOlderTimelineRemains() {
        let view = Self.unlocked(failsafeKey: ["node1", "node3"], failover: failoverKey(from: "node3", to: "node2"))
        let m1 = TimelineAwareRaceTests.peer("node1", lsn: baseLSN, timeline: 2)
        let m2 = TimelineAwareRaceTests.peer("node2", lsn: baseLSN + 4096, timeline: 3)
        let m3 = TimelineAwareRaceTests.peer("node3", lsn: baseLSN + 4096, timeline: 3)
        let formerLeader = decide(input("node3", view, PG.replica(lsn: baseLSN + 4096, timeline: 3), peers: [m1, m2],
                                        settings: Self.failsafeOn))
        #expect(formerLeader.resolved().steps.contains(.promote), "\(formerLeader.message)")
        // node1 still defers: node2, though out of the race, is on a newer timeline.
        let behind = decide(input("node1", view, PG.replica(lsn: baseLSN, timeline: 2), peers: [m2, m3],
                                  settings: Self.failsafeOn))
        #expect(!behind.resolved().steps.contains(.promote), "\(behind.message)")
        let excluded = decide(input("node2", view, PG.replica(lsn: baseLSN + 4096, timeline: 3), peers: [m1, m3],
                                    settings: Self.failsafeOn))
        #expect(!excluded.resolved().steps.contains(.promote), "\(excluded.message)")
    }

    /// A member the `failsafe` key leaves out is not compared with: ahead of us on our own
    /// timeline, it still may not win, so we do (Patroni's `_is_healthiest_node` drops it).
    @Test func aMemberTheFailsafeKeyLeavesOutIsNotWaitedFor() {
        let view = Self.unlocked(failsafeKey: ["node1", "node2"])
        let plan = decide(input("node1", view, PG.replica(), peers: [Peer.replica("node2"), Peer.replica("node3", lsn: baseLSN + 4096)],
                                settings: Self.failsafeOn))
        #expect(plan.resolved().steps.contains(.promote), "\(plan.message)")
        let listed = Self.unlocked(failsafeKey: Self.threeNodes)
        let waits = decide(input("node1", listed, PG.replica(), peers: [Peer.replica("node2"), Peer.replica("node3", lsn: baseLSN + 4096)],
                                 settings: Self.failsafeOn))
        #expect(!waits.resolved().steps.contains(.promote), "\(waits.message)")
    }
}
