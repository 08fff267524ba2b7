/// Fields of /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself
/// contain spaces and parentheses, so fields are counted after the *last* ')'.
public struct ProcStat: Equatable, Sendable {
    public var state: Character
    public var parentPID: Int32
    /// Field 22: when the process started, in clock ticks since boot.
    public var startTicks: UInt64

    public init(state: Character, parentPID: Int32, startTicks: UInt64) {
        self.state = state
        self.parentPID = parentPID
        self.startTicks = startTicks
    }

    public static func parse(_ text: String) -> ProcStat? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // fields[0] is field 3 (state), so field N is fields[N - 3].
        guard fields.count > 19, let state = fields[0].first, let parent = Int32(fields[1]),
              let start = UInt64(fields[19]) else { return nil }
        return ProcStat(state: state, parentPID: parent, startTicks: start)
    }

    /// Exited: a zombie its parent has not reaped yet, or on its way out.
    public var hasExited: Bool { state == "Z" || state == "X" }
}
