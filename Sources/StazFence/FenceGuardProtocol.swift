import StazSystem

// The pure parts of the fencing guard (see FenceGuard.swift for the process and the safety
// argument): the lines staz writes into the guard's pipe, the guard's state file, the clock
// arithmetic and /proc/<pid>/stat fields. No I/O here, so all of it is unit-tested.

/// The postmaster a guard protects against: its pid plus its start time (clock ticks since
/// boot, field 22 of /proc/<pid>/stat), so a recycled pid is never mistaken for it.
public struct FenceTarget: Sendable, Equatable {
    public var pid: Int32
    public var startTicks: UInt64

    public init(pid: Int32, startTicks: UInt64) {
        self.pid = pid
        self.startTicks = startTicks
    }
}

/// Deadlines are nanoseconds of CLOCK_BOOTTIME: one clock for every process of the machine
/// (staz, the guard, a restarted staz), never stepped by NTP or an operator's `date`, and still
/// running while the machine is suspended. A wall-clock deadline moved by a backward clock step
/// would let the guard fence late, i.e. after another member may already have promoted.
public typealias BootNanoseconds = Int64

/// One line staz writes into the guard's stdin.
public enum FenceGuardMessage: Equatable, Sendable {
    /// Fence `target` (nil: the postmaster named by postmaster.pid at that moment) at
    /// `deadline` unless a newer message arrives first.
    case arm(deadline: BootNanoseconds, target: FenceTarget?)
    /// The lock is lost or about to be: fence now, then exit.
    case fenceNow
    /// staz no longer leads and is alive to manage PostgreSQL itself: exit without fencing.
    case standDown

    public var line: String {
        switch self {
        case .arm(let deadline, let target):
            let pid = target.map { String($0.pid) } ?? "0"
            let start = target.map { String($0.startTicks) } ?? "0"
            return "arm \(deadline) \(pid) \(start)\n"
        case .fenceNow: return "fence\n"
        case .standDown: return "stand-down\n"
        }
    }

    /// Parses one line (without its newline). Bad input names what is wrong.
    public static func parse(_ line: Substring) throws -> FenceGuardMessage {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        switch words.first.map(String.init) ?? "" {
        case "arm":
            guard words.count == 4 else { throw FenceGuardProtocolError.badMessage(String(line), "arm takes 3 numbers") }
            guard let deadline = Int64(words[1]), deadline > 0 else {
                throw FenceGuardProtocolError.badMessage(String(line), "deadline must be a positive integer")
            }
            guard let pid = Int32(words[2]), pid >= 0 else {
                throw FenceGuardProtocolError.badMessage(String(line), "pid must be a non-negative integer")
            }
            guard let start = UInt64(words[3]) else {
                throw FenceGuardProtocolError.badMessage(String(line), "start time must be a non-negative integer")
            }
            return .arm(deadline: deadline, target: pid == 0 ? nil : FenceTarget(pid: pid, startTicks: start))
        case "fence" where words.count == 1: return .fenceNow
        case "stand-down" where words.count == 1: return .standDown
        default: throw FenceGuardProtocolError.badMessage(String(line), "unknown message")
        }
    }
}

public enum FenceGuardProtocolError: Error, Equatable, CustomStringConvertible {
    case badMessage(String, String)
    case badStateFile(String)

    public var description: String {
        switch self {
        case .badMessage(let line, let why): return "fence guard: bad message \"\(line)\": \(why)"
        case .badStateFile(let why): return "fence guard state file: \(why)"
        }
    }
}

/// What a guard records in `<data directory>/staz-fence-guard` after every arm, so that a
/// restarted staz can take over its deadline (and then retire it) instead of racing it.
/// The boot id and data directory make a copy of the file useless elsewhere: pg_basebackup and
/// pg_rewind copy it to replicas, and another host has other processes under the same pids.
public struct FenceGuardState: Equatable, Sendable {
    public static let fileName = "staz-fence-guard"
    static let header = "staz fence guard v1"

    public var guardPID: Int32
    public var bootID: String
    public var dataDirectory: String
    public var deadline: BootNanoseconds
    public var target: FenceTarget?

    public init(guardPID: Int32, bootID: String, dataDirectory: String, deadline: BootNanoseconds, target: FenceTarget?) {
        self.guardPID = guardPID; self.bootID = bootID; self.dataDirectory = dataDirectory
        self.deadline = deadline; self.target = target
    }

