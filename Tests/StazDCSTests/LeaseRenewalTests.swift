import Testing
import StazDCS

@Suite("Lease renewal pace")
struct LeaseRenewalTests {
    /// (ttl, loop_wait) → the leader's pace and a non-leader's, in milliseconds.
    @Test(arguments: [(5.0, 1.0, 1_000, 1_666), (30, 10, 7_500, 10_000), (20, 10, 5_000, 6_666),
                      (4, 1, 1_000, 1_333), (30, 0.5, 500, 10_000), (0.5, 1, 250, 250)])
    func aMemberThatDoesNotLeadRenewsEveryThirdOfTheTTL(ttl: Double, loopWait: Double, leader: Int64, member: Int64) {
        #expect(LeaseRenewal.interval(ttl: ttl, loopWait: loopWait) == .milliseconds(leader))
        #expect(LeaseRenewal.memberInterval(ttl: ttl, loopWait: loopWait) == .milliseconds(member))
    }
}
