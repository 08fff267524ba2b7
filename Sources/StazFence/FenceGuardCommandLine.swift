#if canImport(Glibc)
import Glibc
#endif

/// How staz starts a fencing guard, and how a guard is recognised by its command line (a
/// recycled pid from a stale state file must never be signalled).
public enum FenceGuardCommandLine {
    /// The guard's own executable, installed next to staz: it links neither Foundation nor
    /// NIO, so it stays a small process for as long as the member leads.
    public static let executableName = "staz-fence-guard"
    /// `staz --fence-guard DATA_DIR` runs the same guard inside the staz binary: used when
    /// `staz-fence-guard` is not next to staz, and how staz versions before it started guards.
    public static let option = "--fence-guard"

    /// The executable and arguments that start a guard of `dataDirectory` for the staz binary
    /// at `stazExecutable`.
    public static func command(stazExecutable: String, dataDirectory: String,
                               isExecutable: (String) -> Bool = { access($0, X_OK) == 0 }) -> (path: String, arguments: [String]) {
        if let slash = stazExecutable.lastIndex(of: "/") {
            let guardExecutable = String(stazExecutable[...slash]) + executableName
            if isExecutable(guardExecutable) { return (guardExecutable, [dataDirectory]) }
        }
        return (stazExecutable, [option, dataDirectory])
    }

    /// The data directory a process with command line `words` (argv) guards, or nil when it is
    /// not a fencing guard.
    public static func guardedDirectory(_ words: [String]) -> String? {
        if words.count == 2, let program = words.first?.split(separator: "/").last, program == Substring(executableName) {
            return words[1]
        }
        guard let flag = words.firstIndex(of: option), flag + 1 < words.count else { return nil }
        return words[flag + 1]
    }
}
