import Synchronization

/// A value delivered at most once to one waiter, by whichever producer offers first.
///
/// Producers may offer before the waiter arrives, after it has gone, or concurrently with its
/// cancellation: every order of events resumes the waiter's continuation exactly once. This is
/// the building block for every "first of several things" wait in staz, so no such wait needs a
/// task group (whose end would depend on each child honouring cancellation).
public final class OneShot<Value: Sendable>: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<Value, Never>)
        case delivered(Value)
        case consumed
    }

    private let state = Mutex<State>(.empty)

    public init() {}

    /// Offers `value`; true when it is the one the waiter gets (the first offer).
    @discardableResult
    public func offer(_ value: Value) -> Bool {
        let (won, waiter): (Bool, CheckedContinuation<Value, Never>?) = state.withLock { state in
            switch state {
            case .empty:
                state = .delivered(value)
                return (true, nil)
            case .waiting(let continuation):
                state = .consumed
                return (true, continuation)
            case .delivered, .consumed:
                return (false, nil)
            }
        }
        waiter?.resume(returning: value)
        return won
    }

    /// Whether a value has been offered already.
    public var isSettled: Bool {
        state.withLock { state in
            if case .empty = state { return false }
            if case .waiting = state { return false }
            return true
        }
    }

    /// Waits for the first offered value. If the calling task is cancelled first,
    /// `cancelledValue` is offered on its behalf (and returned, unless an offer won the race).
    /// Only one task may wait.
    public func value(orIfCancelled cancelledValue: Value) async -> Value {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value, Never>) in
                let ready: Value? = state.withLock { state in
                    switch state {
                    case .empty:
                        state = .waiting(continuation)
                        return nil
                    case .delivered(let value):
                        state = .consumed
                        return value
                    case .waiting, .consumed:
                        preconditionFailure("OneShot awaited twice")
                    }
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            offer(cancelledValue)
        }
    }
}
