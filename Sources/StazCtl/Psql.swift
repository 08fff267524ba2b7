import Foundation
import StazCore

/// What psql prints for NULL (`\\pset null`): a control character no text column holds by accident.
let psqlNullMarker = "\u{1E}NULL\u{1E}"

/// A failed psql run: the SQLSTATE of a server error, or libpq's connection message.
struct PsqlError: Error { var message: String }

/// Runs SQL on a member through `psql` (stazctl does not link a PostgreSQL driver). The answer
/// comes back as CSV with NULL spelled `psqlNullMarker`. Values are text (psql does not say
/// their types); of several statements psql shows the last result.
struct PsqlRunner {
    var binDirectory: String?
    var username: String?
    var password: String?
    var dbname: String?

    var executable: String {
        let candidates = [binDirectory.map { $0 + "/psql" }, findExecutable("psql"), "/usr/lib/postgresql/15/bin/psql"]
        return candidates.compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "psql"
    }

    func run(_ sql: String, host: String, port: Int) throws -> QueryResult {
        var arguments = ["-X", "-q", "-w", "--csv", "-P", "null=" + psqlNullMarker, "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=sqlstate",
                         "-v", "SHOW_ALL_RESULTS=off", "-h", host, "-p", String(port), "-c", sql]
        if let username { arguments += ["-U", username] }
        if let dbname { arguments += ["-d", dbname] }
        var environment = ProcessInfo.processInfo.environment
        environment["PGCONNECT_TIMEOUT"] = "5"
        environment["PGAPPNAME"] = "Patroni ctl"
        if let password { environment["PGPASSWORD"] = password }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw CtlError("Can not run \(executable): \(error)") }
        // Read both pipes before waiting, so a large answer cannot block psql.
        let errorCollector = StderrCollector()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errorCollector.data = stderr.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        let errorText = String(decoding: errorCollector.data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw PsqlError(message: psqlErrorMessage(errorText)) }
        let table = parseCSV(String(decoding: output, as: UTF8.self))
        guard let header = table.first else { throw PsqlError(message: "the last operation didn't produce records") }
        return QueryResult(columns: header.map { pythonStr($0) }, rows: Array(table.dropFirst()))
    }
}

/// psql's stderr, filled by a reader thread (the DispatchGroup orders the accesses).
private final class StderrCollector: @unchecked Sendable {
    var data = Data()
}

/// `ERROR:  42P01` (VERBOSITY=sqlstate) → `42P01`; a connection failure → libpq's message on
/// one line, as psycopg's `str(error)` with newlines replaced.
func psqlErrorMessage(_ stderr: String) -> String {
    for line in stderr.split(separator: "\n") {
        for prefix in ["ERROR:", "FATAL:", "psql:<stdin>:1: ERROR:"] where line.hasPrefix(prefix) {
            let code = line.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)
            if code.count == 5 && code.allSatisfy({ $0.isLetter || $0.isNumber }) { return code }
        }
    }
    var text = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
    if text.hasPrefix("psql: error: ") { text = String(text.dropFirst("psql: error: ".count)) }
    // psycopg 3 (what patronictl 4 uses) words it "connection failed: <libpq message>".
    if text.hasPrefix("connection to server") { text = "connection failed: " + text }
    return text.replacingOccurrences(of: "\n", with: " ")
}

/// RFC 4180 CSV as psql writes it; an unquoted `psqlNullMarker` field is NULL.
func parseCSV(_ text: String) -> [[JSONValue]] {
    var rows: [[JSONValue]] = []
    var row: [JSONValue] = []
    var field = ""
    var quoted = false, inQuotes = false, fieldStarted = false
    func endField() {
        row.append(field == psqlNullMarker && !quoted ? .null : .string(field))
        field = ""; quoted = false; fieldStarted = false
    }
    var chars = Array(text.unicodeScalars)[...]
    while let c = chars.popFirst() {
        if inQuotes {
            if c == "\"" {
                if chars.first == "\"" { chars.removeFirst(); field.unicodeScalars.append("\"") } else { inQuotes = false }
            } else {
                field.unicodeScalars.append(c)
            }
            continue
        }
        switch c {
        case "\"" where !fieldStarted || field.isEmpty: inQuotes = true; quoted = true; fieldStarted = true
        case ",": endField()
        case "\n":
            endField(); rows.append(row); row = []
        case "\r": continue
        default: field.unicodeScalars.append(c); fieldStarted = true
        }
    }
    if fieldStarted || !row.isEmpty { endField(); rows.append(row) }
    return rows
}
