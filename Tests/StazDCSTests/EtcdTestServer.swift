import Foundation
import Logging
import StazCore
import Testing
@testable import StazDCS

/// One real etcd 3.4 (v2 API enabled) for the whole test process, on 127.0.0.1:23790 (peer
/// 23791). A watchdog shell kills it and removes its data directory once this test process is
/// gone, so nothing is left behind even when the run is interrupted. Tests isolate themselves
/// with a unique cluster scope each.
actor EtcdTestServer {
    static let shared = EtcdTestServer()
    static let clientPort = 23790
    static let peerPort = 23791
    /// Nothing listens here: used as the dead endpoint in failover tests.
    static let deadPort = 23799
    static let endpoint = "http://127.0.0.1:\(clientPort)"
    static let deadEndpoint = "http://127.0.0.1:\(deadPort)"

    private var started = false

    enum StartFailure: Error, CustomStringConvertible {
        case notReady(String)
        var description: String { switch self { case .notReady(let s): return "etcd did not start: \(s)" } }
    }

    /// Starts etcd once and waits until it answers.
    func ensureRunning() async throws {
        if started { return }
        let script = """
        D=$(mktemp -d /tmp/stazdcs-etcd-XXXXXX)
        /usr/bin/etcd --name stazdcs --data-dir "$D/data" \
          --listen-client-urls \(Self.endpoint) --advertise-client-urls \(Self.endpoint) \
          --listen-peer-urls http://127.0.0.1:\(Self.peerPort) --initial-advertise-peer-urls http://127.0.0.1:\(Self.peerPort) \
          --initial-cluster stazdcs=http://127.0.0.1:\(Self.peerPort) --enable-v2=true >"$D/etcd.log" 2>&1 &
        E=$!
        while kill -0 \(getpid()) 2>/dev/null && kill -0 $E 2>/dev/null; do sleep 0.3; done
        kill $E 2>/dev/null; wait $E 2>/dev/null; rm -rf "$D"
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        try process.run()
        let probe = EtcdV3Client(endpoints: [Self.endpoint], prefix: "/probe/", memberName: nil, retryTimeout: 0.5,
                                 logger: Logger(label: "test.etcd.probe"))
        defer { Task { await probe.close() } }
        var lastError = ""
        for _ in 0..<50 {
            do {
                _ = try await probe.loadCluster(fresh: true)
                started = true
                return
            } catch {
                lastError = "\(error)"
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        throw StartFailure.notReady(lastError)
    }
}

enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case v3, v2
    var testDescription: String { "etcd \(rawValue)" }
}

/// Builds clients against the test etcd under a fresh scope; `close()` them all at the end.
final class TestCluster: @unchecked Sendable {
    let backend: Backend
    let scope: String
    let prefix: String
    private var clients: [DCSClient] = []
    private let lock = NSLock()

    init(_ backend: Backend) async throws {
        try await EtcdTestServer.shared.ensureRunning()
        self.backend = backend
        self.scope = "t-" + UUID().uuidString.prefix(8).lowercased()
        self.prefix = DCSKey.clusterPrefix(namespace: "/service", scope: scope)
    }

    func client(_ name: String?, ttl: Double = 30, loopWait: Double = 10, retryTimeout: Double = 4,
                endpoints: [String] = [EtcdTestServer.endpoint]) -> DCSClient {
        let logger = Logger(label: "test.dcs.\(name ?? "ro")")
        let client: DCSClient
        switch backend {
        case .v3:
            client = EtcdV3Client(endpoints: endpoints, prefix: prefix, memberName: name, ttl: ttl, loopWait: loopWait,
                                  retryTimeout: retryTimeout, logger: logger)
        case .v2:
            client = EtcdV2Client(endpoints: endpoints, prefix: prefix, memberName: name, ttl: ttl, loopWait: loopWait,
                                  retryTimeout: retryTimeout, logger: logger)
        }
        lock.withLock { clients.append(client) }
        return client
    }

    func closeAll() async {
        let all = lock.withLock { clients }
        for client in all { await client.close() }
    }

    /// `etcdctl` output for one key (v2) or the whole prefix (v3), as key → value.
    func etcdctlValues(keys: [String]) throws -> [String: String] {
        switch backend {
        case .v3:
            let lines = try runEtcdctl(api: "3", ["get", "--prefix", prefix]).split(separator: "\n", omittingEmptySubsequences: false)
            var values: [String: String] = [:]
            var index = 0
            while index + 1 < lines.count {
                values[String(lines[index].dropFirst(prefix.count))] = String(lines[index + 1])
                index += 2
            }
            return values
        case .v2:
            var values: [String: String] = [:]
            for key in keys {
                var output = try runEtcdctl(api: "2", ["get", prefix + key])
                if output.hasSuffix("\n") { output.removeLast() }
                values[key] = output
            }
            return values
        }
    }

    private func runEtcdctl(api: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/etcdctl")
        process.arguments = ["--endpoints", EtcdTestServer.endpoint] + arguments
        process.environment = ["ETCDCTL_API": api, "PATH": "/usr/bin:/bin"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = Pipe()
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

/// Polls `condition` every 100 ms until it holds or `timeout` passes; returns the time it took.
func waitUntil(timeout: Duration, _ condition: () async throws -> Bool) async throws -> Duration? {
    let start = ContinuousClock.now
    while ContinuousClock.now - start < timeout {
        if try await condition() { return ContinuousClock.now - start }
        try await Task.sleep(for: .milliseconds(100))
    }
    return nil
}

/// Runs `body` with a fresh test cluster and always closes its clients (an unclosed
/// `HTTPClient` traps in debug builds).
func withCluster(_ backend: Backend, _ body: (TestCluster) async throws -> Void) async throws {
    let cluster = try await TestCluster(backend)
    do {
        try await body(cluster)
    } catch {
        await cluster.closeAll()
        throw error
    }
    await cluster.closeAll()
}

/// Object literals in tests: `object(["role": "primary"])`.
func object(_ value: JSONValue) -> JSONObject { value.objectValue ?? JSONObject() }
