import Foundation
import Logging
import StazCore
import Testing
@testable import StazDCS

/// etcd v3 token authentication (`/v3/auth/authenticate`, `Authorization: <token>`).
@Suite("etcd v3 authentication")
struct AuthenticationTests {
    /// Creates `root:secret` and turns authentication on (etcdctl's output is not needed: the
    /// test itself shows whether it worked).
    static func enableAuthentication(_ server: EtcdTestServer) throws {
        _ = try etcdctl(endpoint: server.endpoint, ["user", "add", "root:secret"])
        _ = try etcdctl(endpoint: server.endpoint, ["auth", "enable"])
    }

    @Test("a client with the right password works, watch included; a wrong password is a clear error")
    func tokenAuthentication() async throws {
        let server = EtcdTestServer.authenticated
        try await server.ensureRunning()
        try Self.enableAuthentication(server)
        let prefix = "/service/auth-\(UUID().uuidString.prefix(8).lowercased())/"
        let logger = Logger(label: "test.dcs.auth")
        let a = EtcdV3Client(endpoints: [server.endpoint], prefix: prefix, memberName: "node-a", retryTimeout: 3,
                             username: "root", password: "secret", logger: logger)
        let b = EtcdV3Client(endpoints: [server.endpoint], prefix: prefix, memberName: "node-b", retryTimeout: 3,
                             username: "root", password: "secret", logger: logger)
        let wrong = EtcdV3Client(endpoints: [server.endpoint], prefix: prefix, memberName: nil, retryTimeout: 10,
                                 username: "root", password: "wrong", logger: logger)
        let anonymous = EtcdV3Client(endpoints: [server.endpoint], prefix: prefix, memberName: nil, retryTimeout: 3,
                                     logger: logger)
        // Closed even when an expectation throws (an unclosed HTTPClient traps in debug builds).
        defer { Task { for client in [a, b, wrong, anonymous] { await client.close() } } }
        #expect(try await a.attemptToAcquireLeader())
        #expect(try await a.touchMember(object(["role": "primary"])))
        try await WatchAndFailoverTests.prime(b)
        #expect(try await b.loadCluster(fresh: false).leader?.name == "node-a")
        async let woken = b.waitForChange(timeout: .seconds(10))
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await a.deleteLeader())
        #expect(await woken == true)

        let start = ContinuousClock.now
        await #expect {
            _ = try await wrong.loadCluster(fresh: true)
        } throws: { error in
            guard case DCSError.protocolError(let message) = error else { return false }
            return message.contains("authentication")
        }
        // Retrying would take the whole retry_timeout (10 s); the bound leaves room for a loaded
        // machine without letting a retry pass.
        #expect(ContinuousClock.now - start < .seconds(5), "a refused password must not be retried until timeout")
        await #expect(throws: DCSError.self) { _ = try await anonymous.loadCluster(fresh: true) }
    }
}
