import Logging
import StazConfig
import StazCore
import Synchronization

/// The member's watchdog (Patroni's `Watchdog` facade): armed by the HA loop before it promotes
/// or keeps a primary, kept alive by the lease keeper after each confirmed refresh, disarmed when
/// PostgreSQL stops being a primary, in pause and on shutdown. The device times out `ttl −
/// safety_margin` seconds after the last keepalive, before the leader lock can expire, so a
/// frozen staz cannot leave a primary running that another member may already replace.
public final class Watchdog: Sendable {
    private struct Guarded {
        var section: WatchdogSection
        var ttl: Double
        var loopWait: Double
        var device: WatchdogDevice?
        /// The timeout set on the open device.
        var activeTimeout: Int?
        /// `automatic` failed to arm: run without until the configuration changes.
        var unavailable = false
    }

    private let guarded: Mutex<Guarded>
    private let logger: Logger

    public init(section: WatchdogSection, ttl: Double, loopWait: Double, logger: Logger) {
        guarded = Mutex(Guarded(section: section, ttl: ttl, loopWait: loopWait))
        self.logger = logger
    }

    static func makeDevice(_ section: WatchdogSection) -> WatchdogDevice {
        switch section.driver {
        case .linux: return LinuxWatchdogDevice(path: section.device)
        case .testing: return TestingWatchdogDevice(path: section.device)
        }
    }

    public var state: WatchdogState {
        guarded.withLock { g in
            if g.device?.isOpen == true { return .armed }
            return g.section.mode == .off || g.unavailable ? .off : .disarmed
        }
    }

    /// Patroni's `is_healthy`: false only when the watchdog is required and cannot work (no
    /// writable device, or a `ttl` too short for a keepalive every `loop_wait`). Such a member
    /// is published with `watchdog_failed` and never races for the lock.
    public var isHealthy: Bool {
        guarded.withLock { g in
            guard g.section.mode == .required else { return true }
            return g.section.timingSlack(ttl: g.ttl, loopWait: g.loopWait) >= 0 && Self.makeDevice(g.section).isUsable
        }
    }

    /// Arms the device (Patroni's `activate`). False only when the watchdog is required and no
    /// safe one could be armed: the member must then not act as a primary.
    public func activate() -> Bool {
        guarded.withLock { g in
            if g.device?.isOpen == true { return true }
            let section = g.section
            guard section.mode != .off else { return true }
            let wanted = section.timeout(ttl: g.ttl)
            if section.timingSlack(ttl: g.ttl, loopWait: g.loopWait) < 0 {
                // `automatic` on a machine without a device has nothing to warn about.
                guard section.mode == .required || Self.makeDevice(section).isUsable else { return refuse(&g, "") }
                logger.warning("Watchdog not supported because leader TTL \(Int(g.ttl)) is less than 2x loop_wait \(Int(g.loopWait))")
                return refuse(&g, "a safe watchdog timeout could not be configured")
            }
            let device = Self.makeDevice(section)
            do {
                try device.open()
                if device.canSetTimeout { try device.setTimeout(wanted) }
                let actual = try device.timeout()
                if Double(actual) < g.loopWait {
                    logger.error("loop_wait of \(Int(g.loopWait)) seconds is too long for watchdog \(actual) second timeout")
                    if device.canBeDisabled { try? device.close(); return refuse(&g, "a safe watchdog timeout could not be configured") }
                }
                if actual > wanted {
                    if section.mode == .required {
                        try? device.close()
                        logger.error("Configuration requires watchdog, but a safe watchdog timeout \(wanted) could not be configured. Watchdog timeout is \(actual).")
                        return false
                    }
                    logger.warning("Watchdog timeout \(actual) seconds does not ensure safe termination within \(wanted) seconds")
                }
                if !device.canBeDisabled {
                    logger.warning("Watchdog implementation can't be disabled. Watchdog will trigger after staz loses leader key.")
                }
                try device.keepalive()
                g.device = device
                g.activeTimeout = actual
                logger.info("\(device.describe()) activated with \(actual) second timeout, timing slack \(actual - Int(g.loopWait)) seconds")
                return true
            } catch {
                try? device.close()
                if section.mode == .required { logger.warning("Could not activate \(device.describe()): \(error)") } else {
                    logger.debug("Could not activate \(device.describe()): \(error)")
                }
                return refuse(&g, "watchdog could not be activated")
            }
        }
    }

    /// `automatic` goes on without a watchdog; `required` refuses.
    private func refuse(_ g: inout Guarded, _ reason: String) -> Bool {
        guard g.section.mode == .required else { g.unavailable = true; return true }
        logger.error("Configuration requires watchdog, but \(reason)")
        return false
    }

    /// Called after each confirmation of the leader lock; a changed `ttl` reaches the device here
    /// at the latest.
    public func keepalive() {
        guarded.withLock { g in
            guard let device = g.device, device.isOpen else { return }
            do {
                try device.keepalive()
                try applyTimeout(&g, device)
            } catch {
                logger.error("Error while sending keepalive: \(error)")
            }
        }
    }

    /// Magic close (Patroni's `disable`): PostgreSQL no longer runs as a primary, the cluster is
    /// paused or staz stops.
    public func disable() {
        guarded.withLock { g in
            guard let device = g.device else { return }
            g.device = nil
            g.activeTimeout = nil
            do {
                if !device.canBeDisabled {
                    try device.keepalive()
                    logger.warning("Watchdog implementation can't be disabled. System will reboot after \((try? device.timeout()) ?? 0) seconds when watchdog times out.")
                }
                try device.close()
                logger.info("\(device.describe()) disabled")
            } catch {
                logger.error("Error while disabling watchdog: \(error)")
            }
        }
    }

    /// The dynamic `ttl` or `loop_wait` changed: an armed device gets its new timeout now.
    public func updateTiming(ttl: Double, loopWait: Double) {
        guarded.withLock { g in
            guard g.ttl != ttl || g.loopWait != loopWait else { return }
            g.ttl = ttl; g.loopWait = loopWait
            g.unavailable = false
            guard let device = g.device, device.isOpen else { return }
            do { try applyTimeout(&g, device) } catch { logger.error("Error while setting the watchdog timeout: \(error)") }
        }
    }

    /// A reloaded local configuration. A device that changed (or `off`) is disarmed here; the
    /// next HA cycle arms the new one if this member still leads.
    public func reload(_ section: WatchdogSection) {
        let rearm = guarded.withLock { g -> Bool in
            guard g.section != section else { return false }
            let changedDevice = g.section.driver != section.driver || g.section.device != section.device || section.mode == .off
            g.section = section
            g.unavailable = false
            return changedDevice && g.device != nil
        }
        if rearm { disable() } else {
            guarded.withLock { g in
                if let device = g.device, device.isOpen { try? applyTimeout(&g, device) }
            }
        }
    }

    private func applyTimeout(_ g: inout Guarded, _ device: WatchdogDevice) throws {
        let wanted = g.section.timeout(ttl: g.ttl)
        guard device.canSetTimeout, g.activeTimeout != wanted else { return }
        try device.setTimeout(wanted)
        g.activeTimeout = try device.timeout()
        logger.info("\(device.describe()) updated with \(g.activeTimeout ?? wanted) second timeout, timing slack \((g.activeTimeout ?? wanted) - Int(g.loopWait)) seconds")
    }
}
