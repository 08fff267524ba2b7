import AsyncHTTPClient
import Foundation
import Logging
import NIOSSL
import StazConfig
import StazCore
import Testing
@testable import StazDCS

/// TLS towards etcd (`cacert`/`cert`/`key`, https endpoints) against a real etcd that demands
/// client certificates, and the member/stazctl REST client TLS settings. Ports 29510–29511.
@Suite("TLS for etcd and member REST clients", .serialized)
struct TLSEtcdTests {
    static let logger = Logger(label: "test.dcs.tls")

    @Test("etcd v3 and v2 over https with a client certificate; without one etcd refuses")
    func etcdWithClientCertificates() async throws {
        let certs = try await DCSTestCertificates.make()
        defer { certs.remove() }
        let etcd = try await TLSEtcd.start(certs: certs, clientPort: 29510)
        defer { etcd.stop() }
        var section = EtcdSection(endpoints: ["https://127.0.0.1:29510"])
        section.protocolScheme = "https"
        section.cacert = certs.ca; section.cert = certs.clientCert; section.key = certs.clientKey
        let tls = try makeEtcdTLSConfiguration(section)
        let prefix = "/service/tls-\(UUID().uuidString.prefix(8).lowercased())/"

        let v3 = EtcdV3Client(endpoints: section.endpoints, prefix: prefix, memberName: "node-a", retryTimeout: 3,
                              logger: Self.logger, tls: tls)
        let v2 = EtcdV2Client(endpoints: section.endpoints, prefix: prefix + "v2/", memberName: "node-b", retryTimeout: 3,
                              logger: Self.logger, tls: tls)
        var withoutCertificate = section
        withoutCertificate.cert = nil; withoutCertificate.key = nil
        let anonymous = EtcdV3Client(endpoints: section.endpoints, prefix: prefix, memberName: nil, retryTimeout: 1,
                                     logger: Self.logger, tls: try makeEtcdTLSConfiguration(withoutCertificate))
        let untrusting = EtcdV3Client(endpoints: section.endpoints, prefix: prefix, memberName: nil, retryTimeout: 1,
                                      logger: Self.logger)
        defer { Task { for client in [v3, anonymous, untrusting] as [DCSClient] + [v2] { await client.close() } } }

        #expect(try await v3.attemptToAcquireLeader())
        #expect(try await v3.loadCluster(fresh: true).leader?.name == "node-a")
        #expect(try await v2.attemptToAcquireLeader())
        #expect(try await v2.loadCluster(fresh: true).leader?.name == "node-b")
        await #expect(throws: DCSError.self) { _ = try await anonymous.loadCluster(fresh: true) }
        await #expect(throws: DCSError.self) { _ = try await untrusting.loadCluster(fresh: true) }

        // The factory reads the same keys from the configuration.
        var configuration = StazConfiguration.forTests(scope: "tls-factory")
        configuration.etcd3 = section
        let fromFactory = makeDCSClient(configuration: configuration, memberName: nil, logger: Self.logger)
        defer { Task { await fromFactory.close() } }
        _ = try await fromFactory.loadCluster(fresh: true)
    }

    @Test("member REST client: ctl.cacert or restapi.cafile, ctl client certificate, insecure")
    func peerClientConfiguration() async throws {
        let certs = try await DCSTestCertificates.make()
        defer { certs.remove() }
        var restapi = RestAPISection(listen: "127.0.0.1:8008", connectAddress: "127.0.0.1:8008")
        var ctl = CtlSection()
        #expect(try makePeerTLSConfiguration(restapi: restapi, ctl: ctl) == nil)

        restapi.cafile = certs.ca
        let fromRestAPI = try #require(try makePeerTLSConfiguration(restapi: restapi, ctl: ctl))
        #expect(fromRestAPI.trustRoots == .certificates(try NIOSSLCertificate.fromPEMFile(certs.ca)))
        #expect(fromRestAPI.certificateVerification == .fullVerification)
        ctl.cacert = certs.clientCert  // any PEM certificate: checks that ctl.cacert wins
        #expect(try makePeerTLSConfiguration(restapi: restapi, ctl: ctl)?.trustRoots
                == .certificates(try NIOSSLCertificate.fromPEMFile(certs.clientCert)))
        ctl.cacert = nil

        ctl.insecure = true
        #expect(try makePeerTLSConfiguration(restapi: restapi, ctl: ctl)?.certificateVerification == CertificateVerification.none)
        ctl.certfile = certs.clientCert; ctl.keyfile = certs.clientKey
        // Patroni with a client certificate and insecure: chain still checked, host name not.
        #expect(try makePeerTLSConfiguration(restapi: restapi, ctl: ctl)?.certificateVerification == .noHostnameVerification)
        ctl.insecure = false

        ctl.keyfile = certs.directory + "/missing.key"
        #expect(throws: TLSFileError(key: "ctl.keyfile", path: ctl.keyfile!, reason: "no such file")) {
            _ = try makePeerTLSConfiguration(restapi: restapi, ctl: ctl)
        }
        ctl.keyfile = certs.clientKey

        // Against a server that requires client certificates (etcd stands in for a member API).
        let etcd = try await TLSEtcd.start(certs: certs, clientPort: 29510)
        defer { etcd.stop() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                configuration: makePeerHTTPClientConfiguration(restapi: restapi, ctl: ctl))
        defer { _ = client.shutdown() }
        let response = try await client.execute(HTTPClientRequest(url: "https://127.0.0.1:29510/version"), timeout: .seconds(5))
        #expect(response.status == .ok)

        var noCertificate = CtlSection()
        noCertificate.cacert = certs.ca
        let refused = HTTPClient(eventLoopGroupProvider: .singleton,
                                 configuration: makePeerHTTPClientConfiguration(restapi: restapi, ctl: noCertificate))
        defer { _ = refused.shutdown() }
        await #expect(throws: (any Error).self) {
            _ = try await refused.execute(HTTPClientRequest(url: "https://127.0.0.1:29510/version"), timeout: .seconds(5))
        }
    }
}

extension StazConfiguration {
    static func forTests(scope: String) -> StazConfiguration {
        var configuration = StazConfiguration(
            scope: scope, name: "test",
            restapi: RestAPISection(listen: "127.0.0.1:8008", connectAddress: "127.0.0.1:8008"),
            postgresql: PostgreSQLSection(listen: "127.0.0.1:5432", connectAddress: "127.0.0.1:5432", dataDir: "/tmp/x",
                                          pgpass: "/tmp/pgpass", superuser: Credentials(username: "postgres"),
                                          replication: Credentials(username: "replicator")))
        configuration.bootstrap.dcs = JSONObject([("retry_timeout", .int(3))])
        return configuration
    }
}
