import Foundation
import StazConfig
import StazCore
import Testing
@testable import StazAPI

@Suite("REST access control")
struct AccessControlTests {
    @Test("CIDR and single-address matching", arguments: [
        ("10.0.0.0/8", "10.200.3.4", true),
        ("10.0.0.0/8", "11.0.0.1", false),
        ("192.168.1.77/24", "192.168.1.1", true),      // host bits ignored (strict=False)
        ("192.168.1.0/25", "192.168.1.200", false),
        ("127.0.0.1", "127.0.0.1", true),
        ("127.0.0.1", "127.0.0.2", false),
        ("0.0.0.0/0", "203.0.113.9", true),
        ("2001:db8::/32", "2001:db8:1::5", true),
        ("2001:db8::/32", "2001:db9::1", false),
        ("::1", "::1", true),
        ("10.0.0.0/8", "::ffff:10.1.1.1", true),        // IPv4 client seen through a dual-stack socket
        ("::/0", "10.1.1.1", false),                   // families never match each other
    ])
    func cidrMatching(network: String, client: String, expected: Bool) throws {
        let parsed = try IPNetwork(parsing: network)
        let address = try #require(IPAddress(client))
        #expect(parsed.contains(address) == expected)
    }

    @Test("bad allowlist entries are refused with the entry named", arguments: ["10.0.0.0/33", "300.1.1.1/8", "abc/8", "::1/129"])
    func invalidNetworks(entry: String) {
        #expect(throws: IPNetwork.ParseError.invalid(entry)) { _ = try IPNetwork(parsing: entry) }
    }

    @Test func ipv4MappedAddressesBecomeIPv4() throws {
        let mapped = try #require(IPAddress("::ffff:192.0.2.1"))
        #expect(mapped.isIPv4)
        #expect(mapped.description == "192.0.2.1")
        #expect(IPAddress("not-an-ip") == nil)
    }

    @Test("host of a member api_url", arguments: [
        ("http://10.0.0.1:8008/patroni", "10.0.0.1"),
        ("https://node-a.example:8443/patroni", "node-a.example"),
        ("https://[fd00::5]:8008/patroni", "fd00::5"),
        ("http://user:pw@db1/patroni", "db1"),
    ])
    func apiURLHost(url: String, host: String) {
        #expect(HostResolver.host(ofURL: url) == host)
    }

    @Test func configurationBuildsAllowlistAuthAndTLS() {
        var restapi = RestAPISection(listen: "127.0.0.1:8008", connectAddress: "127.0.0.1:8008")
        restapi.allowlist = ["10.0.0.0/8", "db.internal", "10.0.0.0/99", "nowhere.invalid"]
        restapi.username = "admin"; restapi.password = "s3cret"
        restapi.certfile = "/etc/ssl/api.pem"; restapi.verifyClient = "optional"
        let security = RESTSecurity(restapi: restapi) { host in host == "db.internal" ? [IPAddress("192.0.2.10")!] : [] }
        #expect(security.allowlist.map(\.description) == ["10.0.0.0/8", "192.0.2.10/32"])
        #expect(security.problems.count == 2)
        #expect(security.problems.contains { $0.contains("10.0.0.0/99") })
        #expect(security.problems.contains { $0.contains("nowhere.invalid") })
        #expect(security.basicAuthKey == Data("admin:s3cret".utf8).base64EncodedString())
        #expect(security.tls == RESTTLSSettings(certfile: "/etc/ssl/api.pem", verifyClient: .optional))
        #expect(security.scheme == "https")
        #expect(RESTSecurity.none.scheme == "http")
        // Username without password: Patroni builds no auth key, so nothing is authenticated.
        restapi.password = nil
        #expect(RESTSecurity(restapi: restapi) { _ in [] }.basicAuthKey == nil)
    }

    static func security(allowlist: [String] = [], includeMembers: Bool = false, auth: Bool = false,
                         verifyClient: ClientCertificateMode? = nil) -> RESTSecurity {
        var s = RESTSecurity()
        s.allowlist = allowlist.map { try! IPNetwork(parsing: $0) }
        s.allowlistIncludeMembers = includeMembers
        if auth { s.basicAuthKey = Data("admin:s3cret".utf8).base64EncodedString() }
        if let verifyClient { s.tls = RESTTLSSettings(certfile: "x", verifyClient: verifyClient) }
        return s
    }

