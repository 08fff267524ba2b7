import Synchronization

/// Where the current HA cycle is and until when it may take, kept outside the controller actor
/// so the loop watchdog can judge (and name) a stuck step even while the stuck cycle occupies
/// the actor.
///
/// A cycle has a budget for its own work. A step whose I/O is bounded by longer timeouts of
/// its own (a PostgreSQL stop, a DCS request with retries) declares that bound: while it runs,
/// it is overdue only past it, and the time it took is added to the cycle's budget.
final class LoopProgress: Sendable {
    private struct State {
        var step = "starting"
        var cycleDeadline = ContinuousClock.now
        var stepStarted = ContinuousClock.now
        var stepAllowance = Duration.zero
    }

    private let state = Mutex(State())

    /// A new cycle, whose own work may take `bound`.
    func begin(bound: Duration) {
        let now = ContinuousClock.now
        state.withLock { $0 = State(step: "starting the cycle", cycleDeadline: now + bound, stepStarted: now) }
    }

    /// The cycle moves on to `step`, which may take `allowing` by its own timeouts.
    func enter(_ step: String, allowing: Duration = .zero) {
        let now = ContinuousClock.now
        state.withLock { state in
            if state.stepAllowance > .zero { state.cycleDeadline += now - state.stepStarted }
            state.step = step
            state.stepStarted = now
            state.stepAllowance = allowing
        }
    }

    var step: String { state.withLock { $0.step } }

    /// Past both the cycle's budget and the current step's own bound.
    var isOverdue: Bool {
        let now = ContinuousClock.now
        return state.withLock { state in
            let stepDeadline = state.stepStarted + state.stepAllowance
            let cycleDeadline = state.stepAllowance > .zero ? state.cycleDeadline + (now - state.stepStarted) : state.cycleDeadline
            return now > cycleDeadline && now > stepDeadline
        }
    }
}
