import Testing
@testable import StazDaemon

struct RateLimitedWarningsTests {
    @Test func aPersistentProblemIsLoggedOncePerIntervalAndAgainWhenItReturns() {
        var warnings = RateLimitedWarnings(interval: .seconds(300))
        let start = ContinuousClock.now
        #expect(warnings.due(["a", "b"], now: start) == ["a", "b"])
        #expect(warnings.due(["a", "b"], now: start + .seconds(10)).isEmpty)
        #expect(warnings.due(["a", "b"], now: start + .seconds(301)) == ["a", "b"])
        // "b" went away and came back: logged at once.
        #expect(warnings.due(["a"], now: start + .seconds(302)).isEmpty)
        #expect(warnings.due(["a", "b"], now: start + .seconds(303)) == ["b"])
    }
}
