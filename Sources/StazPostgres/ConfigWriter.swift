import Foundation
import StazConcurrency
import StazCore

/// Writes `contents` to `path` atomically (temp file in the same directory, then rename) with
/// `mode` set before any byte is written, so secrets are never briefly world-readable. Runs
/// off the event loops: it waits for fsync.
func writeFileAtomically(_ path: String, contents: String, mode: mode_t = 0o600) async throws {
    try await BlockingCalls.perform { try writeFileNow(path, contents: contents, mode: mode) }
}

private func writeFileNow(_ path: String, contents: String, mode: mode_t) throws {
    let temp = path + ".staz-tmp"
    unlink(temp)
    let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, mode)
    guard fd >= 0 else { throw POSIXFileError(path: temp, operation: "create", code: errno) }
    let bytes = Array(contents.utf8)
    var written = 0
    while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            let code = errno
            close(fd); unlink(temp)
            throw POSIXFileError(path: temp, operation: "write", code: code)
        }
        written += n
    }
    fchmod(fd, mode)
    fsync(fd)
    close(fd)
    guard rename(temp, path) == 0 else {
        let code = errno
        unlink(temp)
        throw POSIXFileError(path: path, operation: "rename into place", code: code)
    }
}

public struct POSIXFileError: Error, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var code: Int32
    public var description: String { "cannot \(operation) \(path): \(String(cString: strerror(code)))" }
}

extension PostgresController {
    /// Regenerates postgresql.conf (Patroni's scheme: the original is kept as
    /// postgresql.base.conf and included), pg_hba.conf when `hba` is given, pg_ident.conf when
    /// configured, the standby/recovery signal files and the pgpass line for `primary_conninfo`.
    /// `recovery == nil` configures a primary.
    public func writeConfiguration(parameters: JSONObject, hba: [String]?, recovery: RecoveryConfiguration?) async throws {
        guard !isDataDirectoryEmpty() else {
            throw PostgresControlError.invalidDataDirectory("\(dataDirectory) is not initialised")
        }
        try await preserveBaseConfiguration()
        let major = dataDirectoryMajorVersion() ?? 15

        var params: [(String, String)] = parameters.pairs.compactMap { name, value in
            ConfigRendering.parameterText(value).map { (name, $0) }
        }
        let given = Set(params.map(\.0))
        if !given.contains("listen_addresses") { params.append(("listen_addresses", section.listenHosts)) }
        if !given.contains("port") { params.append(("port", String(section.port))) }
        if !given.contains("cluster_name") { params.append(("cluster_name", scope)) }

        var recoveryBlock: [(String, String)]?
        if let recovery {
            recoveryBlock = ConfigRendering.recoveryParameters(
                recovery, replication: section.replication, passfile: section.pgpass,
                memberName: memberName, serverMajorVersion: major, user: recoveryConfPairs + params)
            replicationPgpassEntry = recovery.upstream.map { pgpassEntry($0, credentials: section.replication) }
        } else {
            replicationPgpassEntry = nil
            if case .parameters(let bootstrap, _) = bootstrapRecovery { recoveryBlock = bootstrap }
        }
        let conf = ConfigRendering.postgresqlConf(
            parameters: params, hbaFile: configPath("pg_hba.conf"), identFile: configPath("pg_ident.conf"),
            recovery: recoveryBlock)
        try await writeFileAtomically(configPath("postgresql.conf"), contents: conf)

        if let hba { try await writeFileAtomically(configPath("pg_hba.conf"), contents: ConfigRendering.hbaFile(hba)) }
        if let ident = section.pgIdent {
            try await writeFileAtomically(configPath("pg_ident.conf"), contents: ConfigRendering.hbaFile(ident))
        }
        switch (recovery, bootstrapRecovery) {
        case (nil, .keepExisting?):
            break
        case (nil, .parameters(_, let standby)?):
            try await sanitizeAutoConf()
            try await writeFileAtomically(dataPath(standby ? "standby.signal" : "recovery.signal"), contents: "")
        default:
            try await sanitizeAutoConf()
            try await writeRecoverySignal(standby: recovery != nil)
        }
        if recovery?.upstream != nil { try await writePgpass(extra: []) }
    }

    /// `postgresql.recovery_conf` as parameter text; listed first, so it wins over `parameters`.
    nonisolated var recoveryConfPairs: [(String, String)] {
        section.recoveryConf?.pairs.compactMap { name, value in ConfigRendering.parameterText(value).map { (name, $0) } } ?? []
    }

    /// First write: the user's postgresql.conf becomes postgresql.base.conf. An existing base
    /// file (already moved, or copied by pg_basebackup) is never overwritten.
    nonisolated func preserveBaseConfiguration() async throws {
        let fm = FileManager.default
        let base = configPath(ConfigRendering.baseConfigName), conf = configPath("postgresql.conf")
        guard !fm.fileExists(atPath: base) else { return }
        if fm.fileExists(atPath: conf) {
            try fm.moveItem(atPath: conf, toPath: base)
        } else {
            try await writeFileAtomically(base, contents: "")
        }
    }

    nonisolated func sanitizeAutoConf() async throws {
        let path = dataPath("postgresql.auto.conf")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let cleaned = ConfigRendering.sanitizedAutoConf(text) else { return }
        try await writeFileAtomically(path, contents: cleaned)
    }

    /// standby.signal for a standby; a primary has neither standby.signal nor recovery.signal.
    nonisolated func writeRecoverySignal(standby: Bool) async throws {
        if standby {
            try await writeFileAtomically(dataPath("standby.signal"), contents: "")
        } else {
            for name in ["standby.signal", "recovery.signal"] where FileManager.default.fileExists(atPath: dataPath(name)) {
                try FileManager.default.removeItem(atPath: dataPath(name))
            }
        }
    }

    /// Rewrites the pgpass file (mode 0600): `extra` first (the current operation's credentials),
    /// then the line `primary_conninfo` needs.
    func writePgpass(extra: [PgpassEntry]) async throws {
        let entries = extra + (replicationPgpassEntry.map { [$0] } ?? [])
        try await writeFileAtomically(section.pgpass, contents: ConfigRendering.pgpass(entries))
    }

    /// pgpass entry for the local superuser (post_bootstrap, local tools).
    nonisolated var localSuperuserPgpass: PgpassEntry {
        PgpassEntry(host: localEndpoint.host, port: section.port, user: section.superuser.username,
                    password: section.superuser.password ?? "")
    }
}

extension PostgresController {
    /// Writes a file of ours into the data directory, atomically, readable by its owner only.
    public nonisolated func writeDataFile(_ name: String, contents: String) async throws {
        try await writeFileAtomically(dataPath(name), contents: contents)
    }
}
