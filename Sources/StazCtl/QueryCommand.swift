import ArgumentParser
import Foundation
import StazCore

struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "query", abstract: "Query a Patroni PostgreSQL member")
    // Long forms only: after `query`, `-c` is the SQL and `-d` the database (patronictl's choice).
    @Option(name: .customLong("config-file"), help: "Configuration file") var configFile: String?
    @Option(name: [.customLong("dcs-url"), .customLong("dcs")], help: "The DCS connect url") var dcsURL: String?
    @Flag(name: .customLong("insecure"), help: "Allow connections to SSL sites without certs") var insecure = false
    @Argument var clusterName: String?
    @Option(name: .customLong("format"), help: "Output format (pretty, tsv, json, yaml)") var format: String = "tsv"
    @Option(name: [.customShort("f"), .customLong("file")], help: "Execute the SQL commands from this file") var file: String?
    @Flag(name: .customLong("password"), help: "force password prompt") var askPassword = false
    @Option(name: [.customShort("U"), .customLong("username")], help: "database user name") var username: String?
    @Flag(name: .customShort("W"), help: "Auto update the screen every 2 seconds") var watchEvery2 = false
    @Option(name: [.customShort("w"), .customLong("watch")], help: "Auto update the screen every X seconds") var watch: Double?
    @Option(name: [.customShort("r"), .customLong("role")], help: "The role of the query") var role: String?
    @Option(name: [.customShort("m"), .customLong("member")], help: "Query a specific member") var member: String?
    @Option(help: "The column delimiter") var delimiter: String = "\t"
    @Option(name: [.customShort("c"), .customLong("command")], help: "The SQL commands to execute") var command: String?
    @Option(name: [.customShort("d"), .customLong("dbname")], help: "database name to connect to") var dbname: String?

    func run() async throws {
        guard let fmt = OutputFormat(rawValue: format), fmt != .topology else {
            throw CtlError("Invalid value for '--format': '\(format)' is not one of 'pretty', 'tsv', 'json', 'yaml', 'yml'.")
        }
        let roleFilter = try role.map(parseRoleOption)
        let sql: String
        if let file {
            if command != nil { throw CtlError("--file and --command are mutually exclusive options") }
            sql = try readInput(file)
        } else {
            guard let command else { throw CtlError("You need to specify either --command or --file") }
            sql = command
        }
        var password: String?
        if askPassword { password = try readPassword() }
        var globals = GlobalOptions()
        globals.configFile = configFile
        globals.dcsURL = dcsURL
        globals.insecure = insecure
        let (_, view) = try await globals.loadCluster(clusterName)
        let runner = MemberSQL(username: username, password: password, dbname: dbname)
        let interval = watch ?? (watchEvery2 ? 2 : nil)
        repeat {
            let result = try await queryMember(view, role: roleFilter, roleText: role, memberName: member, sql: sql, runner: runner)
            CtlIO.current.write(renderQueryOutput(result, format: fmt, delimiter: delimiter))
            if let interval { try await Task.sleep(for: .seconds(interval)) }
        } while interval != nil
    }

    private func readPassword() throws -> String {
        if isatty(0) != 0, let secret = getpass("Password: ") { return String(cString: secret) }
        return try prompt("Password")
    }
}

/// Rows of a query answer; `columns` nil for patronictl's one-row error answers.
struct QueryResult: Equatable {
    var columns: [String]?
    var rows: [[PythonValue]]
}

/// patronictl's `query_member`: the member by name or role (leader by default), checked with
/// `pg_is_in_recovery()` for replica/standby/primary roles; failures become a row
/// `[timestamp, message]`.
func queryMember(_ view: ClusterView, role: MemberRoleFilter?, roleText: String?, memberName: String?,
                 sql: String, runner: MemberSQL) async throws -> QueryResult {
    if memberName != nil && role != nil { throw CtlError("--role and --member are mutually exclusive options") }
    let candidates = members(of: view, role: memberName != nil ? .any : (role ?? .leader))
    func failure(_ message: String) -> QueryResult { QueryResult(columns: nil, rows: [[.str(ctlTimestamp(precision: 0)), .str(message)]]) }
    func unavailable() -> QueryResult {
        if let memberName { return failure("No connection to member \(memberName) is available") }
        if let roleText { return failure("No connection to role '\(roleText)' is available") }
        return failure("No connection is available")
    }
    guard let chosen = candidates.first(where: { memberName == nil || $0.name == memberName }),
          let target = chosen.connHostPort else { return unavailable() }
    do {
        if let role, role != .any && role != .leader {
            let recovery = try await runner.run("SELECT pg_catalog.pg_is_in_recovery()", host: target.host, port: target.port)
            let inRecovery = recovery.rows.first?.first != .bool(false)
            let wanted = role == .primary ? !inRecovery : inRecovery
            if !wanted { return unavailable() }
        }
        return try await runner.run(sql, host: target.host, port: target.port)
    } catch let error as MemberSQLError {
        return failure("ERROR, SQLSTATE: " + error.message.replacingOccurrences(of: "\n", with: " "))
    }
}

/// patronictl's `print_output` for query answers (tsv by default, with `--delimiter`).
func renderQueryOutput(_ result: QueryResult, format: OutputFormat, delimiter: String) -> String {
    if format == .tsv {
        let lines = (result.columns.map { [$0] } ?? []) + result.rows.map { $0.map(\.str) }
        return lines.map { $0.joined(separator: delimiter) + "\n" }.joined()
    }
    var columns = result.columns ?? []
    if result.columns == nil && format == .pretty {
        // prettytable names anonymous columns "Field 1", "Field 2", ...
        columns = (1...max(1, result.rows.first?.count ?? 1)).map { "Field \($0)" }
    }
    let rows = result.rows.map { row in row.map { format == .pretty ? JSONValue.string($0.str) : $0.json } }
    return renderOutput(columns: columns, rows: rows, rightAligned: [], format: format)
}
