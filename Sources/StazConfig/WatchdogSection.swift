/// `watchdog:`: the Linux watchdog device staz keeps alive while it leads, so a staz that hangs
/// has its machine reset before its leader lock can expire (Patroni's `patroni/watchdog`).
public struct WatchdogSection: Sendable, Equatable {
    public enum Mode: String, Sendable, Equatable {
        /// Never open a device.
        case off
        /// Use the device when it can be opened; lead without one otherwise.
        case automatic
        /// Never lead without an armed device.
        case required
    }

    public enum Driver: String, Sendable, Equatable {
        /// `/dev/watchdog` (or `device`) through the kernel's ioctl interface.
        case linux = "default"
        /// Patroni's acceptance-test driver: the device is a named pipe; the timeout is written
        /// as `Ctimeout=N\n` instead of set by ioctl.
        case testing
    }

    /// Patroni's default when the section is absent.
    public var mode: Mode = .automatic
    /// Seconds between the watchdog firing and the leader lock expiring; -1: half the `ttl`.
    public var safetyMargin: Int = 5
    public var driver: Driver = .linux
    public var device: String = "/dev/watchdog"

    public init() {}

    /// Seconds of silence after which the device resets the machine, for this `ttl`.
    public func timeout(ttl: Double) -> Int {
        safetyMargin == -1 ? Int(ttl) / 2 : Int(ttl) - safetyMargin
    }

    /// Negative when a keepalive every `loop_wait` cannot keep the device quiet: Patroni then
    /// runs without one (and `required` fails).
    public func timingSlack(ttl: Double, loopWait: Double) -> Double {
        Double(timeout(ttl: ttl)) - loopWait
    }
}
