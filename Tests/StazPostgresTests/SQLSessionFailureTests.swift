import Logging
import Testing
@testable import StazPostgres

/// What a failed connection says: what libpq (and so psycopg and patronictl) would print.
struct SQLSessionFailureTests {
    let target = SQLSession.Target(host: "127.0.0.1", port: 1, user: "postgres", password: nil, database: "postgres",
                                   security: ConnectionSecurity(mode: .disable))

    @Test func refusedConnectionIsWordedAsLibpqWordsIt() async {
        do {
            // Port 1 refuses at once; the timeout only has to outlast a starved test process
            // (5 s did not, once), or the answer is "did not answer in time".
            let session = try await SQLSession.open(target, timeout: 60, logger: Logger(label: "test"))
            session.close()
            Issue.record("port 1 accepted a connection")
        } catch {
            #expect(SQLSession.connectFailureText(error, target: target)
                    == "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n"
                    + "\tIs the server running on that host and accepting TCP/IP connections?")
        }
    }

    @Test func serverRefusalKeepsItsMessage() {
        let refusal = SQLSession.Failure(sqlState: "28P01", message: "password authentication failed for user \"x\"")
        #expect(SQLSession.connectFailureText(refusal, target: target)
                == "connection to server at \"127.0.0.1\", port 1 failed: FATAL:  password authentication failed for user \"x\"")
        var socket = target
        socket.unixSocket = "/run/pg/.s.PGSQL.5432"
        #expect(SQLSession.connectFailureText(refusal, target: socket).hasPrefix("connection to server on socket \"/run/pg/.s.PGSQL.5432\" failed: FATAL:  "))
    }
}
