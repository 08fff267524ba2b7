import Foundation
import Logging
import StazAPI
import StazConfig
import StazCore
import Testing

/// RESTServer end to end with TLS, client certificates, basic auth and allowlists, driven by
/// curl. Ports 29500–29519.
@Suite("REST API security over the wire", .serialized)
struct SecureServerTests {
    static func start(port: Int, security: RESTSecurity, snapshot: NodeSnapshot = Fixtures.leader(at: .now),
                      actions: APIActions = NoAPIActions()) async throws -> RESTServer {
        let server = try RESTServer(listen: "127.0.0.1:\(port)", state: APIState(snapshot), actions: actions,
                                    clusterProvider: { ClusterView() }, logger: Logger(label: "test.secure"),
                                    security: security)
        try await server.start()
        return server
    }

    static func tls(_ certs: TestCertificates, verifyClient: ClientCertificateMode) -> RESTTLSSettings {
        RESTTLSSettings(certfile: certs.serverCert, keyfile: certs.serverKey, cafile: certs.ca, verifyClient: verifyClient)
    }

    @Test("verify_client required: no certificate, no TLS session; with one, auth decides unsafe calls")
    func requiredClientCertificates() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        var security = RESTSecurity()
        security.tls = Self.tls(certs, verifyClient: .required)
        security.basicAuthKey = Data("admin:s3cret".utf8).base64EncodedString()
        let actions = RecordingActions()
        let server = try await Self.start(port: 29500, security: security, actions: actions)
        defer { Task { await server.shutdown() } }
        let base = "https://127.0.0.1:29500"
        let trust = ["--cacert", certs.ca]
        let identity = trust + ["--cert", certs.clientCert, "--key", certs.clientKey]

        let anonymous = try await curl("GET", base + "/patroni", trust)
        #expect(anonymous.status == 0 && anonymous.exitCode != 0, "handshake must fail without a client certificate")

        let status = try await curl("GET", base + "/patroni", identity)
        #expect(status.status == 200)
        #expect(status.body.hasPrefix(#"{"state": "running""#))
        #expect(try await curl("GET", base + "/primary", identity).status == 200)
        let metrics = try await curl("GET", base + "/metrics", identity)
        #expect(metrics.status == 200 && metrics.body.contains("patroni_primary{scope=\"demo\",name=\"node1\"} 1"))

        let noAuth = try await curl("POST", base + "/reload", identity)
        #expect(noAuth.status == 401 && noAuth.body == "no auth header received")
        #expect(noAuth.headers.contains("WWW-Authenticate: Basic realm=\"Patroni\""))
        let wrong = try await curl("POST", base + "/reload", identity + ["-u", "admin:guess"])
        #expect(wrong.status == 401 && wrong.body == "not authenticated")
        #expect(actions.reloads.withLock { $0 } == 0)
        let right = try await curl("POST", base + "/reload", identity + ["-u", "admin:s3cret"])
        #expect(right.status == 202 && right.body == "reload scheduled")
        #expect(actions.reloads.withLock { $0 } == 1)

