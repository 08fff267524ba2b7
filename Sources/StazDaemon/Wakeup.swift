/// Lets anything (a finished background action, a REST request) cut the HA loop's sleep short.
actor Wakeup {
    private var pending = false
    private var waiter: CheckedContinuation<Void, Never>?

    func signal() {
        if let waiter {
            self.waiter = nil
            waiter.resume()
        } else {
            pending = true
        }
    }

    /// Returns when signalled (or at once if a signal arrived since the last wait).
    func wait() async {
        if pending { pending = false; return }
        await withCheckedContinuation { waiter = $0 }
    }

    /// Releases a waiter whose task was cancelled.
    func cancelWaiter() {
        waiter?.resume()
        waiter = nil
    }
}
