import Foundation

/// Where stazctl writes its output and reads answers to prompts. Commands use `echo`,
/// `prompt` and `confirm` (click's semantics) instead of `print`/`readLine`, so tests can
/// script the answers and capture the transcript with `CtlIO.$current.withValue`.
public struct CtlIO: Sendable {
    public var write: @Sendable (String) -> Void
    public var readLine: @Sendable () -> String?

    public init(write: @escaping @Sendable (String) -> Void, readLine: @escaping @Sendable () -> String?) {
        self.write = write
        self.readLine = readLine
    }

    /// stdout through `print` (so the order of lines is kept) and flushed, because prompts
    /// have no newline. `fflush(nil)` flushes every C stream without touching the global
    /// `stdout`, which Swift 6 counts as shared mutable state.
    public static let standard = CtlIO(
        write: { text in print(text, terminator: ""); fflush(nil) },
        readLine: { Swift.readLine(strippingNewline: true) })

    @TaskLocal public static var current = CtlIO.standard
}

/// click's `Abort`: the user closed stdin (EOF) at a prompt. Printed as `Aborted!`, exit 1.
public struct CtlAborted: Error {}

/// `click.echo`: the text and a newline.
func echo(_ text: String = "") {
    CtlIO.current.write(text + "\n")
}

/// `click.prompt(text, default=..., type=str)`: shows `text [default]: `, returns the typed
/// line, or the default for an empty line; without a default an empty line asks again.
func prompt(_ text: String, default defaultValue: String? = nil) throws -> String {
    let question = text + (defaultValue.map { " [\($0)]" } ?? "") + ": "
    while true {
        CtlIO.current.write(question)
        guard let answer = CtlIO.current.readLine() else { throw CtlAborted() }
        if !answer.isEmpty { return answer }
        if let defaultValue { return defaultValue }
    }
}

/// `click.confirm(text)` with default No: `text [y/N]: `; y/yes/n/no (any case), empty = No,
/// anything else prints `Error: invalid input` and asks again.
func confirm(_ text: String) throws -> Bool {
    while true {
        CtlIO.current.write(text + " [y/N]: ")
        guard let line = CtlIO.current.readLine() else { throw CtlAborted() }
        switch line.trimmingCharacters(in: .whitespaces).lowercased() {
        case "y", "yes": return true
        case "n", "no", "": return false
        default: echo("Error: invalid input")
        }
    }
}

/// patronictl's `timestamp(precision)`: local time `%Y-%m-%d %H:%M:%S.%f` cut to `precision`
/// fraction digits (6 → five digits, as Python's `[:-1]` slice does; 0 → none).
func ctlTimestamp(precision: Int = 6, now: Date = Date()) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
    let seconds = formatter.string(from: now)
    let micros = Int((now.timeIntervalSince1970 * 1_000_000).truncatingRemainder(dividingBy: 1_000_000))
    let full = seconds + "." + String(format: "%06d", max(0, micros))
    return String(full.dropLast(7 - precision))
}
