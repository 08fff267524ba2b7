import Foundation

/// Somewhere finished lines are written, always from the writer thread.
protocol LogDestination: AnyObject {
    func write(_ line: String)
}

/// Patroni's two-step logging: a log call only appends its line to a bounded in-memory queue,
/// and one thread writes the queue out. A slow or stuck destination (a hung disk, a full
/// pipe to journald) then never holds up the HA loop; once `capacity` lines wait, further
/// lines are dropped and counted, and the next line that fits is followed by Patroni's
/// "QueueHandler has lost N log records" warning. A single writer also serialises the file
/// rotation: no two threads ever write or rename the log files at once.
final class LogWriter: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [String] = []
    private var head = 0
    private var lost = 0
    private var busy = false
    private var stopping = false
    private let capacity: Int
    private let destination: LogDestination
    private let lostNotice: (Int) -> String

    /// `capacity` 0 or less is unbounded, as Python's `Queue(maxsize=0)`.
    init(capacity: Int, destination: LogDestination, lostNotice: @escaping (Int) -> String) {
        self.capacity = capacity
        self.destination = destination
        self.lostNotice = lostNotice
        let thread = Thread { [self] in run() }
        thread.name = "staz-log-writer"
        thread.start()
    }

    private var waiting: Int { pending.count - head }

    func enqueue(_ line: String) {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return }
        if capacity > 0 && waiting >= capacity {
            lost += 1
            return
        }
        pending.append(line)
        if lost > 0 && (capacity <= 0 || waiting < capacity) {
            pending.append(lostNotice(lost))
            lost = 0
        }
        condition.broadcast()
    }

    /// Waits until every queued line is written or `timeout` has passed (a stuck destination
    /// must not keep staz from exiting).
    func flush(timeout: TimeInterval) {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        while waiting > 0 || busy {
            if !condition.wait(until: deadline) { break }
        }
        condition.unlock()
    }

    /// Writes what is queued, then ends the thread; later lines are dropped.
    func stop(timeout: TimeInterval) {
        flush(timeout: timeout)
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while waiting == 0 && !stopping { condition.wait() }
            if waiting == 0 {
                condition.unlock()
                return
            }
            let line = pending[head]
            head += 1
            if head == pending.count {
                pending.removeAll(keepingCapacity: true); head = 0
            } else if head >= 1024 && head * 2 >= pending.count {
                pending.removeFirst(head); head = 0
            }
            busy = true
            condition.unlock()

            destination.write(line)

            condition.lock()
            busy = false
            condition.broadcast()
            condition.unlock()
        }
    }
}

/// stderr through write(2): FileHandle traps on a failed write, and a log line must never take
/// the daemon down.
final class StandardErrorDestination: LogDestination {
    func write(_ line: String) { _ = writeFully(STDERR_FILENO, Array(line.utf8)) }
}

/// Writes all of `bytes` to `descriptor`, retrying after signals and short writes; the errno
/// of a failure, nil on success.
func writeFully(_ descriptor: Int32, _ bytes: [UInt8]) -> Int32? {
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written < 0 {
            if errno == EINTR { continue }
            return errno
        }
        if written == 0 { return EIO }
        offset += written
    }
    return nil
}
