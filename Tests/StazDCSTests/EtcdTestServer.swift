import Foundation
import Logging
import StazCore
import Testing
@testable import StazDCS

/// Real etcd 3.4 servers (v2 API enabled) for the test process: `shared` on 127.0.0.1:23790
/// (peer 23791) used by most tests, `freezable` on 23792 (peer 23793) for the test that stops
/// it with SIGSTOP, `authenticated` on 23794 (peer 23795) for v3 token auth. A watchdog shell kills each etcd and removes its data directory once this
/// test process is gone, so nothing is left behind even when the run is interrupted. Tests
/// isolate themselves with a unique cluster scope each.
actor EtcdTestServer {
    static let shared = EtcdTestServer(clientPort: 23790)
    static let freezable = EtcdTestServer(clientPort: 23792)
    /// etcd v3 authentication enabled (user `root`, password `secret`) by the auth test.
    static let authenticated = EtcdTestServer(clientPort: 23794)
    /// Nothing listens here: used as the dead endpoint in failover tests.
    static let deadPort = 23799
    static let endpoint = shared.endpoint
    static let deadEndpoint = "http://127.0.0.1:\(deadPort)"

    let clientPort: Int
    nonisolated var endpoint: String { "http://127.0.0.1:\(clientPort)" }
    private var pidFile: String { "/tmp/stazdcs-etcd-\(clientPort)-\(getpid()).pid" }
    /// Concurrent tests share one start-up.
    private var startup: Task<Void, Error>?

    init(clientPort: Int) { self.clientPort = clientPort }

    enum StartFailure: Error, CustomStringConvertible {
        case notReady(String)
        var description: String { switch self { case .notReady(let s): return "etcd did not start: \(s)" } }
    }

    /// Starts etcd once and waits until it answers.
    func ensureRunning() async throws {
        if startup == nil {
            let (endpoint, peerPort, pidFile) = (endpoint, clientPort + 1, pidFile)
            startup = Task { try await Self.start(endpoint: endpoint, peerPort: peerPort, pidFile: pidFile) }
        }
        try await startup!.value
    }

    /// Sends a signal (SIGSTOP / SIGCONT) to the etcd process. After SIGSTOP it returns only
    /// once every etcd thread has stopped: kill() merely queues the signal, and on a busy
    /// machine etcd's other threads go on answering requests until one of them acts on it.
    func signal(_ signal: Int32) async throws {
        let text = try String(contentsOfFile: pidFile, encoding: .utf8)
        guard let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw StartFailure.notReady("no pid in \(pidFile)")
        }
        kill(pid, signal)
        guard signal == SIGSTOP else { return }
        let deadline = ContinuousClock.now + .seconds(5)
        while !Self.allThreadsStopped(pid) {
            guard ContinuousClock.now < deadline else { throw StartFailure.notReady("etcd \(pid) did not stop") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Whether every thread of `pid` is stopped (state T or t in /proc/PID/task/TID/stat).
    private static func allThreadsStopped(_ pid: Int32) -> Bool {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task"), !tasks.isEmpty else {
            return true
        }
        return tasks.allSatisfy { task in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/stat", encoding: .ascii),
                  let afterName = stat.range(of: ")", options: .backwards) else { return true }
            let state = stat[afterName.upperBound...].split(separator: " ").first
            return state == "T" || state == "t"
        }
    }

    private static func start(endpoint: String, peerPort: Int, pidFile: String) async throws {
        let script = """
        D=$(mktemp -d /tmp/stazdcs-etcd-XXXXXX)
        /usr/bin/etcd --name stazdcs --data-dir "$D/data" \
          --listen-client-urls \(endpoint) --advertise-client-urls \(endpoint) \
          --listen-peer-urls http://127.0.0.1:\(peerPort) --initial-advertise-peer-urls http://127.0.0.1:\(peerPort) \
          --initial-cluster stazdcs=http://127.0.0.1:\(peerPort) --enable-v2=true >"$D/etcd.log" 2>&1 &
        E=$!
        echo $E > \(pidFile)
        # The test process counts as gone once it is a zombie too (its parent may wait for our
        # pipes before reaping it, so do not hold any: output goes to /dev/null below).
        alive() { s=$(sed 's/.*) //' /proc/$1/stat 2>/dev/null | cut -d' ' -f1); [ -n "$s" ] && [ "$s" != Z ]; }
        while alive \(getpid()) && alive $E; do sleep 0.3; done
        kill -CONT $E 2>/dev/null; kill $E 2>/dev/null; wait $E 2>/dev/null; rm -rf "$D" \(pidFile)
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let probe = EtcdV3Client(endpoints: [endpoint], prefix: "/probe/", memberName: nil, retryTimeout: 0.5,
                                 logger: Logger(label: "test.etcd.probe"))
        defer { Task { await probe.close() } }
        // An etcd left by a previous run is stopped by its watchdog within a second: let it go
        // first, or ours could not bind the port.
        for _ in 0..<20 {
            guard (try? await probe.loadCluster(fresh: true)) != nil else { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        try process.run()
        var lastError = ""
        for _ in 0..<50 {
            do {
                _ = try await probe.loadCluster(fresh: true)
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

    let server: EtcdTestServer

    init(_ backend: Backend, server: EtcdTestServer = .shared) async throws {
        try await server.ensureRunning()
        self.server = server
        self.backend = backend
        self.scope = "t-" + UUID().uuidString.prefix(8).lowercased()
        self.prefix = DCSKey.clusterPrefix(namespace: "/service", scope: scope)
    }

    func client(_ name: String?, ttl: Double = 30, loopWait: Double = 10, retryTimeout: Double = 4,
                endpoints: [String]? = nil) -> DCSClient {
        let endpoints = endpoints ?? [server.endpoint]
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
        try etcdctl(endpoint: server.endpoint, api: api, arguments)
    }
}

/// Runs etcdctl against `endpoint` and returns its standard output.
func etcdctl(endpoint: String, api: String = "3", _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/etcdctl")
    process.arguments = ["--endpoints", endpoint] + arguments
    process.environment = ["ETCDCTL_API": api, "PATH": "/usr/bin:/bin"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
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
func withCluster(_ backend: Backend, server: EtcdTestServer = .shared,
                 _ body: (TestCluster) async throws -> Void) async throws {
    let cluster = try await TestCluster(backend, server: server)
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
