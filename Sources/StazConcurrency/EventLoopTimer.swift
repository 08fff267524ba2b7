import NIOCore
import NIOPosix

/// Timers kept by NIO's shared event loops, which already wake for the daemon's sockets.
///
/// `Task.sleep` hands every timer to libdispatch: its manager thread arms the timer, and a
/// pool thread wakes to run the continuation. The deadlines behind each PostgreSQL query,
/// etcd request and loop wait set and cancel such a timer several times a cycle, and those
/// wake-ups were about a quarter of an idle member's CPU. An event loop's timer is an entry in
/// its heap, read by the `epoll_wait` it makes anyway.
public enum EventLoopTimer {
    /// Runs `action` on an event loop after `delay`, unless the returned timer is cancelled
    /// first. `action` must not block: it runs on the loop.
    @discardableResult
    public static func after(_ delay: Duration, _ action: @escaping @Sendable () -> Void) -> Scheduled<Void> {
        MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: delay.nioTimeAmount) { action() }
    }

    /// Suspends for `delay`; throws `CancellationError` as soon as the task is cancelled
    /// (the timer is then removed).
    public static func sleep(for delay: Duration) async throws {
        let elapsed = OneShot<Bool>()
        let timer = after(delay) { elapsed.offer(true) }
        guard await elapsed.value(orIfCancelled: false) else {
            timer.cancel()
            throw CancellationError()
        }
    }
}

extension Duration {
    /// SwiftNIO's representation (timers, AsyncHTTPClient deadlines); negative durations
    /// count as zero, overflowing ones as the longest.
    public var nioTimeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        let (nanoseconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .zero : .nanoseconds(.max) }
        return .nanoseconds(max(0, nanoseconds.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue))
    }
}
