import Foundation
import Testing
@testable import StazConcurrency

/// Every order of signal, timeout, cancellation and registration resolves a wait exactly once.
@Suite("SignalWaiters")
struct SignalWaitersTests {
    /// The lost wake-up that stalled the HA loop: the cancellation arrives after the wait began
    /// but before its continuation is stored. Forced here step by step, not left to timing.
    @Test func cancellationBeforeRegistrationStillResolvesTheWait() async {
        let waiters = SignalWaiters()
        let id = waiters.announce()
        waiters.resolve(id, with: false)          // what onCancel does
        let result = await withCheckedContinuation { waiters.register(id, $0) }
        #expect(result == false)
        #expect(waiters.outstanding == 0)
    }

    @Test func signalBeforeRegistrationIsDelivered() async {
        let waiters = SignalWaiters()
        let id = waiters.announce()
        waiters.signal()
        let result = await withCheckedContinuation { waiters.register(id, $0) }
        #expect(result == true)
        #expect(waiters.outstanding == 0)
    }

    @Test func lateResolutionsAfterTheWaitEndedAreIgnored() async {
        let waiters = SignalWaiters()
        let id = waiters.announce()
        waiters.signal()
        _ = await withCheckedContinuation { waiters.register(id, $0) }
        waiters.resolve(id, with: false)          // a timer or cancellation arriving late
        #expect(waiters.outstanding == 0)
    }

    /// The HA loop asks mid-cycle whether its view went stale, without taking the signal that
    /// wakes its next sleep.
    @Test func pendingSignalCanBeSeenWithoutConsumingIt() async {
        let waiters = SignalWaiters()
        #expect(!waiters.isPending)
        waiters.signal()
        #expect(waiters.isPending && waiters.isPending)
        #expect(await waiters.wait(timeout: .seconds(30)) == true)
        #expect(!waiters.isPending)
        waiters.signal()
        waiters.consumePending()
        #expect(!waiters.isPending)
    }

    @Test func signalWithNobodyWaitingIsRemembered() async {
        let waiters = SignalWaiters()
        waiters.signal()
        #expect(await waiters.wait(timeout: .seconds(30)) == true)
        #expect(await waiters.wait(timeout: .milliseconds(20)) == false)
    }

    @Test func consumedSignalIsForgotten() async {
        let waiters = SignalWaiters()
        waiters.signal()
        waiters.consumePending()
        #expect(await waiters.wait(timeout: .milliseconds(20)) == false)
    }

    @Test func timeoutEndsTheWait() async {
        let waiters = SignalWaiters()
        #expect(await waiters.wait(timeout: .milliseconds(10)) == false)
        #expect(waiters.outstanding == 0)
    }

    @Test func closeEndsCurrentAndFutureWaits() async {
        let waiters = SignalWaiters()
        let waiting = Task { await waiters.wait(timeout: .seconds(60)) }
        while waiters.outstanding == 0 { await Task.yield() }
        waiters.close()
        #expect(await waiting.value == false)
        #expect(await waiters.wait(timeout: .seconds(60)) == false)
    }

    /// Cancellation at any moment, many times over: every wait returns, none is left behind.
    @Test func cancelledWaitsAlwaysReturn() async {
        let waiters = SignalWaiters()
        for round in 0..<2_000 {
            let waiting = Task { await waiters.wait(timeout: .seconds(600)) }
            if round % 3 == 1 { await Task.yield() }
            waiting.cancel()
            // The bound only tells "returned" from "never returns" (the wait is 600 s): a test
            // process starved by hundreds of parallel tests has stalled for over 5 s.
            let returned = await withDeadline(.seconds(60)) { await waiting.value }
            #expect(returned == false, "round \(round): a cancelled wait did not return")
            if returned == nil { return }
        }
        #expect(waiters.outstanding == 0)
    }
}

@Suite("Deadlines and first-of waits")
struct DeadlineTests {
    @Test func deadlineReturnsTheResultWhenInTime() async {
        #expect(await withDeadline(.seconds(30)) { 42 } == 42)
    }

    /// An operation that never returns and ignores cancellation cannot hold the caller.
    @Test func deadlineAbandonsAnOperationThatIgnoresCancellation() async {
        let gate = OneShot<Void>()
        let clock = ContinuousClock()
        let started = clock.now
        let result = await withDeadline(.milliseconds(50)) { () async -> Int in
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                Task.detached { await gate.value(orIfCancelled: ()); c.resume() }
            }
            return 1
        }
        #expect(result == nil)
        #expect(clock.now - started < .seconds(10))
        gate.offer(())
    }

    @Test func firstToFinishReportsTheWinnerOrTheTimeout() async {
        #expect(await firstToFinish(within: .seconds(30), [{ }, { try? await Task.sleep(for: .seconds(60)) }]) == true)
        #expect(await firstToFinish(within: .milliseconds(20), [{ try? await Task.sleep(for: .seconds(60)) }]) == false)
    }

    @Test func oneShotDeliversTheFirstOfferOnly() async {
        let shot = OneShot<Int>()
        #expect(shot.offer(1) == true)
        #expect(shot.offer(2) == false)
        #expect(await shot.value(orIfCancelled: 0) == 1)
    }
}

/// The throwing deadline used around PostgreSQL connections and queries.
@Suite("Throwing deadline")
struct ThrowingDeadlineTests {
    final class Box: @unchecked Sendable {
        let lock = NSLock()
        var values: [Int] = []
        func add(_ value: Int) { lock.lock(); values.append(value); lock.unlock() }
        var all: [Int] { lock.lock(); defer { lock.unlock() }; return values }
    }

    @Test func aResultInTimeIsReturned() async throws {
        #expect(try await withDeadline(.seconds(30), what: "fast") { 7 } == 7)
    }

    @Test func anErrorInTimeIsThrown() async {
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await withDeadline(.seconds(30), what: "refused") { () async throws -> Int in throw Refused() }
        }
    }

    /// A connection that opens after its deadline must reach `discardLateResult` (to be
    /// closed), not vanish: PostgresNIO asserts that a connection is closed before it is freed.
    @Test func aLateResultIsHandedToDiscardAndTimeoutRuns() async throws {
        let discarded = Box()
        let timeouts = Box()
        let release = OneShot<Void>()
        do {
            _ = try await withDeadline(.milliseconds(50), what: "slow connect",
                                       onTimeout: { timeouts.add(1) },
                                       discardLateResult: { discarded.add($0) }) { () async -> Int in
                await release.value(orIfCancelled: ())
                return 42
            }
            Issue.record("no DeadlineExceeded")
        } catch let error as DeadlineExceeded {
            #expect(error.what == "slow connect")
        }
        #expect(timeouts.all == [1])
        release.offer(())
        for _ in 0..<500 where discarded.all.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(discarded.all == [42])
    }

    /// An operation that ignores cancellation and never returns cannot hold the caller.
    @Test func anUncooperativeOperationDoesNotHoldTheCaller() async {
        let gate = OneShot<Void>()
        let started = ContinuousClock.now
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(50), what: "hung") { () async -> Int in
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    Task.detached { await gate.value(orIfCancelled: ()); c.resume() }
                }
                return 0
            }
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        gate.offer(())
    }

    @Test func aCancelledCallerGetsCancellationError() async {
        let caller = Task {
            try await withDeadline(.seconds(60), what: "waiting") { () async throws -> Int in
                try await Task.sleep(for: .seconds(60))
                return 0
            }
        }
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
    }
}
