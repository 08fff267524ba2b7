/// What the HA decision needs to know of the watchdog (`HAInput.watchdog`).
public enum WatchdogState: Sendable, Equatable {
    /// Nothing to arm: mode `off`, or `automatic` on a machine where arming failed (retried only
    /// after the configuration changes, as Patroni does, to spare the log).
    case off
    /// Configured and ready to be armed before this member acts as a primary.
    case disarmed
    /// Open and kept alive: a staz that stops refreshing its lease has the machine reset.
    case armed
}
