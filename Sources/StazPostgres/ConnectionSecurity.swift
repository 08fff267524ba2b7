import Foundation
import StazConfig

/// How a connection made with one role's settings (`postgresql.authentication.<role>`:
/// `sslmode`, `sslrootcert`, `sslcert`, `sslkey`, `sslpassword`) secures itself, by libpq's
/// rules, so staz's own SQL connections (PostgresNIO) behave as Patroni's (psycopg, libpq) do.
/// Pure: the files are only named here; `ConnectionSecurity+TLS` loads them.
public struct ConnectionSecurity: Sendable, Equatable {
    public enum Verification: Sendable, Equatable {
        /// Encrypted, the server's certificate not checked (`require` without a root certificate).
        case none
        /// The server's certificate signed by the root certificate (`verify-ca`).
        case certificateAuthority
        /// ... and naming the host connected to (`verify-full`).
        case full
    }

    public enum Mode: Sendable, Equatable {
        case disable
        /// TLS when the server offers it, plain otherwise, certificate not checked (libpq's
        /// default `prefer`; `allow` too, which tries plain first: the outcome is the same
        /// against a server that accepts both).
        case prefer
        case require(Verification)
    }

    public var mode: Mode
    /// `sslrootcert`: a PEM file, or nil for the system's trust roots (`sslrootcert=system`).
    public var rootCertificate: String?
    public var clientCertificate: String?
    public var clientKey: String?
    public var keyPassword: String?

    /// libpq's behaviour with nothing configured: `prefer`, no certificates.
    public static let libpqDefault = ConnectionSecurity(mode: .prefer)

    public init(mode: Mode, rootCertificate: String? = nil, clientCertificate: String? = nil,
                clientKey: String? = nil, keyPassword: String? = nil) {
        self.mode = mode; self.rootCertificate = rootCertificate; self.clientCertificate = clientCertificate
        self.clientKey = clientKey; self.keyPassword = keyPassword
    }

    /// libpq's defaults for files not named: `~/.postgresql/root.crt`, `postgresql.crt` and
    /// `postgresql.key` of the running user, used when they exist. `exists` is injected for tests.
    public init(_ credentials: Credentials, home: String, exists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }) {
        let options = credentials.connectionOptions
        func file(_ key: String, default name: String) -> String? {
            if let given = options[key], !given.isEmpty { return given }
            let path = (home as NSString).appendingPathComponent(".postgresql/\(name)")
            return exists(path) ? path : nil
        }
        let systemRoots = options["sslrootcert"] == "system"
        let root = systemRoots ? nil : file("sslrootcert", default: "root.crt")
        rootCertificate = root
        clientCertificate = file("sslcert", default: "postgresql.crt")
        clientKey = file("sslkey", default: "postgresql.key")
        keyPassword = options["sslpassword"]
        switch credentials.sslmode ?? (systemRoots ? "verify-full" : "prefer") {
        case "disable": mode = .disable
        case "allow", "prefer": mode = .prefer
        // libpq: with a root certificate file present, `require` verifies like `verify-ca`.
        case "require": mode = .require(root != nil || systemRoots ? .certificateAuthority : .none)
        case "verify-ca": mode = .require(.certificateAuthority)
        default: mode = .require(.full)
        }
    }

    /// The role's TLS settings as libpq connection-string pairs, for the tools staz runs
    /// (pg_basebackup, pg_rewind, the walreceiver's `primary_conninfo`): every option given, in
    /// a fixed order, with `defaults` for those not given.
    public static func libpqPairs(_ credentials: Credentials, defaults: [(String, String)] = []) -> [(String, String)] {
        var given = credentials.connectionOptions
        if let mode = credentials.sslmode { given["sslmode"] = mode }
        var pairs: [(String, String)] = []
        for key in libpqKeyOrder {
            if let value = given[key] {
                pairs.append((key, value))
            } else if let fallback = defaults.first(where: { $0.0 == key }) {
                pairs.append(fallback)
            }
        }
        return pairs
    }

    /// The superuser's settings: staz's own connections (local over TCP, and to the leader).
    public static func superuser(of section: PostgreSQLSection) -> ConnectionSecurity {
        ConnectionSecurity(section.superuser, home: ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory())
    }

    static let libpqKeyOrder = ["sslmode", "sslcert", "sslkey", "sslpassword", "sslrootcert", "sslcrl", "sslcrldir",
                                "sslnegotiation", "gssencmode", "channel_binding"]
}

/// Where staz's own connections to the local server go: Patroni's `use_unix_socket` picks the
/// first absolute directory of `unix_socket_directories`, or libpq's default directory when
/// that parameter is not set; TCP otherwise, or when no listed directory is absolute.
public enum LocalAddress {
    /// Debian's (and PostgreSQL's usual packaged) default socket directory.
    public static let defaultSocketDirectory = "/var/run/postgresql"

    /// The local socket file for `section`, or nil for TCP.
    public static func unixSocket(of section: PostgreSQLSection) -> String? {
        var directories: String?
        if case .string(let text)? = section.parameters["unix_socket_directories"] { directories = text }
        return unixSocket(useUnixSocket: section.useUnixSocket, socketDirectories: directories, port: section.port)
    }

    /// The socket file to use, or nil for TCP.
    public static func unixSocket(useUnixSocket: Bool, socketDirectories: String?, port: Int) -> String? {
        guard useUnixSocket else { return nil }
        let directory: String
        if let socketDirectories {
            let absolute = socketDirectories.split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.hasPrefix("/") }
            guard let absolute else { return nil }
            directory = absolute
        } else {
            directory = defaultSocketDirectory
        }
        return (directory as NSString).appendingPathComponent(".s.PGSQL.\(port)")
    }
}
