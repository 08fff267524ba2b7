import Foundation
import Logging
import StazConfig
import StazCore
import Testing
@testable import StazWatchdog

/// The watchdog against a real named pipe, read the way Patroni's acceptance harness reads it
/// (`features/environment.py`, `WatchdogMonitor`): `Ctimeout=N\n` sets the timeout, `1` is a
/// keepalive, `V` a magic close.
@Suite("Watchdog device")
struct WatchdogDeviceTests {
    /// A fifo with a non-blocking reader already attached (a writer's open needs one).
    final class Pipe {
        let path: String
        let reader: Int32

        init() throws {
            path = NSTemporaryDirectory() + "staz-watchdog-\(UUID().uuidString).fifo"
            guard mkfifo(path, 0o600) == 0 else { throw WatchdogError("mkfifo failed") }
            reader = open(path, O_RDONLY | O_NONBLOCK)
        }

        /// Everything written since the last call.
        func drain() -> String {
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 256)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(reader, $0.baseAddress, 256) }
                if count <= 0 { break }
                bytes += buffer[0..<count]
            }
            return String(decoding: bytes, as: UTF8.self)
        }

        deinit { close(reader); unlink(path) }
    }

    static func section(_ mode: WatchdogSection.Mode, device: String, driver: WatchdogSection.Driver = .testing) -> WatchdogSection {
        var section = WatchdogSection()
        section.mode = mode; section.driver = driver; section.device = device
        return section
    }

    static let logger = Logger(label: "watchdog-test")

    @Test func armKeepAliveRetimeAndDisarm() throws {
        let pipe = try Pipe()
        let watchdog = Watchdog(section: Self.section(.required, device: pipe.path), ttl: 20, loopWait: 10, logger: Self.logger)
        #expect(watchdog.state == .disarmed)
        #expect(watchdog.isHealthy)
        #expect(watchdog.activate())
        #expect(watchdog.state == .armed)
        #expect(pipe.drain() == "Ctimeout=15\n1")
        watchdog.keepalive()
        #expect(pipe.drain() == "1")
        // `ttl` 30 from the dynamic configuration: the device learns it at once.
        watchdog.updateTiming(ttl: 30, loopWait: 10)
        #expect(pipe.drain() == "Ctimeout=25\n")
        watchdog.disable()
        #expect(pipe.drain() == "V")
        #expect(watchdog.state == .disarmed)
        // Disarmed, a keepalive writes nothing (and does not reopen the device).
        watchdog.keepalive()
        #expect(pipe.drain() == "")
    }

    @Test func requiredWithoutADeviceRefusesAndIsUnhealthy() {
        let watchdog = Watchdog(section: Self.section(.required, device: "/nonexistent/watchdog"), ttl: 30, loopWait: 10, logger: Self.logger)
        #expect(!watchdog.isHealthy)
        #expect(!watchdog.activate())
        #expect(watchdog.state == .disarmed)
    }

    @Test func automaticWithoutADeviceRunsWithoutOne() {
        let watchdog = Watchdog(section: Self.section(.automatic, device: "/nonexistent/watchdog", driver: .linux), ttl: 30, loopWait: 10, logger: Self.logger)
        #expect(watchdog.isHealthy)
        #expect(watchdog.activate())
        // Not tried again every cycle, until the configuration changes.
        #expect(watchdog.state == .off)
        watchdog.updateTiming(ttl: 40, loopWait: 10)
        #expect(watchdog.state == .disarmed)
    }

    /// Patroni: a `ttl` that leaves no time for a keepalive every `loop_wait` cannot be guarded.
    @Test func requiredWithTooShortATTLRefuses() throws {
        let pipe = try Pipe()
        let watchdog = Watchdog(section: Self.section(.required, device: pipe.path), ttl: 12, loopWait: 10, logger: Self.logger)
        #expect(!watchdog.isHealthy)
        #expect(!watchdog.activate())
        #expect(pipe.drain() == "")
    }

    @Test func offNeverOpensTheDevice() throws {
        let pipe = try Pipe()
        let watchdog = Watchdog(section: Self.section(.off, device: pipe.path), ttl: 30, loopWait: 10, logger: Self.logger)
        #expect(watchdog.state == .off)
        #expect(watchdog.activate())
        #expect(pipe.drain() == "")
    }

    /// A reload that changes the device disarms the old one; the HA loop arms the new one.
    @Test func reloadWithAnotherDeviceDisarms() throws {
        let first = try Pipe(), second = try Pipe()
        let watchdog = Watchdog(section: Self.section(.required, device: first.path), ttl: 30, loopWait: 10, logger: Self.logger)
        #expect(watchdog.activate())
        _ = first.drain()
        watchdog.reload(Self.section(.required, device: second.path))
        #expect(first.drain() == "V")
        #expect(watchdog.state == .disarmed)
        #expect(watchdog.activate())
        #expect(second.drain() == "Ctimeout=25\n1")
    }
}
