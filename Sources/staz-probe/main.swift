// staz-probe: a write probe for failover benchmarks (bench/).
//
// Inserts one row with a unique id every --interval-ms through the given endpoint (normally
// HAProxy's primary port) and logs one JSON line per attempt with its send and ack times.
// Failover time = first acknowledged write after the fault minus the fault instant, so the
// probe must never stall: every connect and statement runs under a short deadline, and any
// error drops the connection so the next attempt starts from a fresh one.

import ArgumentParser
import Foundation
import Logging
import NIOCore
import PostgresNIO

struct StazProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "staz-probe",
        abstract: "Writes a row every interval and logs send/ack times as JSON lines.")

    @Option(help: "PostgreSQL (or HAProxy) host.") var host = "127.0.0.1"
    @Option(help: "PostgreSQL (or HAProxy) port.") var port = 5000
    @Option(help: "User name.") var user = "postgres"
    @Option(help: "Password (empty for none).") var password = ""
    @Option(help: "Database name.") var database = "postgres"
    @Option(name: .customLong("interval-ms"), help: "Milliseconds between write attempts.")
    var intervalMs = 10
    @Option(help: "Seconds to run (0 = until SIGTERM/SIGINT).") var duration: Double = 0
    @Option(help: "JSON-lines output file ('-' for stdout).") var output = "-"
    @Option(name: .customLong("connect-timeout-ms"), help: "Deadline for connect + auth.")
    var connectTimeoutMs = 300
    @Option(name: .customLong("statement-timeout-ms"), help: "Deadline for one INSERT.")
    var statementTimeoutMs = 500

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1...65535, got \(port)") }
        guard intervalMs >= 1 else { throw ValidationError("--interval-ms must be >= 1, got \(intervalMs)") }
        guard duration >= 0 else { throw ValidationError("--duration must be >= 0, got \(duration)") }
        guard connectTimeoutMs >= 10, statementTimeoutMs >= 10 else {
            throw ValidationError("--connect-timeout-ms and --statement-timeout-ms must be >= 10")
        }
    }

    func run() async throws {
        let log = try ProbeLog(path: output)
        let stop = StopFlag()
        let signalSources = stop.installSignalHandlers()
        defer { signalSources.forEach { $0.cancel() } }

        var options = PostgresConnection.Configuration.Options()
        options.connectTimeout = .milliseconds(Int64(connectTimeoutMs))
        // Server-side guard too, so a statement stuck behind a lock is cancelled by PostgreSQL.
        options.additionalStartupParameters = [("options", "-c statement_timeout=\(statementTimeoutMs)")]
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password.isEmpty ? nil : password,
            database: database, tls: .disable)
        configuration.options = options

        let writer = ProbeWriter(configuration: configuration,
                                 connectDeadline: .milliseconds(Int64(connectTimeoutMs)),
                                 statementDeadline: .milliseconds(Int64(statementTimeoutMs)))
        let interval = Duration.milliseconds(intervalMs)
        let clock = ContinuousClock()
        let start = clock.now
        let end: ContinuousClock.Instant? = duration > 0 ? start + .milliseconds(Int64(duration * 1000)) : nil
        // Ids are unique across runs: start from the current epoch in microseconds.
        var nextId = Int64(Date().timeIntervalSince1970 * 1_000_000)
        var nextTick = start

        while !stop.isSet {
            if let end, clock.now >= end { break }
            let outcome = await writer.attempt(id: nextId)
            log.append(outcome)
            nextId += 1
            // Fixed schedule; ticks missed during a slow attempt are skipped, not replayed.
            nextTick += interval
            let now = clock.now
            if nextTick < now { nextTick = now }
            try? await Task.sleep(until: nextTick, clock: clock)
        }
        await writer.close()
        log.finish()
    }
}

// Top-level code would pick ArgumentParser's synchronous main(), so parse and run by hand.
do {
    let command = try StazProbe.parse()
    try await command.run()
} catch {
    StazProbe.exit(withError: error)
}