    public var text: String {
        StateFile.render(header: Self.header, [
            ("guard_pid", "\(guardPID)"), ("boot_id", bootID), ("data_dir", dataDirectory),
            ("deadline_boottime_ns", "\(deadline)"), ("postmaster_pid", "\(target?.pid ?? 0)"),
            ("postmaster_start_ticks", "\(target?.startTicks ?? 0)")])
    }

    public static func parse(_ text: String) throws -> FenceGuardState {
        let values: [String: String]
        switch StateFile.fields(of: text, header: header) {
        case .success(let fields): values = fields
        case .failure(let problem): throw FenceGuardProtocolError.badStateFile(problem.description)
        }
        func required(_ key: String) throws -> String {
            guard let value = values[key], !value.isEmpty else { throw FenceGuardProtocolError.badStateFile("\(key) is missing") }
            return value
        }
        func number<T: FixedWidthInteger>(_ key: String, _: T.Type, minimum: T) throws -> T {
            let raw = try required(key)
            guard let value = T(raw), value >= minimum else {
                throw FenceGuardProtocolError.badStateFile("\(key)=\(raw) is not an integer ≥ \(minimum)")
            }
            return value
        }
        let pid = try number("postmaster_pid", Int32.self, minimum: 0)
        let start = try number("postmaster_start_ticks", UInt64.self, minimum: 0)
        let dataDirectory = try required("data_dir")
        guard dataDirectory.hasPrefix("/") else { throw FenceGuardProtocolError.badStateFile("data_dir \(dataDirectory) is not absolute") }
        return FenceGuardState(guardPID: try number("guard_pid", Int32.self, minimum: 1),
                               bootID: try required("boot_id"),
                               dataDirectory: dataDirectory,
                               deadline: try number("deadline_boottime_ns", Int64.self, minimum: 1),
                               target: pid == 0 ? nil : FenceTarget(pid: pid, startTicks: start))
    }

    /// Whether a state file found in `dataDirectory` on the machine with `bootID` describes a
    /// guard of this machine and directory (not a copy made by pg_basebackup, pg_rewind or a
    /// backup restore, nor one left from before a reboot).
    public func belongs(toBoot bootID: String, dataDirectory: String) -> Bool {
        self.bootID == bootID && self.dataDirectory == dataDirectory
    }
}

/// Clock arithmetic between Swift's `ContinuousClock` (used by the lease keeper) and the boot
/// clock the guard works with. Both conversions round towards *earlier* deadlines: being
/// early only costs a needless restart of PostgreSQL, being late could overlap a new primary.
public enum FenceClock {
    /// The boot-clock deadline `remaining` after a boot-clock reading `bootNow` taken *before*
    /// the reading `remaining` was computed from (so the result is never later than the real
    /// deadline).
    public static func bootDeadline(bootNow: BootNanoseconds, remaining: Duration) -> BootNanoseconds {
        bootNow &+ nanoseconds(remaining)
    }

    /// How long until `deadline`, from a boot-clock reading `bootNow` taken *after* the local
    /// clock reading the result will be added to (negative once it passed).
    public static func remaining(until deadline: BootNanoseconds, bootNow: BootNanoseconds) -> Duration {
        .nanoseconds(deadline &- bootNow)
    }

    /// Milliseconds to wait for `deadline` in poll(2): rounded up so the wait never ends before
    /// the deadline (the caller fences once `now >= deadline`); -1 (forever) without one.
    public static func pollTimeout(until deadline: BootNanoseconds?, bootNow: BootNanoseconds) -> Int32 {
        guard let deadline else { return -1 }
        let left = deadline &- bootNow
        if left <= 0 { return 0 }
        return Int32(clamping: left / 1_000_000 + (left % 1_000_000 == 0 ? 0 : 1))
    }

    public static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }
}

/// What a guard does next, as a pure function of its state and the time (the process loop in
/// FenceGuard.swift only carries it out).
public enum FenceGuardStep: Equatable, Sendable {
    /// Wait for a message (or the pipe's end) at most this many milliseconds (-1: no limit).
    case wait(milliseconds: Int32)
    /// The deadline passed without a newer one: fence now.
    case fence
    /// Nothing left to guard (staz exited while no deadline was armed).
    case exit

    public static func next(deadline: BootNanoseconds?, pipeOpen: Bool, bootNow: BootNanoseconds) -> FenceGuardStep {
        if let deadline, bootNow >= deadline { return .fence }
        if deadline == nil && !pipeOpen { return .exit }
        return .wait(milliseconds: FenceClock.pollTimeout(until: deadline, bootNow: bootNow))
    }
}
