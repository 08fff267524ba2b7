import Foundation
import Logging
import StazCore
import StazPostgres

/// A failed query, worded as patronictl prints it after `ERROR, SQLSTATE: `: the SQLSTATE of
/// a server error, else psycopg's message.
struct MemberSQLError: Error, Equatable { var message: String }

/// Runs `stazctl query` SQL on a member the way `patronictl query` does with psycopg 3: one
/// connection per run (`application_name` "Patroni ctl", 5 s to connect, libpq's defaults for
/// what the options leave out), the text run as one simple-protocol query would run it, and the
/// first statement's rows loaded as psycopg loads them.
struct MemberSQL {
    var username: String?
    var password: String?
    var dbname: String?
    var defaults = LibpqDefaults.current

    /// patronictl sets no statement timeout; a query may run long (VACUUM, a big report).
    static let statementTimeout = 86_400.0
    static let connectTimeout = 5.0

    func target(host: String, port: Int) -> SQLSession.Target {
        let user = defaults.user(username)
        let database = defaults.database(dbname, user: user)
        var target = SQLSession.Target(host: host, port: port, user: user,
                                       password: defaults.password(password, host: host, port: port, database: database, user: user),
                                       database: database, security: defaults.security(user: user))
        target.applicationName = "Patroni ctl"
        return target
    }

    func run(_ sql: String, host: String, port: Int) async throws -> QueryResult {
        let script = SQLScript(sql)
        let target = target(host: host, port: port)
        let quiet = Logger(label: "stazctl.query", factory: { _ in SwiftLogNoOpLogHandler() })
        let session: SQLSession
        do {
            session = try await SQLSession.open(target, timeout: Self.connectTimeout, logger: quiet)
        } catch {
            throw MemberSQLError(message: "connection failed: " + SQLSession.connectFailureText(error, target: target))
        }
        defer { session.close() }
        guard !script.statements.isEmpty else {
            throw MemberSQLError(message: "the last operation didn't produce records (result status: EMPTY_QUERY)")
        }
        var first: RawResult?
        var timeZone: String?
        do {
            if script.needsImplicitTransaction { _ = try await session.rawQuery("BEGIN", timeout: Self.statementTimeout) }
            for statement in script.statements {
                let result = try await session.rawQuery(statement, timeout: Self.statementTimeout)
                if first == nil { first = result }
            }
            if script.needsImplicitTransaction { _ = try await session.rawQuery("COMMIT", timeout: Self.statementTimeout) }
            // psycopg converts timestamptz to the session's time zone as it stands after the run.
            if first?.columns?.contains(where: { BinaryCellDecoder.zonedTypes.contains($0.typeOID) }) == true {
                let zone = try await session.query("SELECT current_setting('TimeZone') AS zone", timeout: Self.connectTimeout)
                timeZone = zone.first?["zone"] ?? nil
            }
        } catch let failure as SQLSession.Failure {
            throw MemberSQLError(message: failure.sqlState ?? failure.message)
        }
        guard let first, let columns = first.columns else {
            throw MemberSQLError(message: "the last operation didn't produce records")
        }
        var decoder = BinaryCellDecoder()
        if let timeZone, let zone = TimeZone(identifier: timeZone) { decoder.timeZone = zone }
        let rows = first.rows.map { row in
            zip(columns, row).map { column, cell in decoder.decode(cell, type: column.typeOID) }
        }
        return QueryResult(columns: columns.map(\.name), rows: rows)
    }
}
