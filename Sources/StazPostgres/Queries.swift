import Foundation
import Logging
import NIOCore
import PostgresNIO
import StazConcurrency
import StazCore

/// Where and as whom to open a SQL connection.
struct SQLEndpoint: Sendable {
    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String = "postgres"
    /// TLS by the role's settings (libpq's default `prefer` when none are given).
    var security = ConnectionSecurity.libpqDefault
    /// A unix socket file to use instead of host and port (`use_unix_socket`).
    var unixSocket: String? = nil
    var applicationName = "staz"
}

extension SQLEndpoint {
    init(_ target: SQLSession.Target) {
        self.init(host: target.host, port: target.port, user: target.user, password: target.password,
                  database: target.database, security: target.security, unixSocket: target.unixSocket,
                  applicationName: target.applicationName)
    }
}

/// Text rows: every query casts its columns to text so decoding never depends on OID types.
typealias TextRow = [String: String?]

extension PostgresController {
    /// The local server as the superuser: over the unix socket with `use_unix_socket`, else TCP
    /// with the superuser's TLS settings (Patroni's `resolve_connection_addresses`).
    nonisolated var localEndpoint: SQLEndpoint { SQLEndpoint(SQLSession.Target.local(section, database: "postgres")) }

    /// The superuser's TLS settings, for staz's connections to other members (the leader).
    nonisolated var superuserSecurity: ConnectionSecurity { ConnectionSecurity.superuser(of: section) }

    static func openConnection(_ endpoint: SQLEndpoint, id: Int, timeout: Double, logger: Logger) async throws -> PostgresConnection {
        var config: PostgresConnection.Configuration
        if let socket = endpoint.unixSocket {
            config = PostgresConnection.Configuration(unixSocketPath: socket, username: endpoint.user,
                                                      password: endpoint.password, database: endpoint.database)
        } else {
            config = PostgresConnection.Configuration(host: endpoint.host, port: endpoint.port, username: endpoint.user,
                                                      password: endpoint.password, database: endpoint.database,
                                                      tls: try endpoint.security.postgresTLS())
        }
        config.options.connectTimeout = .milliseconds(Int64(timeout * 1000))
        config.options.additionalStartupParameters = [("application_name", endpoint.applicationName)]
        let connectLogger = Logger(label: "staz.postgres.nio", factory: { _ in SwiftLogNoOpLogHandler() })
        _ = logger
        let configuration = config
        let place = endpoint.unixSocket ?? "\(endpoint.host):\(endpoint.port)"
        // A connection that arrives after the deadline is closed, not leaked.
        return try await withDeadline(.seconds(timeout + 0.5), what: "connect to \(place)",
                                      discardLateResult: { closeNow($0) }) {
            try await PostgresConnection.connect(configuration: configuration, id: id, logger: connectLogger)
        }
    }

    /// Runs one statement over `connection`, collecting text rows, bounded by `timeout`.
    static func run(_ sql: String, on connection: PostgresConnection, timeout: Double) async throws -> [TextRow] {
        let quiet = Logger(label: "staz.postgres.nio", factory: { _ in SwiftLogNoOpLogHandler() })
        return try await withDeadline(.seconds(timeout), what: "query", onTimeout: { closeNow(connection) }) {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: quiet)
            var out: [TextRow] = []
            for try await row in rows {
                var dict: TextRow = [:]
                for cell in row { dict[cell.columnName] = try cell.decode(String?.self) }
                out.append(dict)
            }
            return out
        }
    }

    /// Query over a persistent local connection (opened on demand, dropped on failure).
    func queryLocal(_ sql: String, timeout: Double = 2, for user: LocalConnectionUser = .haLoop) async throws -> [TextRow] {
        let conn = try await localConnection(for: user, timeout: timeout)
        do {
            return try await Self.run(sql, on: conn, timeout: timeout)
        } catch {
            // Only a broken connection is dropped; a SQL error leaves it usable.
            if conn.isClosed || error is DeadlineExceeded || !(error is PSQLError) || (error as? PSQLError)?.serverInfo == nil {
                closeNow(conn)
                if connections[user] === conn { connections[user] = nil }
            }
            throw error
        }
    }

    /// `user`'s persistent connection, opened when there is none. The actor is re-entered while
    /// a connection opens, so two callers may each open one: the first to finish is kept and a
    /// later one is closed at once instead of being dropped unclosed (PostgresNIO
    /// asserts on that in debug builds, and it would leak a backend otherwise).
    private func localConnection(for user: LocalConnectionUser, timeout: Double) async throws -> PostgresConnection {
        if let existing = connections[user], !existing.isClosed { return existing }
        nextConnectionID += 1
        var endpoint = localEndpoint
        endpoint.applicationName = user.applicationName(base: endpoint.applicationName)
        let opened = try await Self.openConnection(endpoint, id: nextConnectionID, timeout: timeout, logger: logger)
        if let raced = connections[user], !raced.isClosed {
            closeNow(opened)
            return raced
        }
        connections[user] = opened
        return opened
    }

    /// One-off query on its own connection (the leader, or long statements like CHECKPOINT).
    static func queryOnce(_ endpoint: SQLEndpoint, _ statements: [String], timeout: Double, logger: Logger) async throws -> [TextRow] {
        let conn = try await openConnection(endpoint, id: 0, timeout: min(timeout, 5), logger: logger)
        defer { closeNow(conn) }
        var last: [TextRow] = []
        for sql in statements { last = try await run(sql, on: conn, timeout: timeout) }
        return last
    }

    /// Closes every persistent local connection: PostgreSQL stops, or no longer runs.
    func dropConnection() {
        for open in connections.values { closeNow(open) }
        connections = [:]
    }

    /// Closes the persistent connections (before stopping PostgreSQL, or on shutdown).
    public func closeConnection() { dropConnection() }

    /// Human-readable error text without connection details that may be sensitive.
    public nonisolated static func describe(_ error: Error) -> String {
        if let e = error as? PSQLError {
            // Without a server message PSQLError's description hides everything on purpose;
            // its code and underlying error say what failed (refused, TLS, timed out).
            if let message = e.serverInfo?[.message] { return message }
            return "\(e.code)" + (e.underlying.map { ": \($0)" } ?? "")
        }
        return "\(error)"
    }
}

/// SQL string literal (standard_conforming_strings on): single quotes doubled.
func sqlLiteral(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
/// SQL identifier: double quotes doubled.
func sqlIdentifier(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

/// Fire-and-forget close, callable from synchronous code (timeouts, defer blocks).
func closeNow(_ connection: PostgresConnection) {
    // Keep the connection alive until the close completed: PostgresNIO asserts (debug builds)
    // that a connection is closed before it is deinitialised.
    let future: EventLoopFuture<Void> = connection.close()
    future.whenComplete { _ in withExtendedLifetime(connection) {} }
}