        // A self-signed client certificate (not from the CA) is refused at the TLS layer.
        let rogue = try await curl("GET", base + "/patroni", trust + ["--cert", certs.rogueClientCert, "--key", certs.clientKey])
        #expect(rogue.status == 0 && rogue.exitCode != 0)
    }

    @Test("verify_client optional: GETs need nothing; unsafe calls pass allowlist, then certificate")
    func optionalClientCertificatesAndAllowlist() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        var security = RESTSecurity()
        security.tls = Self.tls(certs, verifyClient: .optional)
        security.allowlist = [try IPNetwork(parsing: "10.0.0.0/8")]
        let actions = RecordingActions()
        let server = try await Self.start(port: 29501, security: security, actions: actions)
        defer { Task { await server.shutdown() } }
        let base = "https://127.0.0.1:29501"
        let trust = ["--cacert", certs.ca]
        let identity = trust + ["--cert", certs.clientCert, "--key", certs.clientKey]

        #expect(try await curl("GET", base + "/patroni", trust).status == 200)
        #expect(try await curl("OPTIONS", base + "/primary", trust).status == 200)
        let denied = try await curl("POST", base + "/reload", identity)
        #expect(denied.status == 403 && denied.body == "Access is denied")
        // Unknown unsafe routes are not access-checked (Patroni: only do_* handlers are).
        #expect(try await curl("POST", base + "/nonexistent", trust).status == 501)

        security.allowlist = [try IPNetwork(parsing: "127.0.0.0/8")]
        try server.updateSecurity(security)
        let noCertificate = try await curl("POST", base + "/reload", trust)
        #expect(noCertificate.status == 403 && noCertificate.body == "client certificate required")
        let accepted = try await curl("POST", base + "/reload", identity)
        #expect(accepted.status == 202)
        #expect(actions.reloads.withLock { $0 } == 1)
    }

    @Test("allowlist_include_members admits the members' api_url hosts only")
    func membersAllowlist() async throws {
        var security = RESTSecurity()
        security.allowlistIncludeMembers = true
        var snapshot = Fixtures.leader(at: .now)
        snapshot.clusterView = ClusterView(members: [Member(name: "node9", data: obj(["api_url": "http://10.9.9.9:8008/patroni"]))])
        let state = APIState(snapshot)
        let actions = RecordingActions()
        let server = try RESTServer(listen: "127.0.0.1:29502", state: state, actions: actions,
                                    clusterProvider: { ClusterView() }, logger: Logger(label: "test.secure"),
                                    security: security)
        try await server.start()
        defer { Task { await server.shutdown() } }
        let denied = try await curl("POST", "http://127.0.0.1:29502/reload")
        #expect(denied.status == 403 && denied.body == "Access is denied")
        state.update {
            $0.clusterView = ClusterView(members: [Member(name: "node1", data: obj(["api_url": "http://localhost:8008/patroni"]))])
        }
        #expect(try await curl("POST", "http://127.0.0.1:29502/reload").status == 202)
        #expect(actions.reloads.withLock { $0 } == 1)
    }

    @Test("encrypted keys need keyfile_password; bad files are named in the error")
    func keyFilesAndErrors() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        var settings = RESTTLSSettings(certfile: certs.serverCert, keyfile: certs.encryptedServerKey, keyfilePassword: "keysecret")
        _ = try settings.makeServerContext()
        settings.keyfilePassword = "wrong"
        #expect { _ = try settings.makeServerContext() } throws: { "\($0)".contains("restapi.keyfile") }
        let missing = RESTTLSSettings(certfile: certs.directory + "/nope.crt")
        #expect { _ = try missing.makeServerContext() } throws: { "\($0)".contains("restapi.certfile") && "\($0)".contains("no such file") }
        var security = RESTSecurity()
        security.tls = missing
        #expect(throws: RESTTLSError.self) {
            _ = try RESTServer(listen: "127.0.0.1:29503", state: APIState(Fixtures.leader(at: .now)), actions: NoAPIActions(),
                               clusterProvider: { ClusterView() }, logger: Logger(label: "test"), security: security)
        }
        // Key inside the certificate file (Python's load_cert_chain without keyfile).
        let combined = certs.directory + "/combined.pem"
        let pem = try String(contentsOfFile: certs.serverCert, encoding: .utf8) + String(contentsOfFile: certs.serverKey, encoding: .utf8)
        try pem.write(toFile: combined, atomically: true, encoding: .utf8)
        _ = try RESTTLSSettings(certfile: combined).makeServerContext()
    }

    /// A key that is not the certificate's was refused by NIOSSL as "failedToLoadPrivateKey",
    /// naming nothing; the daemon and `--validate-config` now name both keys and files.
    @Test("a private key that does not match the certificate is named with both files")
    func mismatchedKey() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        #expect { _ = try RESTTLSSettings(certfile: certs.serverCert, keyfile: certs.clientKey).makeServerContext() } throws: {
            "\($0)" == "restapi.keyfile does not match restapi.certfile: the key in '\(certs.clientKey)' is not the one of the certificate in '\(certs.serverCert)'"
        }
        let combined = certs.directory + "/foreign.pem"
        let pem = try String(contentsOfFile: certs.serverCert, encoding: .utf8) + String(contentsOfFile: certs.clientKey, encoding: .utf8)
        try pem.write(toFile: combined, atomically: true, encoding: .utf8)
        #expect { _ = try RESTTLSSettings(certfile: combined).makeServerContext() } throws: {
            "\($0)" == "restapi.certfile '\(combined)': the private key in the file is not the one of its certificate"
        }

        var restapi = RestAPISection(listen: "127.0.0.1:8008", connectAddress: "127.0.0.1:8008")
        #expect(RESTTLSSettings.problem(restapi: restapi) == nil, "no TLS, nothing to check")
        restapi.certfile = certs.serverCert; restapi.keyfile = certs.clientKey
        #expect(RESTTLSSettings.problem(restapi: restapi)?.hasPrefix("restapi.keyfile does not match restapi.certfile") == true)
        restapi.keyfile = certs.directory + "/nope.key"
        #expect(RESTTLSSettings.problem(restapi: restapi) == "restapi.keyfile '\(certs.directory)/nope.key': no such file")
        restapi.keyfile = certs.serverKey; restapi.cafile = certs.ca; restapi.verifyClient = "required"
        #expect(RESTTLSSettings.problem(restapi: restapi) == nil)
    }

    /// The connection (and its TLS session) is kept alive across health checks: one handshake
    /// for all of them. Counted by curl, not timed (speed is measured by the benchmark).
    @Test("health checks over TLS reuse one kept-alive connection")
    func keepAliveOverTLS() async throws {
        let certs = try await TestCertificates.make()
        defer { certs.remove() }
        var security = RESTSecurity()
        security.tls = Self.tls(certs, verifyClient: .none)
        let server = try await Self.start(port: 29504, security: security)
        defer { Task { await server.shutdown() } }
        let count = 300
        // One curl process, `count` requests (each needs its own -o); per request the status
        // and how many new connections it had to open.
        let urls = (0..<count).flatMap { _ in ["-o", "/dev/null", "https://127.0.0.1:29504/primary"] }
        let result = try await Subprocess.run("/usr/bin/curl", ["-sS", "--cacert", certs.ca, "-w", "%{http_code} %{num_connects}\n"] + urls)
        let lines = result.output.split(separator: "\n").map { $0.split(separator: " ") }
        #expect(lines.count == count && lines.allSatisfy { $0.first == "200" }, "\(result.output.prefix(300))")
        let connects = lines.compactMap { $0.last.flatMap { Int($0) } }.reduce(0, +)
        #expect(connects == 1, "\(count) TLS health checks opened \(connects) connections")
    }
}
