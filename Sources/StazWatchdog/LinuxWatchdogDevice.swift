#if canImport(Glibc)
import Glibc
#endif

/// A kernel watchdog (`/dev/watchdog`, softdog or hardware) driven as the kernel documents it
/// (Documentation/watchdog/watchdog-api.rst): any write is a keepalive, `V` before close
/// disarms a device with the MAGICCLOSE option, the timeout is set by ioctl.
final class LinuxWatchdogDevice: WatchdogFile, WatchdogDevice {
    // <linux/watchdog.h>: _IOR('W', 0, struct watchdog_info), _IOWR('W', 6, int), _IOR('W', 7, int).
    private static let getSupport: UInt = 0x8028_5700
    private static let setTimeoutRequest: UInt = 0xC004_5706
    private static let getTimeout: UInt = 0x8004_5707
    private static let optionSetTimeout: UInt32 = 0x0080
    private static let optionMagicClose: UInt32 = 0x0100

    private var support: (options: UInt32, identity: String)?

    func open() throws {
        try openDescriptor()
        support = nil
    }

    func close() throws { try closeDescriptor() }
    func keepalive() throws { try write("1") }

    private func supportInfo() throws -> (options: UInt32, identity: String) {
        if let support { return support }
        guard isOpen else { throw WatchdogError("watchdog device \(path) is closed") }
        // struct watchdog_info { __u32 options; __u32 firmware_version; __u8 identity[32]; }
        var info = [UInt8](repeating: 0, count: 40)
        let result = info.withUnsafeMutableBytes { ioctl(descriptor, Self.getSupport, $0.baseAddress!) }
        guard result == 0 else { throw WatchdogError.system("can't read the options of watchdog device", path) }
        let options = info[0..<4].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        let identity = String(decoding: info[8...].prefix { $0 != 0 }, as: UTF8.self)
        support = (options, identity)
        return (options, identity)
    }

    var canSetTimeout: Bool { ((try? supportInfo().options) ?? 0) & Self.optionSetTimeout != 0 }
    var canBeDisabled: Bool { ((try? supportInfo().options) ?? 0) & Self.optionMagicClose != 0 }

    func setTimeout(_ seconds: Int) throws {
        guard isOpen else { throw WatchdogError("watchdog device \(path) is closed") }
        var value = Int32(seconds)
        guard ioctl(descriptor, Self.setTimeoutRequest, &value) == 0 else {
            throw WatchdogError.system("can't set the timeout of watchdog device", path)
        }
    }

    func timeout() throws -> Int {
        guard isOpen else { throw WatchdogError("watchdog device \(path) is closed") }
        var value: Int32 = 0
        guard ioctl(descriptor, Self.getTimeout, &value) == 0 else {
            throw WatchdogError.system("can't read the timeout of watchdog device", path)
        }
        return Int(value)
    }

    func describe() -> String {
        let identity = (try? supportInfo().identity).flatMap { $0.isEmpty ? nil : $0 } ?? "Linux watchdog device"
        return path == "/dev/watchdog" ? identity : "\(identity) at \(path)"
    }
}

/// Patroni's acceptance-test device (`driver: testing`): a named pipe its harness reads.
/// Keepalive and magic close are the kernel's bytes; the timeout, an ioctl on a real device,
/// is written as `Ctimeout=N` and a newline.
final class TestingWatchdogDevice: WatchdogFile, WatchdogDevice {
    private var currentTimeout = 60

    /// Non-blocking: opening a pipe nobody reads fails at once instead of hanging the caller.
    func open() throws { try openDescriptor(extraFlags: O_NONBLOCK) }
    func close() throws { try closeDescriptor() }
    func keepalive() throws { try write("1") }
    var canSetTimeout: Bool { true }
    var canBeDisabled: Bool { true }

    func setTimeout(_ seconds: Int) throws {
        try write("Ctimeout=\(seconds)\n")
        currentTimeout = seconds
    }

    func timeout() throws -> Int { currentTimeout }
    func describe() -> String { "Watchdog test harness" }
}
