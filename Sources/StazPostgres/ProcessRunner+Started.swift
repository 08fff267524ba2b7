import Foundation
import Logging

extension ProcessRunner {
    /// Like `run`, but reports the child's pid as soon as it exists, so the caller can kill it
    /// (and its process group: the child leads its own) before it finishes, e.g. when a newer
    /// callback replaces a running one.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           timeout: Double? = nil, logger: Logger? = nil,
                           started: @Sendable (pid_t) -> Void) async throws -> ProcessResult {
        let path = try resolve(executable)
        let outURL = temporaryFile(suffix: "out"), errURL = temporaryFile(suffix: "err")
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
        logger?.debug("running \(([executable] + arguments).joined(separator: " "))")
        let pid: pid_t
        do {
            pid = try Spawn.start(path: path, arguments: arguments, environment: environment ?? Self.environment(),
                                  stdoutPath: outURL.path, stderrPath: errURL.path)
        } catch {
            throw ProcessRunnerError.launchFailed(executable: path, reason: "\(error)")
        }
        started(pid)
        var timedOut = false
        let code: Int32
        if let timeout {
            code = await withTaskGroup(of: Int32?.self) { group in
                group.addTask { await ChildExit.wait(for: pid) }
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(Int64(timeout * 1000)))
                    return nil
                }
                while let next = await group.next() {
                    if let exit = next { group.cancelAll(); return exit }
                    // Timed out: the whole group goes, then the exit is still reaped.
                    timedOut = true
                    kill(-pid, SIGKILL)
                }
                return -1
            }
        } else {
            code = await ChildExit.wait(for: pid)
        }
        let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        return ProcessResult(exitCode: code, stdout: out, stderr: err, timedOut: timedOut)
    }
}

/// Splits a command line like Python's `shlex.split` (POSIX mode): whitespace separates words,
/// single quotes are literal, double quotes allow `\"`/`\\` escapes, a backslash escapes the
/// next character outside quotes. Patroni splits `callbacks`, `pre_promote` and `before_stop`
/// this way.
public enum ShellWords {
    public static func split(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for ch in text {
            if escaped {
                if quote == "\"" && !["\"", "\\", "$", "`", "\n"].contains(ch) { current.append("\\") }
                current.append(ch); escaped = false; inWord = true
                continue
            }
            switch (quote, ch) {
            case (nil, "\\"), ("\"", "\\"): escaped = true
            case (nil, "'"), (nil, "\""): quote = ch; inWord = true
            case ("'", "'"), ("\"", "\""): quote = nil
            case (nil, _) where ch.isWhitespace:
                if inWord { words.append(current); current = ""; inWord = false }
            default: current.append(ch); inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }
}
