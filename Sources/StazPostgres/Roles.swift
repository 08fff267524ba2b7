import Foundation
import StazConfig
import StazCore

public enum RoleSQL {
    /// Patroni's create-or-alter DO block. The password is an inline literal (DO blocks take no
    /// parameters), so statement logging is switched off around it by the caller.
    public static func createOrUpdate(role: String, password: String?, options: [String]) -> String {
        var attributes = options
        if let password { attributes.append("PASSWORD \(sqlLiteral(password))") }
        let withClause = attributes.isEmpty ? "" : " WITH " + attributes.joined(separator: " ")
        let ident = sqlIdentifier(role)
        return """
        DO $staz$
        BEGIN
            SET local synchronous_commit = 'local';
            PERFORM * FROM pg_catalog.pg_authid WHERE rolname = \(sqlLiteral(role));
            IF FOUND THEN
                ALTER ROLE \(ident)\(withClause);
            ELSE
                CREATE ROLE \(ident)\(withClause);
            END IF;
        END;$staz$
        """
    }

    /// EXECUTE grants a non-superuser needs to run pg_rewind against us.
    public static func rewindGrants(role: String) -> [String] {
        let ident = sqlIdentifier(role)
        return [
            "pg_catalog.pg_ls_dir(text, boolean, boolean)", "pg_catalog.pg_stat_file(text, boolean)",
            "pg_catalog.pg_read_binary_file(text)", "pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)",
        ].map { "GRANT EXECUTE ON FUNCTION \($0) TO \(ident)" }
    }
}

extension PostgresController {
    /// After bootstrap: superuser (password), replication user (REPLICATION LOGIN) and the rewind
    /// user (LOGIN + function grants) when it differs from the superuser. Runs with
    /// `synchronous_commit = local` and statement logging off (passwords are inline).
    public func createRoles() async throws {
        var statements = ["SET synchronous_commit = 'local'", "SET log_statement = 'none'",
                          "SET log_min_duration_statement = -1", "SET log_min_error_statement = 'log'"]
        let su = section.superuser, repl = section.replication
        statements.append(RoleSQL.createOrUpdate(role: su.username, password: su.password, options: ["SUPERUSER", "LOGIN"]))
        if repl.username != su.username {
            statements.append(RoleSQL.createOrUpdate(role: repl.username, password: repl.password, options: ["REPLICATION", "LOGIN"]))
        }
        if let rewind = section.rewind, rewind.username != su.username {
            statements.append(RoleSQL.createOrUpdate(role: rewind.username, password: rewind.password, options: ["LOGIN"]))
            statements += RoleSQL.rewindGrants(role: rewind.username)
        }
        do {
            _ = try await Self.queryOnce(localEndpoint, statements, timeout: 30, logger: logger)
        } catch {
            throw PostgresControlError.queryFailed("creating roles: \(Self.describe(error))")
        }
        logger.info("roles created/updated")
    }

    /// Runs `bootstrap.post_bootstrap` through /bin/sh with one argument: a libpq DSN to the local
    /// server without password (PGPASSFILE supplies it). Non-zero exit throws.
    public func runPostBootstrap(script: String) async throws {
        let local = localEndpoint
        try await writePgpass(extra: [localSuperuserPgpass])
        // libpq takes a socket's directory as its host.
        let host = local.unixSocket.map { ($0 as NSString).deletingLastPathComponent } ?? local.host
        let dsn = ConfigRendering.conninfo([("dbname", "postgres"), ("user", local.user), ("host", host), ("port", String(local.port))]
                                           + (local.unixSocket == nil ? ConnectionSecurity.libpqPairs(section.superuser) : []))
        let env = ProcessRunner.environment(adding: [
            "PGPASSFILE": section.pgpass, "PGOPTIONS": "-c synchronous_commit=local -c statement_timeout=0",
        ], cLocale: false)
        logger.info("running post_bootstrap script")
        try await ProcessRunner.runChecked("/bin/sh", ["-c", script + " \"$1\"", "post_bootstrap", dsn],
                                           environment: env, logger: logger)
    }
}
