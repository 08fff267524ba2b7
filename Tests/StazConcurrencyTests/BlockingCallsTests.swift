import NIOPosix
import Synchronization
import Testing
@testable import StazConcurrency

@Suite("BlockingCalls")
struct BlockingCallsTests {
    @Test func workRunsOffTheEventLoopsAndReturnsItsResult() async throws {
        let onALoop = try await BlockingCalls.perform { MultiThreadedEventLoopGroup.currentEventLoop != nil }
        #expect(!onALoop)
        await #expect(throws: CancellationError.self) { try await BlockingCalls.perform { throw CancellationError() } }
    }

    @Test func workRunsEvenWhenItsCallerIsAlreadyCancelled() async throws {
        // NIO's async `runIfActive` skips work whose task was cancelled before it started; a
        // file write asked for must happen all the same (the caller's record depends on it).
        let ran = Mutex(false)
        let caller = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await BlockingCalls.perform { ran.withLock { $0 = true } }
        }
        _ = await caller.result
        #expect(ran.withLock { $0 })
    }
}
