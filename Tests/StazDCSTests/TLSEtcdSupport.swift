import Foundation
import Logging
import StazConfig
@testable import StazDCS

/// A throw-away CA, an etcd server certificate for 127.0.0.1 and a client certificate (with
/// the clientAuth usage etcd insists on), made with the openssl CLI.
struct DCSTestCertificates {
    let directory: String
    var ca: String { directory + "/ca.crt" }
    var serverCert: String { directory + "/server.crt" }
    var serverKey: String { directory + "/server.key" }
    var clientCert: String { directory + "/client.crt" }
    var clientKey: String { directory + "/client.key" }

    static let script = """
    set -e
    cd "$1"
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
    key ca.key
    openssl req -x509 -new -key ca.key -out ca.crt -subj /CN=staz-test-ca -days 2
    key server.key
    openssl req -new -key server.key -out server.csr -subj /CN=127.0.0.1
    printf "subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth,clientAuth\\n" > server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext 2>/dev/null
    key client.key
    openssl req -new -key client.key -out client.csr -subj /CN=staz-client
    printf "extendedKeyUsage=clientAuth\\n" > client.ext
    openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 -extfile client.ext 2>/dev/null
    """

    static func make() async throws -> DCSTestCertificates {
        let directory = NSTemporaryDirectory() + "staz-dcs-tls-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script, "gen", directory]
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TLSEtcd.Failure.notReady("openssl failed") }
        return DCSTestCertificates(directory: directory)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// etcd on https with `--client-cert-auth`: every client must present a certificate from the
/// test CA. Stopped (SIGTERM to our own child, then its data removed) by `stop()`.
final class TLSEtcd: @unchecked Sendable {
    enum Failure: Error { case notReady(String) }

    let process: Process
    let dataDirectory: String

    private init(process: Process, dataDirectory: String) { self.process = process; self.dataDirectory = dataDirectory }

    static func start(certs: DCSTestCertificates, clientPort: Int) async throws -> TLSEtcd {
        let endpoint = "https://127.0.0.1:\(clientPort)"
        let peer = "http://127.0.0.1:\(clientPort + 1)"
        let data = certs.directory + "/etcd-data"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/etcd")
        process.arguments = [
            "--name", "stazdcs-tls", "--data-dir", data,
            "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "stazdcs-tls=\(peer)", "--enable-v2=true",
            "--cert-file", certs.serverCert, "--key-file", certs.serverKey,
            "--client-cert-auth", "--trusted-ca-file", certs.ca,
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        watch(etcd: process.processIdentifier)
        let etcd = TLSEtcd(process: process, dataDirectory: data)
        var section = StazConfigEtcd.section(endpoint: endpoint, certs: certs)
        section.protocolScheme = "https"
        let probe = EtcdV3Client(endpoints: [endpoint], prefix: "/probe/", memberName: nil, retryTimeout: 0.5,
                                 logger: Logger(label: "test.etcd.tls.probe"), tls: try makeEtcdTLSConfiguration(section))
        defer { Task { await probe.close() } }
        for _ in 0..<50 {
            if (try? await probe.loadCluster(fresh: true)) != nil { return etcd }
            try await Task.sleep(for: .milliseconds(200))
        }
        etcd.stop()
        throw Failure.notReady("etcd with TLS did not answer on \(endpoint)")
    }

    /// A test process that dies without `stop()` (a crash, a kill) would leave etcd holding
    /// the port, and every later run would fail against a server with another CA: a detached
    /// shell kills etcd once this process is gone (or a zombie).
    private static func watch(etcd: Int32) {
        let script = """
            alive() { s=$(sed 's/.*) //' /proc/$1/stat 2>/dev/null | cut -d' ' -f1); [ -n "$s" ] && [ "$s" != Z ]; }
            while alive \(getpid()) && alive \(etcd); do sleep 0.3; done
            kill \(etcd) 2>/dev/null
            """
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/bin/bash")
        watchdog.arguments = ["-c", script]
        watchdog.standardInput = FileHandle.nullDevice
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        try? watchdog.run()
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }
}

enum StazConfigEtcd {
    static func section(endpoint: String, certs: DCSTestCertificates) -> EtcdSection {
        var section = EtcdSection(endpoints: [endpoint])
        section.cacert = certs.ca; section.cert = certs.clientCert; section.key = certs.clientKey
        return section
    }
}
