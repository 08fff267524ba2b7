import Logging
import StazDCS
import Testing
@testable import StazDaemon

/// A standby cluster's leader runs a standby: losing the lock stops nothing (as in Patroni),
/// while a primary's deadline stays armed.
@Suite("Daemon: standby leader lease")
struct StandbyLeaderFenceTests {
    @Test func aStandbyLeaderHasNoFenceDeadlineAndAPromotedOneHasItAgain() async {
        let keeper = LeaseKeeper(dcs: UnreachableDCS(), ttl: 5, loopWait: 1, logger: Logger(label: "test"),
                                 onLeaseChange: { _ in }, fence: {})
        let t0 = ContinuousClock.now
        await keeper.setHoldingLeader(true, confirmedAt: t0)
        #expect(await keeper.fenceDeadline != nil)
        await keeper.setLeadsStandbyCluster(true)
        #expect(await keeper.fenceDeadline == nil, "a standby takes no writes: nothing to fence")
        #expect(await keeper.leaderValidUntil != nil, "the lock itself is still held")
        await keeper.setLeadsStandbyCluster(false)
        #expect(await keeper.fenceDeadline == (await keeper.leaderValidUntil))
    }
}
