import Foundation
import Logging
import NIOCore
import PostgresNIO

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
    private let connectDeadline: TimeAmount
    private let statementDeadline: TimeAmount
    private var connection: PostgresConnection?
    private var tableReady = false
    private var connectionCounter = 0
    private let logger = Logger(label: "staz-probe")

    init(configuration: PostgresConnection.Configuration, connectDeadline: TimeAmount,
         statementDeadline: TimeAmount) {
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
        let fresh = try await withDeadline(connectDeadline, what: "connect") {
            try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
        } onTimeout: {
        } discardLateResult: { late in
            // A connection that arrived after the deadline is closed, not leaked.
            late.close().whenComplete { _ in }
        }
        connection = fresh
        return fresh
    }

    private func run(_ connection: PostgresConnection, _ query: PostgresQuery) async throws {
        let logger = self.logger
        try await withDeadline(statementDeadline, what: "statement") {
            try await connection.query(query, logger: logger)
        } onTimeout: {
            // Closing the channel fails the pending query, so the racing task ends promptly.
            connection.close().whenComplete { _ in }
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

struct DeadlineExceeded: Error, CustomStringConvertible {
    var what: String
    var description: String { "\(what) deadline exceeded" }
}

/// Runs `operation`, failing with DeadlineExceeded after `deadline`. The operation runs in
/// an unstructured task that is cancelled (and `onTimeout` called) but never awaited after the
/// deadline: a PostgresNIO future that never completes must not stall the probe.
func withDeadline<T: Sendable>(_ deadline: TimeAmount, what: String,
                               _ operation: @escaping @Sendable () async throws -> T,
                               onTimeout: @escaping @Sendable () -> Void,
                               discardLateResult: @escaping @Sendable (T) -> Void = { _ in }) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
        let race = DeadlineRace(continuation)
        let timer = Task {
            try? await Task.sleep(nanoseconds: UInt64(deadline.nanoseconds))
            if Task.isCancelled { return }
            if race.finish(.failure(DeadlineExceeded(what: what))) {
                onTimeout()
                race.cancelWork()
            }
        }
        let work = Task {
            let result: Result<T, Error>
            do { result = .success(try await operation()) } catch { result = .failure(error) }
            if race.finish(result) {
                timer.cancel()
            } else if case .success(let late) = result {
                discardLateResult(late)
            }
        }
        race.setWork(work)
    }
}

/// Resumes the continuation exactly once: whoever finishes first (work or timer) wins.
private final class DeadlineRace<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Error>?
    private var work: Task<Void, Never>?
    private var workCancelled = false

    init(_ continuation: CheckedContinuation<T, Error>) { self.continuation = continuation }

    func finish(_ result: Result<T, Error>) -> Bool {
        lock.lock()
        let pending = continuation
        continuation = nil
        lock.unlock()
        guard let pending else { return false }
        pending.resume(with: result)
        return true
    }

    func setWork(_ task: Task<Void, Never>) {
        lock.lock()
        work = task
        let cancelNow = workCancelled
        lock.unlock()
        if cancelNow { task.cancel() }
    }

    func cancelWork() {
        lock.lock()
        workCancelled = true
        let task = work
        lock.unlock()
        task?.cancel()
    }
}
