import NIOCore
import NIOPosix

/// Calls that can hold their thread for as long as the disk takes (fsync), run on NIO's
/// thread pool for blocking work, so they never hold the event loops that run the daemon's
/// tasks and sockets (see `TasksOnEventLoops`).
public enum BlockingCalls {
    /// Runs `work` on the pool and waits for it. Once submitted it always runs to the end,
    /// even if the waiting task is cancelled meanwhile: a write is never half-skipped.
    public static func perform<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(eventLoop: MultiThreadedEventLoopGroup.singleton.any(), work).get()
    }
}
