import Foundation
import Logging
import NIOCore
import PostgresNIO
import StazConcurrency

/// One logged write attempt.
struct ProbeOutcome {
    var id: Int64
    var send: Double
    var ack: Double?
    var error: String?
}

/// Holds at most one connection; any failure closes it so the next attempt reconnects
/// (after a failover HAProxy routes the new connection to the new primary).
actor ProbeWriter {
    private let configuration: PostgresConnection.Configuration
    private let connectDeadline: Duration
    private let statementDeadline: Duration
    private var connection: PostgresConnection?
    private var tableReady = false
    private var connectionCounter = 0
    private let logger = Logger(label: "staz-probe")

    init(configuration: PostgresConnection.Configuration, connectDeadline: Duration,
         statementDeadline: Duration) {
        self.configuration = configuration
        self.connectDeadline = connectDeadline
        self.statementDeadline = statementDeadline
    }

    func attempt(id: Int64) async -> ProbeOutcome {
        let send = Date().timeIntervalSince1970
        do {
            let connection = try await connected()
            if !tableReady {
                try await run(connection, "CREATE TABLE IF NOT EXISTS staz_probe(id bigint primary key, sent_at timestamptz)")
                tableReady = true
            }
            try await run(connection, "INSERT INTO staz_probe(id, sent_at) VALUES (\(id), now())")
            return ProbeOutcome(id: id, send: send, ack: Date().timeIntervalSince1970, error: nil)
        } catch {
            await dropConnection()
            return ProbeOutcome(id: id, send: send, ack: nil, error: describe(error))
        }
    }

    func close() async {
        await dropConnection()
    }

    private func connected() async throws -> PostgresConnection {
        if let connection { return connection }
        connectionCounter += 1
        let configuration = self.configuration
        let id = connectionCounter
        let logger = self.logger
        // connectTimeout covers only TCP; the deadline also covers startup and auth, which
        // hang when HAProxy accepts but has no healthy backend yet.
        // A connection that arrives after the deadline is closed, not leaked.
        let fresh = try await withDeadline(connectDeadline, what: "connect",
                                           discardLateResult: { late in late.close().whenComplete { _ in _ = late } }) {
            try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
        }
        connection = fresh
        return fresh
    }

    private func run(_ connection: PostgresConnection, _ query: PostgresQuery) async throws {
        let logger = self.logger
        // Closing the channel on timeout fails the pending query, so its task ends promptly.
        _ = try await withDeadline(statementDeadline, what: "statement",
                                   onTimeout: { connection.close().whenComplete { _ in } }) {
            try await connection.query(query, logger: logger)
        }
    }

    private func dropConnection() async {
        guard let connection else { return }
        self.connection = nil
        // Not awaited: closing a connection to a dead server must not delay the next attempt.
        connection.close().whenComplete { _ in _ = connection }
    }

    private func describe(_ error: Error) -> String {
        if let psql = error as? PSQLError {
            if let message = psql.serverInfo?[.message] { return "server: \(message)" }
            return "psql: \(psql.code)"
        }
        return String(describing: error)
    }
}
