import Foundation

extension ConfigLoader {
    /// What the daemon would fail on at start on this machine, by key: TLS files of the REST
    /// API (when `restapi.certfile` turns TLS on; without it the others are unused) and of
    /// the DCS connection that are missing or unreadable, a data directory PostgreSQL could
    /// not use, and a `log.dir` the log file could not be written in. Not part of `load`,
    /// which must not depend on the machine it runs on.
    public static func fileIssues(_ config: StazConfiguration) -> [ConfigIssue] {
        var files: [(String, String?)] = []
        if let certfile = config.restapi.certfile, !certfile.isEmpty {
            files += [("restapi.certfile", certfile), ("restapi.keyfile", config.restapi.keyfile),
                      ("restapi.cafile", config.restapi.cafile)]
        }
        if let (api, etcd) = config.dcs {
            let section = api == .v3 ? "etcd3" : "etcd"
            files += [("\(section).cacert", etcd.cacert), ("\(section).cert", etcd.cert), ("\(section).key", etcd.key)]
        }
        if let mesh = config.mesh {
            files.append(("mesh.schema", mesh.schemaFile))
            for (index, zone) in mesh.zones.enumerated() {
                guard let (api, etcd) = zone.ownDCS else { continue }
                let section = "mesh.zones[\(index)].\(api == .v3 ? "etcd3" : "etcd")"
                files += [("\(section).cacert", etcd.cacert), ("\(section).cert", etcd.cert), ("\(section).key", etcd.key)]
            }
        }
        var issues = files.compactMap { key, file -> ConfigIssue? in
            guard let file, !file.isEmpty else { return nil }
            return unreadableFileReason(file).map { ConfigIssue(path: key, message: "'\(file)' \($0)") }
        }
        if let problem = dataDirectoryProblem(config.postgresql.dataDir, user: geteuid()) {
            issues.append(ConfigIssue(path: "postgresql.data_dir", message: "'\(config.postgresql.dataDir)' \(problem)"))
        }
        if let dir = config.log.dir, let problem = logDirectoryProblem(dir) {
            issues.append(ConfigIssue(path: "log.dir", message: "'\(dir)' \(problem)"))
        }
        return issues
    }

    /// Why staz could not write `patroni.log` in `path`: the directory (created at start when
    /// missing) and the file must be writable by the user running this check. At run time such
    /// a problem only sends the lines to stderr, but the operator expects them in the file.
    static func logDirectoryProblem(_ path: String) -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else {
            let parent = nearestExistingParent(of: path)
            var parentStatus = stat()
            guard stat(parent, &parentStatus) == 0, parentStatus.st_mode & S_IFMT == S_IFDIR else {
                return "cannot be created: '\(parent)' is not a directory"
            }
            return access(parent, W_OK | X_OK) == 0 ? nil : "does not exist and cannot be created: no permission to write to '\(parent)'"
        }
        guard status.st_mode & S_IFMT == S_IFDIR else { return "is not a directory" }
        let file = (path as NSString).appendingPathComponent("patroni.log")
        if stat(file, &status) == 0 {
            if status.st_mode & S_IFMT == S_IFDIR { return "holds a directory named patroni.log where the log file goes" }
            return access(file, W_OK) == 0 ? nil : "holds '\(file)', which cannot be written"
        }
        return access(path, W_OK | X_OK) == 0 ? nil : "cannot be written: no permission to create patroni.log in it"
    }

    /// The closest ancestor of a missing `path` that exists ("." for a relative path).
    private static func nearestExistingParent(of path: String) -> String {
        var parent = (path as NSString).deletingLastPathComponent
        while !parent.isEmpty && parent != "/" && !FileManager.default.fileExists(atPath: parent) {
            parent = (parent as NSString).deletingLastPathComponent
        }
        return parent.isEmpty ? "." : parent
    }

    /// Why PostgreSQL, run by `user`, could not use `path` as its data directory: it must be a
    /// directory owned by that user (PostgreSQL refuses any other owner, and root altogether),
    /// or not exist yet with a parent `user` may create it in.
    static func dataDirectoryProblem(_ path: String, user: uid_t) -> String? {
        var status = stat()
        if stat(path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFDIR else { return "is not a directory" }
            if status.st_uid == 0 { return "is owned by root; PostgreSQL refuses to run as root" }
            if user != 0 && status.st_uid != user {
                return "is owned by \(userName(status.st_uid)), not by \(userName(user)) who runs staz; PostgreSQL only uses a data directory its own user owns"
            }
            return nil
        }
        // Not there yet: staz creates it at bootstrap, so its nearest existing parent must let it.
        let parent = nearestExistingParent(of: path)
        var parentStatus = stat()
        guard stat(parent, &parentStatus) == 0, parentStatus.st_mode & S_IFMT == S_IFDIR else {
            return "cannot be created: '\(parent)' is not a directory"
        }
        if user != 0 && access(parent, W_OK | X_OK) != 0 {
            return "does not exist and cannot be created: \(userName(user)) may not write to '\(parent)'"
        }
        return nil
    }

    private static func userName(_ uid: uid_t) -> String {
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return "uid \(uid)" }
        return "'\(String(cString: name))'"
    }
}
