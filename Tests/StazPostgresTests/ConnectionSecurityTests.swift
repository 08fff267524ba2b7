import StazConfig
import Testing
@testable import StazPostgres

/// libpq's rules for one role's TLS settings (ConnectionSecurity) and Patroni's choice of the
/// local address (LocalAddress).
@Suite struct ConnectionSecurityTests {
    func credentials(_ sslmode: String?, _ options: [String: String] = [:]) -> Credentials {
        var c = Credentials(username: "postgres")
        c.sslmode = sslmode
        c.connectionOptions = options
        return c
    }

    func security(_ sslmode: String?, _ options: [String: String] = [:], files: Set<String> = []) -> ConnectionSecurity {
        ConnectionSecurity(credentials(sslmode, options), home: "/home/pg", exists: { files.contains($0) })
    }

    @Test(arguments: [
        (nil as String?, ConnectionSecurity.Mode.prefer),
        ("disable", .disable),
        ("allow", .prefer),
        ("prefer", .prefer),
        ("require", .require(.none)),
        ("verify-ca", .require(.certificateAuthority)),
        ("verify-full", .require(.full)),
    ])
    func modes(sslmode: String?, expected: ConnectionSecurity.Mode) {
        #expect(security(sslmode).mode == expected)
    }

    @Test func requireVerifiesWithARootCertificate() {
        #expect(security("require", ["sslrootcert": "/ca.crt"]).mode == .require(.certificateAuthority))
        // libpq's default root certificate counts when it exists.
        let defaulted = security("require", files: ["/home/pg/.postgresql/root.crt"])
        #expect(defaulted.mode == .require(.certificateAuthority))
        #expect(defaulted.rootCertificate == "/home/pg/.postgresql/root.crt")
    }

    @Test func systemRootsMeanFullVerification() {
        let system = security(nil, ["sslrootcert": "system"])
        #expect(system.mode == .require(.full))
        #expect(system.rootCertificate == nil)
    }

    @Test func clientCertificateFilesAndTheirDefaults() {
        let given = security("verify-ca", ["sslcert": "/c.crt", "sslkey": "/c.key", "sslpassword": "pw", "sslrootcert": "/ca.crt"])
        #expect(given.clientCertificate == "/c.crt" && given.clientKey == "/c.key" && given.keyPassword == "pw")
        let defaults = security("verify-ca", files: ["/home/pg/.postgresql/postgresql.crt", "/home/pg/.postgresql/postgresql.key"])
        #expect(defaults.clientCertificate == "/home/pg/.postgresql/postgresql.crt")
        #expect(defaults.clientKey == "/home/pg/.postgresql/postgresql.key")
        #expect(security("verify-ca").clientCertificate == nil)
    }

    @Test func libpqPairsInAFixedOrderWithDefaults() {
        let pairs = ConnectionSecurity.libpqPairs(
            credentials("verify-ca", ["sslrootcert": "/ca.crt", "sslcert": "/c.crt", "sslkey": "/c.key"]),
            defaults: [("sslmode", "prefer"), ("gssencmode", "prefer")])
        #expect(pairs.map { "\($0.0)=\($0.1)" } == ["sslmode=verify-ca", "sslcert=/c.crt", "sslkey=/c.key",
                                                   "sslrootcert=/ca.crt", "gssencmode=prefer"])
        #expect(ConnectionSecurity.libpqPairs(credentials(nil)).isEmpty)
    }

    @Test func primaryConninfoCarriesTheReplicationRolesSettings() {
        let conninfo = ConfigRendering.primaryConninfo(
            upstream: UpstreamTarget(host: "h", port: 1, memberName: "x"),
            replication: credentials("verify-ca", ["sslrootcert": "/ca.crt", "channel_binding": "require"]),
            passfile: "/p", applicationName: "m", serverMajorVersion: 15)
        #expect(conninfo == "user=postgres passfile=/p host=h port=1 sslmode=verify-ca sslrootcert=/ca.crt "
                + "application_name=m gssencmode=prefer channel_binding=require")
    }

    @Test func whatOwnConnectionsCannotHonour() {
        let refused = credentials("verify-ca", ["sslcrl": "/crl", "channel_binding": "require", "gssencmode": "prefer"])
            .optionsOwnConnectionsCannotHonour()
        #expect(refused.map(\.key) == ["sslcrl", "channel_binding"])
        #expect(credentials("require", ["channel_binding": "prefer"]).optionsOwnConnectionsCannotHonour().isEmpty)
    }

    @Test(arguments: [
        (false, "/tmp" as String?, nil as String?),
        (true, "/tmp", "/tmp/.s.PGSQL.5433"),
        (true, "@abstract, /var/run/pg , /tmp", "/var/run/pg/.s.PGSQL.5433"),
        (true, "..", nil),  // only an absolute directory can be connected to: TCP
        (true, nil, "/var/run/postgresql/.s.PGSQL.5433"),  // libpq's default directory
    ])
    func localUnixSocket(use: Bool, directories: String?, expected: String?) {
        #expect(LocalAddress.unixSocket(useUnixSocket: use, socketDirectories: directories, port: 5433) == expected)
    }
}
