import Foundation
import Testing
import StazCore
@testable import StazConfig

@Suite struct ValidationTests {
    /// (key to change, new value (nil = remove), issue path expected, fragment of the message)
    @Test(arguments: [
        ("scope", nil, "scope", "missing required key"),
        ("name", nil, "name", "missing required key"),
        ("name", "", "name", "must not be empty"),
        ("restapi.listen", nil, "restapi.listen", "missing required key"),
        ("restapi", nil, "restapi.listen", "missing required key"),
        ("postgresql.listen", nil, "postgresql.listen", "missing required key"),
        ("postgresql.data_dir", nil, "postgresql.data_dir", "missing required key"),
        ("postgresql.authentication.superuser.username", nil, "postgresql.authentication.superuser.username", "missing required key"),
        ("postgresql.authentication.replication", nil, "postgresql.authentication.replication.username", "missing required key"),
        ("etcd3", nil, "etcd3", "one of 'etcd3' or 'etcd'"),
        ("etcd3.hosts", nil, "etcd3.host", "one of host, hosts or url"),
        ("etcd3.hosts", ["h:abc"], "etcd3.hosts[0]", "port 'abc' is not a number"),
        ("etcd3.protocol", "ftp", "etcd3.protocol", "expected http or https"),
        ("restapi.listen", "127.0.0.1:http", "restapi.listen", "port 'http' is not a number"),
        ("restapi.listen", "127.0.0.1:70000", "restapi.listen", "out of range"),
        ("restapi.listen", "localhost", "restapi.listen", "expected host:port"),
        ("restapi.verify_client", "sometimes", "restapi.verify_client", "expected none, optional or required"),
        ("postgresql.listen", ["a"], "postgresql.listen", "expected a string, got a list"),
        ("postgresql.connect_address", "db1:port", "postgresql.connect_address", "not a number"),
        ("postgresql.pg_ctl_timeout", "soon", "postgresql.pg_ctl_timeout", "expected a number"),
        ("postgresql.parameters", ["a", "b"], "postgresql.parameters", "expected a mapping"),
        ("postgresql.use_pg_rewind", "maybe", "postgresql.use_pg_rewind", "expected a boolean"),
        ("postgresql.authentication.replication.sslmode", "verify", "postgresql.authentication.replication.sslmode",
         "expected one of disable, allow, prefer, require, verify-ca, verify-full, got 'verify'"),
        ("postgresql.authentication.superuser.sslcrl", "/crl.pem", "postgresql.authentication.superuser.sslcrl",
         "revocation lists"),
        ("postgresql.authentication.superuser.channel_binding", "require",
         "postgresql.authentication.superuser.channel_binding", "do not bind SCRAM"),
        ("tags.nofailover", [1], "tags.nofailover", "expected a boolean"),
        ("tags.failover_priority", -1, "tags.failover_priority", "at least 0"),
        ("tags.failover_priority", "high", "tags.failover_priority", "expected an integer"),
        ("bootstrap.dcs.ttl", "abc", "bootstrap.dcs.ttl", "expected a number"),
        ("bootstrap.dcs.ttl", 0, "bootstrap.dcs.ttl", "must be at least 4, got 0"),
        ("bootstrap.dcs.loop_wait", [10], "bootstrap.dcs.loop_wait", "expected a number"),
        ("bootstrap.dcs.retry_timeout", -5, "bootstrap.dcs.retry_timeout", "must be at least 1, got -5"),
        ("bootstrap.dcs.maximum_lag_on_failover", -1, "bootstrap.dcs.maximum_lag_on_failover", "at least 0"),
        ("bootstrap.dcs.primary_start_timeout", "later", "bootstrap.dcs.primary_start_timeout", "expected a number"),
        ("bootstrap.dcs.synchronous_mode", "sometimes", "bootstrap.dcs.synchronous_mode", "on, off, true, false or quorum"),
        ("bootstrap.dcs.synchronous_node_count", 0, "bootstrap.dcs.synchronous_node_count", "at least 1"),
        ("bootstrap.dcs.postgresql.parameters", "max_connections=10", "bootstrap.dcs.postgresql.parameters", "expected a mapping"),
        ("bootstrap.dcs.member_slots_ttl", "30 fortnights", "bootstrap.dcs.member_slots_ttl", "duration"),
        ("bootstrap.initdb", ["data-checksums", "pgdata"], "bootstrap.initdb[1]", "'pgdata' is not allowed"),
        ("bootstrap.initdb", [["a": "1", "b": "2"]], "bootstrap.initdb[0]", "single 'option: value' pair"),
        ("bootstrap.method", "restore", "bootstrap.restore", "settings of bootstrap method"),
        ("postgresql.basebackup", ["format": "tar"], "postgresql.basebackup.format", "not allowed"),
        ("postgresql.create_replica_methods", ["wal_e", "basebackup"], "postgresql.wal_e", "settings of replica method"),
        ("log.level", "LOUD", "log.level", "expected one of"),
    ] as [(String, JSONValue?, String, String)])
    func invalidValueNamesKey(key: String, value: JSONValue?, path: String, fragment: String) throws {
        let raw = setting(key, to: value, in: try sampleRaw())
        let error = try #require(configError(raw))
        let issue = error.issues.first { $0.path == path }
        #expect(issue != nil, "no issue for \(path) in: \(error.description)")
        #expect(issue?.message.contains(fragment) == true, "\(issue?.description ?? "")")
        #expect(error.description.contains("\(path): "))
    }

