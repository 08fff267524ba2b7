import StazAPI
import StazCore
import Testing

struct HealthCheckTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let label: String
        let snapshot: NodeSnapshot
        let path: String
        let expected: Int
        var testDescription: String { "\(label) \(path) → \(expected)" }
    }

    static let expiredLeader = Fixtures.leader(leaseLeft: .seconds(-1))
    static let lagging = Fixtures.replica(replayed: 1_000, leaderOptime: 20_000_000)
    static let noLoadBalance: NodeSnapshot = { var s = Fixtures.replica(); s.noLoadBalance = true; return s }()
    static let syncReplica: NodeSnapshot = { var s = Fixtures.replica(); s.isSyncStandby = true; return s }()
    static let quorumReplica: NodeSnapshot = { var s = Fixtures.replica(); s.isQuorumStandby = true; return s }()
    static let stoppedReplica: NodeSnapshot = { var s = Fixtures.replica(); s.state = .stopped; return s }()
    static let staleViewReplica: NodeSnapshot = { var s = Fixtures.replica(); s.clusterViewTime = Fixtures.now - .seconds(31); return s }()
    static let standbyLeader: NodeSnapshot = {
        var s = Fixtures.leader(); s.role = .standbyLeader; s.isStandbyCluster = true; return s
    }()
    static let pausedNoViewPrimary: NodeSnapshot = {
        var s = Fixtures.leader(leaseLeft: .seconds(-5)); s.pause = true; s.clusterView = nil; return s
    }()

    static let cases: [Case] = [
        Case(label: "leader", snapshot: Fixtures.leader(), path: "/", expected: 200),
        Case(label: "leader", snapshot: Fixtures.leader(), path: "/primary", expected: 200),
        Case(label: "leader", snapshot: Fixtures.leader(), path: "/master", expected: 200),
        Case(label: "leader", snapshot: Fixtures.leader(), path: "/read-write", expected: 200),
        Case(label: "leader", snapshot: Fixtures.leader(), path: "/leader", expected: 200),
        Case(label: "leader", snapshot: Fixtures.leader(), path: "/standby-leader", expected: 503),
        Case(label: "leader", snapshot: Fixtures.leader(), path: "/replica", expected: 503),
        Case(label: "leader", snapshot: Fixtures.leader(), path: "/read-only", expected: 200),
        Case(label: "leader", snapshot: Fixtures.leader(), path: "/health", expected: 200),
        Case(label: "leader", snapshot: Fixtures.leader(), path: "/read-only-sync", expected: 200),
        Case(label: "leader", snapshot: Fixtures.leader(), path: "/read-only-quorum", expected: 200),
        Case(label: "leader", snapshot: Fixtures.leader(), path: "/sync", expected: 503),
        Case(label: "leader", snapshot: Fixtures.leader(), path: "/async", expected: 503),
        Case(label: "leader", snapshot: Fixtures.leader(), path: "/nonsense", expected: 503),
        Case(label: "leader, tag filter ignored", snapshot: Fixtures.leader(), path: "/primary?tag_dc=west", expected: 200),
        Case(label: "expired lease", snapshot: expiredLeader, path: "/primary", expected: 503),
        Case(label: "expired lease", snapshot: expiredLeader, path: "/leader", expected: 503),
        Case(label: "expired lease", snapshot: expiredLeader, path: "/read-only", expected: 503),
        Case(label: "expired lease", snapshot: expiredLeader, path: "/health", expected: 200),
        Case(label: "replica", snapshot: Fixtures.replica(), path: "/replica", expected: 200),
        Case(label: "replica", snapshot: Fixtures.replica(), path: "/read-only", expected: 200),
        Case(label: "replica", snapshot: Fixtures.replica(), path: "/primary", expected: 503),
        Case(label: "replica", snapshot: Fixtures.replica(), path: "/", expected: 503),
        Case(label: "replica", snapshot: Fixtures.replica(), path: "/async", expected: 200),
        Case(label: "replica", snapshot: Fixtures.replica(), path: "/asynchronous", expected: 200),
        Case(label: "replica", snapshot: Fixtures.replica(), path: "/sync", expected: 503),
        Case(label: "replica", snapshot: Fixtures.replica(), path: "/read-only-sync", expected: 503),
        Case(label: "replica", snapshot: Fixtures.replica(), path: "/replica?replication_state=streaming", expected: 200),
        Case(label: "replica tag match", snapshot: Fixtures.replica(), path: "/replica?tag_dc=east", expected: 200),
        Case(label: "replica tag mismatch", snapshot: Fixtures.replica(), path: "/replica?tag_dc=west", expected: 503),
        Case(label: "replica tag missing", snapshot: Fixtures.replica(), path: "/replica?tag_rack=1", expected: 503),
        Case(label: "replica bool tag", snapshot: Fixtures.replica(), path: "/replica?tag_nofailover=false", expected: 200),
        Case(label: "replica bool tag", snapshot: Fixtures.replica(), path: "/replica?tag_nofailover=False", expected: 503),
        Case(label: "lagging", snapshot: lagging, path: "/replica", expected: 200),
        Case(label: "lagging", snapshot: lagging, path: "/replica?lag=1MB", expected: 503),
        Case(label: "lagging", snapshot: lagging, path: "/replica?lag=100MB", expected: 200),
        Case(label: "lagging", snapshot: lagging, path: "/replica?lag=16kB", expected: 503),
        Case(label: "lagging", snapshot: lagging, path: "/replica?lag=1GB", expected: 200),
        Case(label: "lagging", snapshot: lagging, path: "/replica?lag=19999000", expected: 200),
        Case(label: "lagging", snapshot: lagging, path: "/replica?lag=19998999", expected: 503),
        Case(label: "lagging", snapshot: lagging, path: "/replica?lag=nonsense", expected: 200),
        Case(label: "lagging", snapshot: lagging, path: "/read-only?lag=1MB", expected: 503),
        Case(label: "noloadbalance", snapshot: noLoadBalance, path: "/replica", expected: 503),
        Case(label: "noloadbalance", snapshot: noLoadBalance, path: "/read-only", expected: 503),
        Case(label: "noloadbalance", snapshot: noLoadBalance, path: "/health", expected: 200),
        Case(label: "sync replica", snapshot: syncReplica, path: "/sync", expected: 200),
        Case(label: "sync replica", snapshot: syncReplica, path: "/synchronous", expected: 200),
        Case(label: "sync replica", snapshot: syncReplica, path: "/read-only-sync", expected: 200),
        Case(label: "sync replica", snapshot: syncReplica, path: "/async", expected: 503),
        Case(label: "sync replica", snapshot: syncReplica, path: "/quorum", expected: 503),
        Case(label: "quorum replica", snapshot: quorumReplica, path: "/quorum", expected: 200),
        Case(label: "quorum replica", snapshot: quorumReplica, path: "/read-only-quorum", expected: 200),
        Case(label: "quorum replica", snapshot: quorumReplica, path: "/sync", expected: 503),
        Case(label: "stale DCS view", snapshot: staleViewReplica, path: "/async", expected: 503),
        Case(label: "stale DCS view", snapshot: staleViewReplica, path: "/replica", expected: 200),
        Case(label: "stopped replica", snapshot: stoppedReplica, path: "/replica", expected: 503),
        Case(label: "stopped replica", snapshot: stoppedReplica, path: "/health", expected: 503),
        Case(label: "standby leader", snapshot: standbyLeader, path: "/standby-leader", expected: 200),
        Case(label: "standby leader", snapshot: standbyLeader, path: "/standby_leader", expected: 200),
        Case(label: "standby leader", snapshot: standbyLeader, path: "/leader", expected: 200),
        Case(label: "standby leader", snapshot: standbyLeader, path: "/primary", expected: 503),
        Case(label: "standby leader", snapshot: standbyLeader, path: "/replica", expected: 503),
        Case(label: "standby leader", snapshot: standbyLeader, path: "/read-only", expected: 200),
        Case(label: "paused, no DCS view", snapshot: pausedNoViewPrimary, path: "/primary", expected: 200),
        Case(label: "paused, no DCS view", snapshot: pausedNoViewPrimary, path: "/standby-leader", expected: 503),
    ]

    @Test(arguments: cases)
    func statusCode(_ c: Case) {
        #expect(HealthChecks.statusCode(for: RequestTarget(c.path), snapshot: c.snapshot, now: Fixtures.now) == c.expected)
    }

    @Test func leaseExpiresWithoutAnyUpdate() {
        let s = Fixtures.leader(leaseLeft: .seconds(2))
        #expect(HealthChecks.statusCode(for: RequestTarget("/primary"), snapshot: s, now: Fixtures.now + .seconds(1)) == 200)
        #expect(HealthChecks.statusCode(for: RequestTarget("/primary"), snapshot: s, now: Fixtures.now + .seconds(2)) == 503)
    }

    @Test(arguments: [
        ("0", Int64(0)), ("1", 1), ("16kB", 16_384), ("10MB", 10_485_760), ("1GB", 1_073_741_824),
        ("1.5kB", 1_536), (" 7 B ", 7), ("1TB", 1_099_511_627_776),
    ])
    func byteSizes(_ text: String, _ bytes: Int64) {
        #expect(parseByteSize(text) == bytes)
    }

    @Test(arguments: ["", "abc", "10mb", "5XB", "MB"])
    func invalidByteSizes(_ text: String) {
        #expect(parseByteSize(text) == nil)
    }

    @Test func liveness() {
        var s = Fixtures.leader()
        s.ttl = .seconds(30); s.loopWait = .seconds(10); s.lastLoopInstant = Fixtures.now
        #expect(HealthChecks.liveness(snapshot: s, now: Fixtures.now + .seconds(39)) == 200)
        #expect(HealthChecks.liveness(snapshot: s, now: Fixtures.now + .seconds(41)) == 503)
        s.role = .replica  // replicas get twice the ttl
        #expect(HealthChecks.liveness(snapshot: s, now: Fixtures.now + .seconds(69)) == 200)
        #expect(HealthChecks.liveness(snapshot: s, now: Fixtures.now + .seconds(71)) == 503)
        s.pause = true
        #expect(HealthChecks.liveness(snapshot: s, now: Fixtures.now + .seconds(1000)) == 200)
    }

    @Test func readiness() {
        let now = Fixtures.now
        #expect(HealthChecks.readinessFailure(for: RequestTarget("/readiness"), snapshot: Fixtures.leader(), now: now) == nil)
        #expect(HealthChecks.readinessFailure(for: RequestTarget("/readiness"), snapshot: Fixtures.replica(), now: now) == nil)
        let lagging = Fixtures.replica(replayed: 1_000, leaderOptime: 3_000_000)
        #expect(HealthChecks.readinessFailure(for: RequestTarget("/readiness"), snapshot: lagging, now: now)
                == "Replication apply lag 2999000 exceeds maximum allowable 1048576")
        #expect(HealthChecks.readinessFailure(for: RequestTarget("/readiness?lag=10MB"), snapshot: lagging, now: now) == nil)
        var notStreaming = Fixtures.replica(); notStreaming.replicationState = "in archive recovery"
        #expect(HealthChecks.readinessFailure(for: RequestTarget("/readiness"), snapshot: notStreaming, now: now)
                == "PostgreSQL replication state is not streaming")
        var noView = Fixtures.replica(); noView.clusterView = nil
        #expect(HealthChecks.readinessFailure(for: RequestTarget("/readiness"), snapshot: noView, now: now) == "DCS is not accessible")
        var writeMode = Fixtures.replica(replayed: 1_000, leaderOptime: 3_000_000)
        writeMode.xlog = .replica(receivedLocation: 3_000_000, replayedLocation: 1_000, replayedTimestamp: nil, paused: false)
        #expect(HealthChecks.readinessFailure(for: RequestTarget("/readiness?mode=write"), snapshot: writeMode, now: now) == nil)
        #expect(HealthChecks.readinessFailure(for: RequestTarget("/readiness?mode=apply"), snapshot: writeMode, now: now) != nil)
    }
}
