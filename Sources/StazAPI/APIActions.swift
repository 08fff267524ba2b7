/// The state-changing operations behind the unsafe REST endpoints. The daemon implements
/// them; the REST layer only validates requests and formats replies.
public protocol APIActions: Sendable {
    /// `POST /reload`: schedule a configuration reload (like SIGHUP). Patroni answers 202
    /// "reload scheduled" without waiting for it.
    func reload() async
}

/// Actions that do nothing; for tests and for running the API before the daemon is wired.
public struct NoAPIActions: APIActions {
    public init() {}
    public func reload() async {}
}
