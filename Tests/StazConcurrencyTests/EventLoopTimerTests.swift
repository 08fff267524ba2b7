import Synchronization
import Testing
@testable import StazConcurrency

@Suite("EventLoopTimer")
struct EventLoopTimerTests {
    @Test func firesAfterTheDelayUnlessCancelled() async throws {
        let fired = OneShot<Bool>()
        let start = ContinuousClock.now
        EventLoopTimer.after(.milliseconds(30)) { fired.offer(true) }
        #expect(await fired.value(orIfCancelled: false))
        #expect(ContinuousClock.now - start >= .milliseconds(30))

        let cancelledFired = Mutex(false)
        let timer = EventLoopTimer.after(.milliseconds(20)) { cancelledFired.withLock { $0 = true } }
        timer.cancel()
        try await EventLoopTimer.sleep(for: .milliseconds(60))
        #expect(!cancelledFired.withLock { $0 }, "a cancelled timer never runs its action")
    }

    @Test func sleepThrowsWhenItsTaskIsCancelledLongBeforeTheDelay() async {
        let start = ContinuousClock.now
        let sleeper = Task { try await EventLoopTimer.sleep(for: .seconds(120)) }
        sleeper.cancel()
        let result = await sleeper.result
        #expect(throws: CancellationError.self) { try result.get() }
        // Generous on purpose: the test process shares two cores with hundreds of other tests,
        // and the claim is only that the 120 s delay was not waited out.
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test(arguments: [(Duration.zero, Int64(0)), (.milliseconds(-5), 0), (.seconds(2) + .nanoseconds(7), 2_000_000_007),
                      (.seconds(Int64.max), Int64.max)])
    func durationsBecomeNIOTimeAmounts(duration: Duration, nanoseconds: Int64) {
        #expect(duration.nioTimeAmount.nanoseconds == nanoseconds)
    }

    @Test func deadlinesStillEndSlowOperations() async {
        let start = ContinuousClock.now
        let value = await withDeadline(.milliseconds(50)) { () async -> Int in
            try? await Task.sleep(for: .seconds(120))
            return 1
        }
        #expect(value == nil)
        #expect(ContinuousClock.now - start < .seconds(60), "the 120 s operation was waited out")
        #expect(await withDeadline(.seconds(5)) { 7 } == 7)
    }
}
