/// Runs `operation` in its own task and returns its result, or nil when `limit` passes first
/// (or the caller is cancelled). In that case the operation's task is cancelled and left to
/// finish on its own: the caller never waits on a task that ignores cancellation.
public func withDeadline<T: Sendable>(_ limit: Duration,
                                      _ operation: @escaping @Sendable () async -> T) async -> T? {
    let result = OneShot<T?>()
    let work = Task { result.offer(await operation()) }
    let timer = EventLoopTimer.after(limit) { result.offer(nil) }
    let value = await result.value(orIfCancelled: nil)
    timer.cancel()
    if value == nil { work.cancel() }
    return value
}

/// Waits until the first of `operations` returns, or `limit` passes; true when an operation
/// finished first. The others are cancelled and not waited for.
@discardableResult
public func firstToFinish(within limit: Duration,
                          _ operations: [@Sendable () async -> Void]) async -> Bool {
    let finished = OneShot<Bool>()
    let tasks = operations.map { operation in
        Task {
            await operation()
            finished.offer(true)
        }
    }
    let timer = EventLoopTimer.after(limit) { finished.offer(false) }
    let result = await finished.value(orIfCancelled: false)
    timer.cancel()
    for task in tasks { task.cancel() }
    return result
}

/// Runs `operation` in its own task while a watchdog checks `isOverdue` every `interval`;
/// returns the operation's result, or nil once it is overdue (or the caller is cancelled).
/// Then the operation's task is cancelled and given at most `grace` to wind down before this
/// returns, so a cooperative operation does not overlap whatever the caller does next, and an
/// uncooperative one cannot hold the caller.
public func withWatchdog<T: Sendable>(every interval: Duration, grace: Duration,
                                      isOverdue: @escaping @Sendable () -> Bool,
                                      _ operation: @escaping @Sendable () async -> T) async -> T? {
    let result = OneShot<T?>()
    let ended = OneShot<Void>()
    let work = Task {
        result.offer(await operation())
        ended.offer(())
    }
    let watchdog = Task {
        while !Task.isCancelled {
            try? await EventLoopTimer.sleep(for: interval)
            if isOverdue() { result.offer(nil); return }
        }
    }
    let value = await result.value(orIfCancelled: nil)
    watchdog.cancel()
    if value == nil {
        work.cancel()
        _ = await withDeadline(grace) { await ended.value(orIfCancelled: ()) }
    }
    return value
}
