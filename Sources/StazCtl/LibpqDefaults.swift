import Foundation
import StazConfig
import StazPostgres

/// What libpq fills in for a connection patronictl makes with only host, port and the
/// `-U`/`-d`/`--password` options: user, database, password and TLS from the environment
/// (`PGUSER`, `PGDATABASE`, `PGPASSWORD`, `PGPASSFILE`, `PGSSLMODE`, ...), the password file
/// and `~/.postgresql`. stazctl connects with PostgresNIO, which reads none of them itself.
struct LibpqDefaults {
    var environment: [String: String]
    var home: String
    var osUser: String
    var readFile: (String) -> String?
    /// Whether a file's mode lets group or others read it (libpq then ignores a password file).
    var isGroupOrWorldReadable: (String) -> Bool

    static var current: LibpqDefaults {
        let env = ProcessInfo.processInfo.environment
        return LibpqDefaults(
            environment: env, home: env["HOME"] ?? NSHomeDirectory(), osUser: NSUserName(),
            readFile: { try? String(contentsOfFile: $0, encoding: .utf8) },
            isGroupOrWorldReadable: { path in
                guard let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int else { return false }
                return mode & 0o077 != 0
            })
    }

    func user(_ given: String?) -> String { nonEmpty(given) ?? nonEmpty(environment["PGUSER"]) ?? osUser }

    func database(_ given: String?, user: String) -> String { nonEmpty(given) ?? nonEmpty(environment["PGDATABASE"]) ?? user }

    /// The password given, else `PGPASSWORD`, else the first matching password-file line.
    func password(_ given: String?, host: String, port: Int, database: String, user: String) -> String? {
        if let given { return given }
        if let fromEnvironment = environment["PGPASSWORD"] { return fromEnvironment }
        let path = nonEmpty(environment["PGPASSFILE"]) ?? (home as NSString).appendingPathComponent(".pgpass")
        guard let text = readFile(path), !isGroupOrWorldReadable(path) else { return nil }
        return Self.passwordFileMatch(text, host: host, port: port, database: database, user: user)
    }

    /// libpq's password file: `host:port:database:user:password` lines, `*` matching anything,
    /// `\:` and `\\` escaped, `#` starting a comment line; the first match wins.
    static func passwordFileMatch(_ text: String, host: String, port: Int, database: String, user: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            var fields: [String] = [], field = "", escaped = false
            for character in line {
                if escaped { field.append(character); escaped = false } else if character == "\\" { escaped = true } else if character == ":" && fields.count < 4 { fields.append(field); field = "" } else { field.append(character) }
            }
            fields.append(field)
            guard fields.count == 5 else { continue }
            let wanted = [host, String(port), database, user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    /// TLS by `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY` and libpq's default files.
    func security(user: String) -> ConnectionSecurity {
        var credentials = Credentials(username: user)
        credentials.sslmode = nonEmpty(environment["PGSSLMODE"])
        for (variable, key) in [("PGSSLROOTCERT", "sslrootcert"), ("PGSSLCERT", "sslcert"), ("PGSSLKEY", "sslkey")] {
            if let value = nonEmpty(environment[variable]) { credentials.connectionOptions[key] = value }
        }
        return ConnectionSecurity(credentials, home: home)
    }

    private func nonEmpty(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }
}
