import Synchronization

/// Waiters for a "something changed" signal, with a remembered signal for when nobody waits.
///
/// Each wait is resolved exactly once, by a signal, its timeout, its task's cancellation or
/// `close()`, whatever their order. In particular a cancellation that arrives before the waiter
/// has stored its continuation resolves the wait as soon as it does (the lost wake-up that once
/// stalled the HA loop forever: the cancellation handler found no continuation to resume yet).
public final class SignalWaiters: Sendable {
    enum Slot {
        /// The wait has begun but its continuation is not stored yet.
        case announced
        /// Resolved before the continuation was stored: returned as soon as it is.
        case resolved(Bool)
        case waiting(CheckedContinuation<Bool, Never>)
    }

    struct State {
        var pending = false
        var closed = false
        var nextID: UInt64 = 0
        var slots: [UInt64: Slot] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Returns true when signalled (at once if a signal arrived since the last wait or
    /// `consumePending`), false after `timeout`, on cancellation, or once closed.
    public func wait(timeout: Duration) async -> Bool {
        let start: Bool? = state.withLock { state in
            if state.closed { return false }
            if state.pending { state.pending = false; return true }
            return nil
        }
        if let start { return start }
        if Task.isCancelled { return false }
        let id = announce()
        let timer = EventLoopTimer.after(timeout) { self.resolve(id, with: false) }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { register(id, $0) }
        } onCancel: {
            resolve(id, with: false)
        }
    }

    /// Wakes every waiter; remembered for the next wait when nobody waits.
    public func signal() {
        let woken: [CheckedContinuation<Bool, Never>] = state.withLock { state in
            var woken: [CheckedContinuation<Bool, Never>] = []
            var delivered = false
            for (id, slot) in state.slots {
                switch slot {
                case .announced: state.slots[id] = .resolved(true); delivered = true
                case .waiting(let continuation): state.slots[id] = nil; woken.append(continuation); delivered = true
                case .resolved: break
                }
            }
            if !delivered { state.pending = true }
            return woken
        }
        for continuation in woken { continuation.resume(returning: true) }
    }

    /// Whether a signal arrived since the last wait or `consumePending` (nobody waited for it).
    public var isPending: Bool { state.withLock { $0.pending } }

    /// Forgets a remembered signal (the caller has just looked at what changed).
    public func consumePending() {
        state.withLock { $0.pending = false }
    }

    /// Resolves every wait with false, now and from now on.
    public func close() {
        let ids: [UInt64] = state.withLock { state in
            state.closed = true
            return Array(state.slots.keys)
        }
        for id in ids { resolve(id, with: false) }
    }

    // MARK: the steps of one wait (internal so tests can force their order)

    func announce() -> UInt64 {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.slots[id] = .announced
            return id
        }
    }

    func register(_ id: UInt64, _ continuation: CheckedContinuation<Bool, Never>) {
        let early: Bool? = state.withLock { state in
            switch state.slots[id] {
            case .resolved(let value)?:
                state.slots[id] = nil
                return value
            case .announced?:
                if state.closed { state.slots[id] = nil; return false }
                state.slots[id] = .waiting(continuation)
                return nil
            case .waiting?, nil:
                preconditionFailure("wait \(id) registered twice or never announced")
            }
        }
        if let early { continuation.resume(returning: early) }
    }

    func resolve(_ id: UInt64, with value: Bool) {
        let waiter: CheckedContinuation<Bool, Never>? = state.withLock { state in
            switch state.slots[id] {
            case .announced?:
                state.slots[id] = .resolved(value)
                return nil
            case .waiting(let continuation)?:
                state.slots[id] = nil
                return continuation
            case .resolved?, nil:
                return nil
            }
        }
        waiter?.resume(returning: value)
    }

    /// Waits in flight (announced or waiting), for tests and leak checks.
    var outstanding: Int { state.withLock { $0.slots.count } }
}
