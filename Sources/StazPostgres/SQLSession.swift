import Foundation
import Logging
import PostgresNIO
import StazConfig
import StazCore
import Synchronization

/// A SQL connection for modules above StazPostgres (the mesh): one database, text rows, every
/// statement bounded by a timeout. A statement that times out closes the connection, so a hung
/// server never holds the caller. Not shared between tasks.
public final class SQLSession: @unchecked Sendable {
    public struct Target: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var user: String
        public var password: String?
        public var database: String
        public var security: ConnectionSecurity
        /// A unix socket file used instead of host and port.
        public var unixSocket: String?
        /// `application_name`, as `pg_stat_activity` shows it.
        public var applicationName = "staz"
        public init(host: String, port: Int, user: String, password: String?, database: String,
                    security: ConnectionSecurity = .libpqDefault, unixSocket: String? = nil) {
            self.host = host; self.port = port; self.user = user; self.password = password; self.database = database
            self.security = security; self.unixSocket = unixSocket
        }

        /// The local server as the superuser, the way staz's own local connections go
        /// (`use_unix_socket`, the superuser's TLS settings).
        public static func local(_ section: PostgreSQLSection, database: String) -> Target {
            Target(host: ConfigRendering.localConnectHost(listenHosts: section.listenHosts), port: section.port,
                   user: section.superuser.username, password: section.superuser.password, database: database,
                   security: .superuser(of: section), unixSocket: LocalAddress.unixSocket(of: section))
        }
    }

    /// A server error (SQLSTATE and message) or a transport failure.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var sqlState: String?
        public var message: String
        public var description: String { sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message }
    }

    let connection: PostgresConnection
    public let target: Target

    init(connection: PostgresConnection, target: Target) {
        self.connection = connection; self.target = target
    }

    /// Opens a connection (connect bounded by `timeout` seconds).
    public static func open(_ target: Target, timeout: Double, logger: Logger) async throws -> SQLSession {
        let endpoint = SQLEndpoint(target)
        do {
            let connection = try await PostgresController.openConnection(endpoint, id: 0, timeout: timeout, logger: logger)
            return SQLSession(connection: connection, target: target)
        } catch {
            throw Self.failure(error)
        }
    }

    /// Rows of one statement, every column as text (NULL → nil). Cast non-text columns in SQL.
    public func query(_ sql: String, timeout: Double) async throws -> [[String: String?]] {
        do {
            return try await PostgresController.run(sql, on: connection, timeout: timeout)
        } catch {
            throw Self.failure(error)
        }
    }

    public var isClosed: Bool { connection.isClosed }

    public func close() { closeNow(connection) }

    static func failure(_ error: Error) -> Failure {
        if let e = error as? PSQLError, let info = e.serverInfo {
            return Failure(sqlState: info[.sqlState], message: info[.message] ?? "\(error)")
        }
        // PSQLError's description hides everything; say what failed (refused, TLS, timed out).
        return Failure(sqlState: nil, message: PostgresController.describe(error))
    }
}

extension PostgresController {
    /// A session to `database` on the local server as `user` (the mesh's role).
    public func localSQLTarget(database: String, user: String? = nil, password: String? = nil) -> SQLSession.Target {
        var target = SQLSession.Target.local(section, database: database)
        if let user { target.user = user; target.password = password }
        return target
    }
}
