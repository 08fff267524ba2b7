#if canImport(Glibc)
import Glibc
#endif

/// The small text files staz keeps in a data directory for a later process (the fence guard's
/// deadline, a failsafe promise): a header line naming the format, then `key=value` lines,
/// replaced through a rename so a reader never sees half a file.
public enum StateFile {
    public static func render(header: String, _ fields: [(String, String)]) -> String {
        ([header] + fields.map { "\($0.0)=\($0.1)" }).joined(separator: "\n") + "\n"
    }

    /// The `key=value` fields after `header`; the error names what is wrong.
    public static func fields(of text: String, header: String) -> Result<[String: String], StateFileProblem> {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.first == Substring(header) else { return .failure(.header("first line is not \"\(header)\"")) }
        lines.removeFirst()
        var values: [String: String] = [:]
        for line in lines {
            guard let equals = line.firstIndex(of: "=") else { return .failure(.line("line \"\(line)\" is not key=value")) }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return .success(values)
    }

    /// Writes `text` to `path` through a temporary file and a rename.
    public static func replace(_ path: String, with text: String) throws {
        let temporary = path + ".tmp.\(getpid())"
        guard write(text, to: temporary) else {
            let code = errno
            unlink(temporary)
            throw StateFileProblem.write("writing \(temporary) failed: errno \(code)")
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw StateFileProblem.rename("rename to \(path) failed: errno \(code)")
        }
    }

    /// Creates (or truncates) `path` with mode 0644 and writes all of `text`.
    private static func write(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            done += count
        }
        return true
    }
}

public enum StateFileProblem: Error, Equatable, CustomStringConvertible {
    case header(String), line(String), write(String), rename(String)
    public var description: String {
        switch self { case .header(let text), .line(let text), .write(let text), .rename(let text): return text }
    }
}
