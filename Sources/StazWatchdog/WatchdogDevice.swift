#if canImport(Glibc)
import Glibc
#endif

public struct WatchdogError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }

    static func system(_ what: String, _ path: String) -> WatchdogError {
        WatchdogError("\(what) \(path): \(String(cString: strerror(errno)))")
    }
}

/// One watchdog device. Every call is a short system call on a file descriptor opened
/// non-blocking where it could block, so callers may hold a lock around it.
protocol WatchdogDevice: AnyObject {
    var path: String { get }
    var isOpen: Bool { get }
    /// `open` can be expected to work: the device exists and we may write it.
    var isUsable: Bool { get }
    func open() throws
    /// Magic close: the device stops counting (when it supports that), then the descriptor goes.
    func close() throws
    func keepalive() throws
    /// Device supports `setTimeout`.
    var canSetTimeout: Bool { get }
    /// Device stops counting on a magic close; otherwise it fires after the last keepalive.
    var canBeDisabled: Bool { get }
    func setTimeout(_ seconds: Int) throws
    func timeout() throws -> Int
    func describe() -> String
}

/// The descriptor handling both drivers share.
class WatchdogFile {
    let path: String
    var descriptor: Int32 = -1

    init(path: String) { self.path = path }

    var isOpen: Bool { descriptor >= 0 }
    var isUsable: Bool { access(path, W_OK) == 0 }

    /// Close-on-exec: a child (pg_ctl, an archive command) holding the descriptor would keep
    /// the device from seeing our magic close.
    func openDescriptor(extraFlags: Int32 = 0) throws {
        let fd = Glibc.open(path, O_WRONLY | O_CLOEXEC | extraFlags)
        guard fd >= 0 else { throw WatchdogError.system("can't open watchdog device", path) }
        descriptor = fd
    }

    func write(_ text: String) throws {
        guard isOpen else { throw WatchdogError("watchdog device \(path) is closed") }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw WatchdogError.system("can't write watchdog device", path)
            }
            bytes = bytes.dropFirst(written)
        }
    }

    func closeDescriptor() throws {
        guard isOpen else { return }
        defer { Glibc.close(descriptor); descriptor = -1 }
        try write("V")
    }
}
