import Testing
import StazDCS

@Suite("Lease renewal pace")
struct LeaseRenewalTests {
    /// (ttl, loop_wait) → the leader's pace, a non-leader's, and the pace after a failure, in ms.
    @Test(arguments: [(5.0, 1.0, 1_000, 1_666, 625), (30, 10, 10_000, 10_000, 3_750),
                      (20, 10, 10_000, 10_000, 2_500), (4, 1, 1_000, 1_333, 500),
                      (12, 10, 6_000, 6_000, 1_500), (30, 0.5, 500, 10_000, 500),
                      (0.5, 1, 250, 250, 250)])
    func paceByRoleAndAfterAFailure(ttl: Double, loopWait: Double, leader: Int64, member: Int64, retry: Int64) {
        #expect(LeaseRenewal.interval(ttl: ttl, loopWait: loopWait) == .milliseconds(leader))
        #expect(LeaseRenewal.memberInterval(ttl: ttl, loopWait: loopWait) == .milliseconds(member))
        #expect(LeaseRenewal.retryInterval(ttl: ttl, loopWait: loopWait) == .milliseconds(retry))
        #expect(LeaseRenewal.confirmationWindow(ttl: ttl, loopWait: loopWait) == .milliseconds(leader + retry))
    }

    /// For every timing StazConfig accepts (ttl ≥ 4, loop_wait ≥ 1, loop_wait + 2 retry_timeout
    /// ≤ ttl), three attempts after the last success fit before the leader is fenced (fence
    /// margin `min(1 s, 0.15 ttl)`) and before a member key expires.
    @Test func threeAttemptsFitBeforeTheLockOrTheMemberKeyCouldExpire() {
        for ttl in stride(from: 4.0, through: 120, by: 1) {
            for loopWait in stride(from: 1.0, through: ttl - 2, by: 0.5) {
                let fenceAfter = Duration.milliseconds(Int64((ttl - min(1, ttl * 0.15)) * 1000))
                let retry = LeaseRenewal.retryInterval(ttl: ttl, loopWait: loopWait)
                let leaderThird = LeaseRenewal.interval(ttl: ttl, loopWait: loopWait) + retry * 2
                let memberThird = LeaseRenewal.memberInterval(ttl: ttl, loopWait: loopWait) + retry * 2
                #expect(leaderThird < fenceAfter, "ttl \(ttl), loop_wait \(loopWait)")
                #expect(memberThird < .seconds(ttl), "ttl \(ttl), loop_wait \(loopWait)")
            }
        }
    }
}