    @Test func everyProblemIsReportedAtOnce() throws {
        var raw = try sampleRaw()
        raw = setting("scope", to: nil, in: raw)
        raw = setting("postgresql.listen", to: nil, in: raw)
        raw = setting("tags.nofailover", to: [1], in: raw)
        raw = setting("bootstrap.dcs.ttl", to: "abc", in: raw)
        let error = try #require(configError(raw))
        #expect(Set(error.issues.map(\.path)) == ["scope", "postgresql.listen", "tags.nofailover", "bootstrap.dcs.ttl"])
        #expect(error.description.split(separator: "\n").count == 4)
        #expect(error.description.contains("postgresql.listen: missing required key"))
    }

    @Test func emptyConfigurationListsAllRequiredKeys() {
        let error = configError(JSONObject())
        let paths = Set(error?.issues.map(\.path) ?? [])
        let required: Set<String> = ["scope", "name", "restapi.listen", "postgresql.listen", "postgresql.data_dir",
                                     "postgresql.authentication.superuser.username",
                                     "postgresql.authentication.replication.username", "etcd3"]
        #expect(required.isSubset(of: paths), "\(paths)")
    }

    @Test(arguments: [
        ("postgresql.foo", "unknown key 'postgresql.foo' (ignored)"),
        ("frobnicate", "unknown key 'frobnicate' (ignored)"),
        ("etcd3.colour", "unknown key 'etcd3.colour' (ignored)"),
        ("bootstrap.dcs.tll", "unknown key 'bootstrap.dcs.tll' (ignored)"),
        ("postgresql.callbacks.on_boot", "unknown key 'postgresql.callbacks.on_boot' (ignored)"),
        ("log.colour", "unknown key 'log.colour' (ignored)"),
    ])
    func unknownKeysWarn(key: String, message: String) throws {
        let raw = setting(key, to: "x", in: try sampleRaw())
        let (_, warnings) = try ConfigLoader.parse(raw)
        #expect(warnings.map(\.message).contains(message), "\(warnings)")
    }

