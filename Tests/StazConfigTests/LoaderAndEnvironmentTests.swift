import Foundation
import Testing
import StazCore
@testable import StazConfig

@Suite struct LoaderAndEnvironmentTests {
    @Test func directoryFilesAreMergedInSortedOrder() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try patroniSampleYAML.write(toFile: dir + "/00-base.yml", atomically: true, encoding: .utf8)
        try "name: node-b\npostgresql:\n  parameters:\n    work_mem: 16MB\n".write(toFile: dir + "/20-override.yaml", atomically: true, encoding: .utf8)
        try "name: node-a\ntags:\n  dc: us\n".write(toFile: dir + "/10-middle.yml", atomically: true, encoding: .utf8)
        try "name: ignored\n".write(toFile: dir + "/99-notes.txt", atomically: true, encoding: .utf8)
        let (config, _) = try ConfigLoader.load(path: dir, environment: [:])
        #expect(config.name == "node-b")
        #expect(config.tags.raw["dc"] == "us")
        #expect(config.postgresql.parameters["work_mem"] == "16MB")
        #expect(config.postgresql.parameters["unix_socket_directories"] == "..", "nested mappings merge, not replace")
        #expect(config.postgresql.dataDir == "data/postgresql0")
        #expect(config.sourcePath == dir)
    }

    @Test(arguments: [
        // (variable suffix, value, check)
        ("NAME", "envname", { @Sendable (c: StazConfiguration) in c.name == "envname" }),
        ("SCOPE", "envscope", { @Sendable (c: StazConfiguration) in c.scope == "envscope" }),
        ("NAMESPACE", "/staz/", { @Sendable (c: StazConfiguration) in c.namespace == "/staz/" }),
        ("RESTAPI_LISTEN", "0.0.0.0:9000", { @Sendable (c: StazConfiguration) in c.restapi.listen == "0.0.0.0:9000" }),
        ("RESTAPI_USERNAME", "api", { @Sendable (c: StazConfiguration) in c.restapi.username == "api" }),
        ("RESTAPI_ALLOWLIST", "10.0.0.0/8, 127.0.0.1", { @Sendable (c: StazConfiguration) in c.restapi.allowlist == ["10.0.0.0/8", "127.0.0.1"] }),
        ("RESTAPI_ALLOWLIST_INCLUDE_MEMBERS", "on", { @Sendable (c: StazConfiguration) in c.restapi.allowlistIncludeMembers }),
        ("RESTAPI_VERIFY_CLIENT", "none", { @Sendable (c: StazConfiguration) in c.restapi.verifyClient == "none" }),
        ("POSTGRESQL_DATA_DIR", "/pg/data", { @Sendable (c: StazConfiguration) in c.postgresql.dataDir == "/pg/data" }),
        ("POSTGRESQL_CONNECT_ADDRESS", "db1:5433", { @Sendable (c: StazConfiguration) in c.postgresql.connectAddress == "db1:5433" }),
        ("POSTGRESQL_BIN_PG_CTL", "pg_ctl15", { @Sendable (c: StazConfiguration) in c.postgresql.binNames["pg_ctl"] == "pg_ctl15" }),
        ("POSTGRESQL_PGPASS", "/tmp/pp", { @Sendable (c: StazConfiguration) in c.postgresql.pgpass == "/tmp/pp" }),
        ("SUPERUSER_PASSWORD", "s3cret", { @Sendable (c: StazConfiguration) in c.postgresql.superuser.password == "s3cret" }),
        ("REPLICATION_SSLMODE", "require", { @Sendable (c: StazConfiguration) in c.postgresql.replication.sslmode == "require" }),
        ("REWIND_USERNAME", "rw", { @Sendable (c: StazConfiguration) in c.postgresql.rewind?.username == "rw" }),
        ("ETCD3_HOSTS", "'h1:2379','h2:2379'", { @Sendable (c: StazConfiguration) in c.etcd3?.endpoints == ["http://h1:2379", "http://h2:2379"] }),
        ("ETCD3_HOSTS", "[h3:1, h4:2]", { @Sendable (c: StazConfiguration) in c.etcd3?.endpoints == ["http://h3:1", "http://h4:2"] }),
        ("ETCD3_PROTOCOL", "https", { @Sendable (c: StazConfiguration) in c.etcd3?.endpoints.first == "https://127.0.0.1:2379" }),
        ("ETCD3_CACERT", "/ca.pem", { @Sendable (c: StazConfiguration) in c.etcd3?.cacert == "/ca.pem" }),
        ("ETCD_HOST", "e2:4001", { @Sendable (c: StazConfiguration) in c.etcd?.endpoints == ["http://e2:4001"] && c.dcs?.api == .v3 }),
        ("CTL_INSECURE", "yes", { @Sendable (c: StazConfiguration) in c.ctl.insecure }),
        ("LOG_LEVEL", "debug", { @Sendable (c: StazConfiguration) in c.log.level == "DEBUG" }),
        ("LOG_TYPE", "json", { @Sendable (c: StazConfiguration) in c.log.format == .json(LogTemplate.patroniDefault.fields.map { JSONLogField($0) }) }),
        ("LOG_FORMAT", "%(levelname)s %(message)s", { @Sendable (c: StazConfiguration) in c.log.format == .plain(try! LogTemplate(parsing: "%(levelname)s %(message)s")) }),
        ("LOG_DIR", "/var/log/staz", { @Sendable (c: StazConfiguration) in c.log.filePath == "/var/log/staz/patroni.log" }),
        ("LOG_MODE", "0640", { @Sendable (c: StazConfiguration) in c.log.mode == 0o640 }),
        ("LOG_FILE_SIZE", "1000", { @Sendable (c: StazConfiguration) in c.log.fileSize == 1000 }),
        ("LOG_FILE_NUM", "2", { @Sendable (c: StazConfiguration) in c.log.fileNum == 2 }),
        ("LOG_MAX_QUEUE_SIZE", "10", { @Sendable (c: StazConfiguration) in c.log.maxQueueSize == 10 }),
        ("LOG_DATEFORMAT", "%H:%M", { @Sendable (c: StazConfiguration) in c.log.dateFormat == "%H:%M" }),
        ("LOG_TRACEBACK_LEVEL", "DEBUG", { @Sendable (c: StazConfiguration) in c.log.tracebackLevel == "DEBUG" }),
        ("LOG_LOGGERS", "patroni: DEBUG, urllib3: WARNING", { @Sendable (c: StazConfiguration) in c.log.loggers == ["patroni": "DEBUG", "urllib3": "WARNING"] }),
        ("LOG_DEDUPLICATE_HEARTBEAT_LOGS", "on", { @Sendable (c: StazConfiguration) in c.log.deduplicateHeartbeatLogs }),
    ] as [(String, String, @Sendable (StazConfiguration) -> Bool)])
    func environmentOverride(suffix: String, value: String, check: @Sendable (StazConfiguration) -> Bool) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try patroniSampleYAML.write(toFile: dir + "/p.yml", atomically: true, encoding: .utf8)
        for prefix in ["PATRONI_", "STAZ_"] {
            let (config, _) = try ConfigLoader.load(path: dir + "/p.yml", environment: [prefix + suffix: value])
            #expect(check(config), "\(prefix)\(suffix)")
        }
    }

    /// Credentials from the environment follow the file's rule: both halves or neither.
    @Test(arguments: [
        (["STAZ_CTL_USERNAME": "ctluser", "STAZ_CTL_PASSWORD": "ctlpass"], nil),
        (["PATRONI_RESTAPI_USERNAME": "u2", "PATRONI_RESTAPI_PASSWORD": "p2"], nil),
        (["STAZ_CTL_USERNAME": "ctluser"], "ctl.authentication.password"),
        (["PATRONI_CTL_PASSWORD": "ctlpass"], "ctl.authentication.username"),
        (["STAZ_RESTAPI_VERIFY_CLIENT": "required"], "restapi.certfile"),
    ] as [([String: String], String?)])
    func credentialsFromEnvironment(environment: [String: String], missing: String?) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try patroniSampleYAML.write(toFile: dir + "/p.yml", atomically: true, encoding: .utf8)
        guard let missing else {
            let (config, _) = try ConfigLoader.load(path: dir + "/p.yml", environment: environment)
            let pairs = [(config.ctl.username, config.ctl.password), (config.restapi.username, config.restapi.password)]
            let fromEnvironment = pairs.filter { pair in pair.0.map { environment.values.contains($0) } ?? false }
            #expect(fromEnvironment.count == 1 && fromEnvironment.allSatisfy { $0.1.map { environment.values.contains($0) } ?? false })
            return
        }
        #expect {
            try ConfigLoader.load(path: dir + "/p.yml", environment: environment)
        } throws: { ($0 as? ConfigError)?.mentions(missing) == true }
    }

    @Test func stazWinsOverPatroniAlias() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try patroniSampleYAML.write(toFile: dir + "/p.yml", atomically: true, encoding: .utf8)
        let env = ["PATRONI_NAME": "from-patroni", "STAZ_NAME": "from-staz", "PATRONI_SCOPE": "patroni-scope"]
        let (config, _) = try ConfigLoader.load(path: dir + "/p.yml", environment: env)
        #expect(config.name == "from-staz")
        #expect(config.scope == "patroni-scope")
    }

    @Test func invalidEnvironmentValueIsReportedWithItsKey() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try patroniSampleYAML.write(toFile: dir + "/p.yml", atomically: true, encoding: .utf8)
        #expect {
            try ConfigLoader.load(path: dir + "/p.yml", environment: ["STAZ_RESTAPI_LISTEN": "nohost"])
        } throws: { ($0 as? ConfigError)?.mentions("restapi.listen") == true }
    }

    @Test func wholeConfigurationVariableWithoutFile() throws {
        let env = ["PATRONI_CONFIGURATION": patroniSampleYAML, "PATRONI_NAME": "ignored-when-whole-config"]
        let (config, _) = try ConfigLoader.load(path: "", environment: env)
        #expect(config.name == "postgresql0")
        #expect(config.sourcePath == nil)
    }

    @Test func environmentOnlyConfiguration() throws {
        let env = ["STAZ_NAME": "n1", "STAZ_SCOPE": "s", "STAZ_RESTAPI_LISTEN": "127.0.0.1:8008",
                   "STAZ_POSTGRESQL_LISTEN": "127.0.0.1:5432", "STAZ_POSTGRESQL_DATA_DIR": "/d",
                   "STAZ_SUPERUSER_USERNAME": "postgres", "STAZ_REPLICATION_USERNAME": "rep",
                   "PATRONI_ETCD3_HOSTS": "127.0.0.1:2379", "HOME": "/h"]
        let (config, warnings) = try ConfigLoader.load(path: "", environment: env)
        #expect(config.name == "n1")
        #expect(config.postgresql.pgpass == "/h/pgpass")
        #expect(config.etcd3?.endpoints == ["http://127.0.0.1:2379"])
        #expect(warnings.isEmpty)
    }
}
