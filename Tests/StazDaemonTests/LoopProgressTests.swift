import Testing
@testable import StazDaemon

/// The loop watchdog's notion of "stuck": past the cycle's budget and the current step's bound.
@Suite("Loop progress")
struct LoopProgressTests {
    @Test func aFreshCycleIsNotOverdue() {
        let progress = LoopProgress()
        progress.begin(bound: .seconds(60))
        #expect(!progress.isOverdue)
        #expect(progress.step == "starting the cycle")
    }

    @Test func aCyclePastItsBudgetIsOverdueAndNamesItsStep() async throws {
        let progress = LoopProgress()
        progress.begin(bound: .milliseconds(20))
        progress.enter("reading the cluster from the DCS")
        try await Task.sleep(for: .milliseconds(50))
        #expect(progress.isOverdue)
        #expect(progress.step == "reading the cluster from the DCS")
    }

    @Test func aStepWithItsOwnBoundIsNotOverdueWithinIt() async throws {
        let progress = LoopProgress()
        progress.begin(bound: .milliseconds(20))
        progress.enter("demote (offline)", allowing: .seconds(60))
        try await Task.sleep(for: .milliseconds(50))
        #expect(!progress.isOverdue)
    }

    /// The time a long step took does not eat the budget of the steps after it.
    @Test func theStepsAfterALongStepKeepTheCycleBudget() async throws {
        let progress = LoopProgress()
        progress.begin(bound: .milliseconds(200))
        progress.enter("demote (offline)", allowing: .seconds(60))
        try await Task.sleep(for: .milliseconds(300))
        progress.enter("observing PostgreSQL after the actions")
        #expect(!progress.isOverdue)
    }
}