    /// Patroni keys staz does not implement are refused, naming the key: accepting them would
    /// run something other than what the file says.
    @Test(arguments: ["consul", "restapi.ciphers", "restapi.keyfile_password", "restapi.http_extra_headers",
                      "ctl.keyfile_password", "etcd3.srv", "postgresql.krbsrvname", "bootstrap.users", "citus"])
    func unimplementedPatroniKeysAreErrors(key: String) throws {
        let raw = setting(key, to: "x", in: try sampleRaw())
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(raw) }
        do { _ = try ConfigLoader.parse(raw) } catch let error as ConfigError {
            #expect(error.mentions(key), "\(error)")
        }
    }

    @Test func watchdogRequiredIsAccepted() throws {
        let required = setting("watchdog", to: .object(JSONObject([("mode", "required")])), in: try sampleRaw())
        #expect(try ConfigLoader.parse(required).0.watchdog.mode == .required)
    }

    /// Half-configured REST security is refused, naming the key that would complete it: with
    /// it the API would otherwise serve unsafe requests without the protection the file asks for.
    @Test(arguments: [
        ([("restapi.authentication.password", nil)], "restapi.authentication.password", "missing (username is set; both are needed or neither)"),
        ([("restapi.authentication.username", nil)], "restapi.authentication.username", "missing (password is set; both are needed or neither)"),
        ([("restapi.authentication.password", .null)], "restapi.authentication.password", "missing (username is set"),
        ([("restapi.authentication.password", nil), ("restapi.authentication.pasword", "x")], "restapi.authentication.pasword", "unknown key"),
        ([("restapi.authentication.password", nil), ("restapi.authentication.pasword", "x")], "restapi.authentication.password", "missing"),
        ([("restapi.authentication.token", "x")], "restapi.authentication.token", "unknown key"),
        ([("restapi.authentication", .object(JSONObject()))], "restapi.authentication", "got an empty section"),
        ([("restapi.authentication", .null)], "restapi.authentication", "got an empty section"),
        ([("restapi.authentication", "user:secret")], "restapi.authentication", "got a scalar"),
        ([("restapi.verify_client", "required")], "restapi.certfile", "needs TLS"),
        ([("restapi.verify_client", "optional")], "restapi.certfile", "needs TLS"),
        ([("restapi.verify_client", "required"), ("restapi.certfile", "")], "restapi.certfile", "needs TLS"),
        ([("restapi.verify_client", "required"), ("restapi.certfile", "/tls/api.pem")], "restapi.cafile", "needs the CA"),
        ([("restapi.verify_client", "optional"), ("restapi.certfile", "/tls/api.pem")], "restapi.cafile", "needs the CA"),
        ([("ctl.authentication", ["username": "u"])], "ctl.authentication.password", "missing (username is set"),
        ([("ctl.authentication", ["password": "p"])], "ctl.authentication.username", "missing (password is set"),
        ([("ctl.authentication", ["username": "u", "password": "p", "pasword": "p"])], "ctl.authentication.pasword", "unknown key"),
        ([("ctl.authentication", "u:p")], "ctl.authentication", "got a scalar"),
    ] as [([(String, JSONValue?)], String, String)])
    func halfConfiguredSecurityIsRefused(changes: [(String, JSONValue?)], path: String, fragment: String) throws {
        var raw = try sampleRaw()
        for (key, value) in changes { raw = setting(key, to: value, in: raw) }
        let error = try #require(configError(raw))
        let issue = error.issues.first { $0.path == path }
        #expect(issue != nil, "no issue for \(path) in: \(error.description)")
        #expect(issue?.message.contains(fragment) == true, "\(issue?.description ?? "")")
        #expect(!error.description.contains("secret"), "the value of authentication is not shown")
    }

    /// Complete security settings load (the Patroni keys staz does not implement, such as
    /// `keyfile_password` or `ciphers`, are refused: `unimplementedPatroniKeysAreErrors`).
    @Test(arguments: [
        [("restapi.verify_client", "none")],
        [("restapi.verify_client", "required"), ("restapi.certfile", "/tls/api.pem"), ("restapi.cafile", "/tls/ca.pem")],
        [("restapi.verify_client", "optional"), ("restapi.certfile", "/tls/api.pem"), ("restapi.cafile", "/tls/ca.pem"),
         ("restapi.keyfile", "/tls/api.key")],
        [("restapi.authentication", nil)],
        [("restapi.allowlist", ["127.0.0.1"]), ("restapi.allowlist_include_members", true)],
        [("ctl.authentication", ["username": "u", "password": "p"]), ("ctl.certfile", "/tls/c.pem"), ("ctl.keyfile", "/tls/c.key"),
         ("ctl.insecure", true), ("ctl.cacert", "/tls/ca.pem")],
    ] as [[(String, JSONValue?)]])
    func completeSecurityLoads(changes: [(String, JSONValue?)]) throws {
        var raw = try sampleRaw()
        for (key, value) in changes { raw = setting(key, to: value, in: raw) }
        let (config, warnings) = try ConfigLoader.parse(raw)
        #expect(!warnings.contains { $0.message.contains("unknown key") }, "\(warnings)")
        #expect((config.restapi.username == nil) == (config.restapi.password == nil))
    }

    /// `bootstrap.dcs` timing below the minimums the daemon enforces, or a `loop_wait` longer
    /// than `ttl` (the leader key would expire between two cycles), is refused. Keys not given
    /// keep the sample's values (ttl 30, loop_wait 10, retry_timeout 10).
    @Test(arguments: [
        ([("ttl", 1)], "bootstrap.dcs.ttl", "must be at least \(formatNumber(DynamicSettings.minimumTTL)), got 1"),
        ([("ttl", 3.5)], "bootstrap.dcs.ttl", "must be at least 4, got 3.5"),
        ([("loop_wait", 0.5)], "bootstrap.dcs.loop_wait", "must be at least \(formatNumber(DynamicSettings.minimumLoopWait)), got 0.5"),
        ([("retry_timeout", 0)], "bootstrap.dcs.retry_timeout", "must be at least \(formatNumber(DynamicSettings.minimumRetryTimeout)), got 0"),
        ([("loop_wait", 40)], "bootstrap.dcs.loop_wait", "loop_wait=40 is greater than ttl=30"),
        ([("ttl", 20), ("loop_wait", 21), ("retry_timeout", 1)], "bootstrap.dcs.loop_wait", "loop_wait=21 is greater than ttl=20"),
        ([("ttl", nil), ("loop_wait", "31")], "bootstrap.dcs.loop_wait", "loop_wait=31 is greater than ttl=30"),
    ] as [([(String, JSONValue?)], String, String)])
    func bootstrapTimingOutOfRangeIsRefused(changes: [(String, JSONValue?)], path: String, fragment: String) throws {
        var raw = try sampleRaw()
        for (key, value) in changes { raw = setting("bootstrap.dcs." + key, to: value, in: raw) }
        let error = try #require(configError(raw))
        #expect(error.issues.map(\.path) == [path], "\(error)")
        #expect(error.issues.first?.message.contains(fragment) == true, "\(error)")
    }

    /// A breach of `loop_wait + 2 * retry_timeout <= ttl` is repaired at run time (as Patroni
    /// does), so it is a warning saying what will be used; a configuration keeping the rule
    /// gets no timing warning.
    @Test(arguments: [
        ([("ttl", 20)], "bootstrap.dcs: loop_wait=10 + 2*retry_timeout=10 > ttl=20: using loop_wait=10, retry_timeout=5"),
        ([("ttl", 4), ("loop_wait", 4), ("retry_timeout", 1)], "bootstrap.dcs: loop_wait=4 + 2*retry_timeout=1 > ttl=4: using loop_wait=2, retry_timeout=1"),
        ([("ttl", 4), ("loop_wait", 2), ("retry_timeout", 1)], nil),
        ([("ttl", 10), ("loop_wait", 10), ("retry_timeout", nil)], "bootstrap.dcs: loop_wait=10 + 2*retry_timeout=10 > ttl=10: using loop_wait=8, retry_timeout=1"),
        ([], nil),
    ] as [([(String, JSONValue?)], String?)])
    func bootstrapTimingRuleWarns(changes: [(String, JSONValue?)], warning: String?) throws {
        var raw = try sampleRaw()
        for (key, value) in changes { raw = setting("bootstrap.dcs." + key, to: value, in: raw) }
        let (_, warnings) = try ConfigLoader.parse(raw)
        let timing = warnings.filter { $0.message.contains("ttl=") }
        #expect(timing.map(\.message) == (warning.map { [$0] } ?? []))
        #expect(timing.allSatisfy { $0.path.hasPrefix("bootstrap.dcs.") })
    }

    /// `--validate-config` checks the REST API's TLS files the daemon opens at start, by key.
    @Test func validateChecksTLSFiles() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let existing = dir + "/api.pem", missing = dir + "/none.pem"
        try "x".write(toFile: existing, atomically: true, encoding: .utf8)
        func lines(_ tls: [String: String]) throws -> [String] {
            var raw = try sampleRaw()
            for (key, value) in tls { raw = setting("restapi." + key, to: .string(value), in: raw) }
            let file = dir + "/config.yml"
            try JSONValue.object(raw).compactString.write(toFile: file, atomically: true, encoding: .utf8)  // JSON is YAML
            return ConfigLoader.validate(path: file, environment: [:])
        }
        #expect(try lines(["certfile": existing, "keyfile": existing, "cafile": existing]) == [])
        #expect(try lines(["certfile": missing]) == ["error: restapi.certfile: '\(missing)' does not exist"])
        #expect(try lines(["certfile": existing, "keyfile": dir, "cafile": missing]) ==
                ["error: restapi.keyfile: '\(dir)' is a directory, not a file", "error: restapi.cafile: '\(missing)' does not exist"])
        // Without certfile TLS is off and the other files are not opened.
        #expect(try lines(["keyfile": missing, "cafile": missing]) == [])
        if getuid() != 0 {
            try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: existing)
            #expect(try lines(["certfile": existing]) == ["error: restapi.certfile: '\(existing)' is not readable"])
        }
    }

    @Test func dataDirectoryMustBeOwnedByTheUserRunningStaz() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let owned = dir + "/owned", file = dir + "/file"
        try FileManager.default.createDirectory(atPath: owned, withIntermediateDirectories: false)
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(ConfigLoader.dataDirectoryProblem(file, user: getuid())?.contains("is not a directory") == true)
        #expect(ConfigLoader.dataDirectoryProblem(dir + "/new/deeper", user: getuid()) == nil)
        guard getuid() == 0 else { return }  // only root can hand a directory to another user
        #expect(ConfigLoader.dataDirectoryProblem(owned, user: 0)?.contains("owned by root") == true)
        #expect(chown(owned, 65534, 65534) == 0)
        #expect(ConfigLoader.dataDirectoryProblem(owned, user: 65534) == nil)
        #expect(ConfigLoader.dataDirectoryProblem(owned, user: 65533)?.contains("not by") == true)
        #expect(ConfigLoader.dataDirectoryProblem(owned, user: 0) == nil, "root checking a config for another user")
    }

    @Test func validateChecksEtcdTLSFiles() throws {
        let raw = setting("etcd3.cacert", to: "/nonexistent/ca.pem", in: try sampleRaw())
        let (config, _) = try ConfigLoader.parse(raw)
        #expect(ConfigLoader.fileIssues(config).map(\.path) == ["etcd3.cacert"])
    }

    @Test func customTagsAreNotUnknown() throws {
        let raw = setting("tags.rack", to: "r1", in: try sampleRaw())
        let (config, warnings) = try ConfigLoader.parse(raw)
        #expect(warnings.isEmpty)
        #expect(config.tags.raw["rack"] == "r1")
    }

    @Test func localOwnedParameterWarns() throws {
        let raw = setting("postgresql.parameters.max_connections", to: 500, in: try sampleRaw())
        let (_, warnings) = try ConfigLoader.parse(raw)
        #expect(warnings.contains { $0.path == "postgresql.parameters.max_connections" })
    }

    @Test func validateReturnsErrorsThenWarnings() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/bad.yml"
        let yaml = patroniSampleYAML.replacingOccurrences(of: "  data_dir: data/postgresql0\n", with: "  data_dir: data/postgresql0\n  foo: 1\n")
            .replacingOccurrences(of: "  listen: 0.0.0.0:5432\n", with: "")
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        let lines = ConfigLoader.validate(path: file, environment: [:])
        #expect(lines == ["error: postgresql.listen: missing required key", "warning: unknown key 'postgresql.foo' (ignored)"])
    }

    @Test func validateOfGoodFileIsEmptyAndMissingFileIsAnError() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try patroniSampleYAML.write(toFile: dir + "/ok.yaml", atomically: true, encoding: .utf8)
        #expect(ConfigLoader.validate(path: dir + "/ok.yaml", environment: [:]) == [])
        let missing = ConfigLoader.validate(path: dir + "/nope.yml", environment: [:])
        #expect(missing.count == 1 && missing[0].hasPrefix("error: ") && missing[0].contains("does not exist"))
    }

    @Test func yamlSyntaxErrorIsAConfigError() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "scope: [unclosed\n".write(toFile: dir + "/x.yml", atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { try ConfigLoader.load(path: dir + "/x.yml", environment: [:]) }
    }
}
