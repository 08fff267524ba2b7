/// Thrown by `withDeadline(_:what:...)` when the operation did not finish in time.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public var what: String
    public init(what: String) { self.what = what }
    public var description: String { "\(what) did not answer in time" }
}

/// Runs `operation` in its own task and returns its result, or throws `DeadlineExceeded` after
/// `limit` (`CancellationError` if the caller is cancelled first). The operation is never
/// waited for past that point: it is cancelled, `onTimeout` runs (it should make the operation
/// fail, e.g. by closing its connection), and a result it still produces later goes to
/// `discardLateResult`, so a connection that arrives late is closed rather than leaked.
public func withDeadline<T: Sendable>(_ limit: Duration, what: String,
                                      onTimeout: @escaping @Sendable () -> Void = {},
                                      discardLateResult: @escaping @Sendable (T) -> Void = { _ in },
                                      _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let outcome = OneShot<DeadlineOutcome<T>>()
    let work = Task {
        let result: Result<T, any Error>
        do { result = .success(try await operation()) } catch { result = .failure(error) }
        if !outcome.offer(.finished(result)), case .success(let late) = result {
            discardLateResult(late)
        }
    }
    let timer = EventLoopTimer.after(limit) { outcome.offer(.timedOut) }
    let settled = await outcome.value(orIfCancelled: .cancelled)
    timer.cancel()
    switch settled {
    case .finished(let result):
        return try result.get()
    case .timedOut:
        work.cancel()
        onTimeout()
        throw DeadlineExceeded(what: what)
    case .cancelled:
        work.cancel()
        onTimeout()
        throw CancellationError()
    }
}

private enum DeadlineOutcome<T: Sendable>: Sendable {
    case finished(Result<T, any Error>)
    case timedOut
    case cancelled
}