    static let goodAuth = "Basic " + Data("admin:s3cret".utf8).base64EncodedString()
    static let badAuth = "Basic " + Data("admin:guess".utf8).base64EncodedString()

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var security: RESTSecurity
        var client: String = "127.0.0.1"
        var certificate = false
        var authorization: String? = nil
        var members: [String] = []
        var scope: AccessCheckScope = .full
        /// nil = allowed; else status and body.
        var expected: (Int, String)?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "nothing configured", security: .none, expected: nil),
        Case(name: "allowlisted network", security: security(allowlist: ["127.0.0.0/8"]), expected: nil),
        Case(name: "outside the allowlist", security: security(allowlist: ["10.0.0.0/8"]), expected: (403, "Access is denied")),
        Case(name: "member address allowed", security: security(includeMembers: true), client: "10.0.0.7",
             members: ["10.0.0.7"], expected: nil),
        Case(name: "not a member", security: security(includeMembers: true), client: "10.0.0.8",
             members: ["10.0.0.7"], expected: (403, "Access is denied")),
        Case(name: "members or allowlist", security: security(allowlist: ["192.0.2.0/24"], includeMembers: true),
             client: "192.0.2.5", members: ["10.0.0.7"], expected: nil),
        Case(name: "failsafe skips the members check", security: security(includeMembers: true), client: "10.0.0.8",
             members: ["10.0.0.7"], scope: .skipMembers, expected: nil),
        Case(name: "failsafe still applies the allowlist", security: security(allowlist: ["10.1.0.0/16"], includeMembers: true),
             client: "10.0.0.7", members: ["10.0.0.7"], scope: .skipMembers, expected: (403, "Access is denied")),
        Case(name: "mpp is never checked", security: security(allowlist: ["10.0.0.0/8"], auth: true), scope: .unchecked,
             expected: nil),
        Case(name: "client certificate required", security: security(verifyClient: .required), expected: (403, "client certificate required")),
        Case(name: "client certificate optional but needed for unsafe calls", security: security(verifyClient: .optional),
             expected: (403, "client certificate required")),
        Case(name: "client certificate present", security: security(verifyClient: .optional), certificate: true, expected: nil),
        Case(name: "verify_client none", security: security(verifyClient: ClientCertificateMode.none), expected: nil),
        Case(name: "no auth header", security: security(auth: true), expected: (401, "no auth header received")),
        Case(name: "wrong password", security: security(auth: true), authorization: badAuth, expected: (401, "not authenticated")),
        Case(name: "not basic", security: security(auth: true), authorization: "Bearer abc", expected: (401, "not authenticated")),
        Case(name: "lower-case scheme", security: security(auth: true), authorization: goodAuth.lowercased(),
             expected: (401, "not authenticated")),
        Case(name: "right password", security: security(auth: true), authorization: goodAuth, expected: nil),
        // Patroni's order: the allowlist first, then the certificate, then the password.
        Case(name: "allowlist before auth", security: security(allowlist: ["10.0.0.0/8"], auth: true), authorization: badAuth,
             expected: (403, "Access is denied")),
        Case(name: "certificate before auth", security: security(auth: true, verifyClient: .required), authorization: badAuth,
             expected: (403, "client certificate required")),
        Case(name: "all checks pass", security: security(allowlist: ["127.0.0.1"], auth: true, verifyClient: .required),
             certificate: true, authorization: goodAuth, expected: nil),
    ]

    @Test("access decisions", arguments: cases)
    func decision(_ c: Case) {
        let request = AccessRequest(clientAddress: IPAddress(c.client), hasClientCertificate: c.certificate,
                                    authorization: c.authorization)
        let response = c.security.denial(for: request, memberAddresses: c.members.compactMap(IPAddress.init), scope: c.scope)
        guard let (status, body) = c.expected else {
            #expect(response == nil)
            return
        }
        #expect(response?.status.code == UInt(status))
        #expect(response?.body.map { String(buffer: $0) } == body)
        #expect(response?.contentType == "text/html")
        let challenge = response?.extraHeaders.first { $0.0 == "WWW-Authenticate" }?.1
        #expect(challenge == (status == 401 ? "Basic realm=\"Patroni\"" : nil))
    }

    @Test func routeScopes() {
        #expect(AccessCheckScope.forRoute(method: "POST", firstSegment: "mpp") == .unchecked)
        #expect(AccessCheckScope.forRoute(method: "POST", firstSegment: "failsafe") == .skipMembers)
        #expect(AccessCheckScope.forRoute(method: "POST", firstSegment: "citus") == .full)
        #expect(AccessCheckScope.forRoute(method: "PATCH", firstSegment: "config") == .full)
    }

    @Test func constantTimeComparison() {
        #expect(RESTSecurity.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!RESTSecurity.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!RESTSecurity.constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!RESTSecurity.constantTimeEqual([], Array("a".utf8)))
        #expect(RESTSecurity.constantTimeEqual([], []))
    }

    @Test func memberAddressesComeFromAPIURLs() {
        let view = ClusterView(members: [
            Member(name: "a", data: obj(["api_url": "http://10.0.0.1:8008/patroni"])),
            Member(name: "b", data: obj(["api_url": "https://node-b:8008/patroni"])),
            Member(name: "c", data: obj(["conn_url": "postgres://10.0.0.3:5432/postgres"])),
        ])
        let addresses = RESTSecurity.memberAddresses(view) { host in
            host == "node-b" ? [IPAddress("10.0.0.2")!] : HostResolver.addresses(of: host)
        }
        #expect(addresses.map(\.description) == ["10.0.0.1", "10.0.0.2"])
        #expect(RESTSecurity.memberAddresses(nil).isEmpty)
    }

    @Test func resolverHandlesLiteralsAndLocalhost() {
        #expect(HostResolver.addresses(of: "192.0.2.4").map(\.description) == ["192.0.2.4"])
        #expect(HostResolver.addresses(of: "[::1]").map(\.description) == ["::1"])
        #expect(HostResolver.addresses(of: "localhost").contains(IPAddress("127.0.0.1")!))
        #expect(HostResolver.addresses(of: "no-such-host.invalid").isEmpty)
    }
}
