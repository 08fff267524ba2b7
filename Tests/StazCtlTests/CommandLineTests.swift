import StazConfig
import Testing
@testable import StazCtl

struct CommandLineTests {
    @Test(arguments: [
        ("etcd3://127.0.0.1:26379", EtcdAPIVersion.v3, "127.0.0.1", 26379, nil as String?),
        ("etcd://10.0.0.1:2379", .v2, "10.0.0.1", 2379, nil),
        ("127.0.0.1:2379", .v2, "127.0.0.1", 2379, nil),
        ("etcd3://h:2399/customnamespace", .v3, "h", 2399, "/customnamespace"),
        ("etcd://:2399", .v2, "localhost", 2399, nil),
        ("etcd3://test", .v3, "test", 2379, nil),
    ])
    func dcsURL(_ text: String, _ api: EtcdAPIVersion, _ host: String, _ port: Int, _ namespace: String?) throws {
        let url = try DCSURL(parsing: text)
        #expect(url.api == api && url.host == host && url.port == port && url.namespace == namespace)
    }

    @Test(arguments: ["foo://h:1", "consul://h:8500", "etcd3://h:notaport"])
    func badDCSURL(_ text: String) {
        #expect(throws: CtlError.self) { try DCSURL(parsing: text) }
    }

    @Test func globalOptionsMoveAfterSubcommand() {
        #expect(StazCtlMain.reorder(["-d", "etcd3://h:1", "-k", "list", "demo", "-f", "json"])
                == ["list", "-d", "etcd3://h:1", "-k", "demo", "-f", "json"])
        #expect(StazCtlMain.reorder(["--config-file=/x.yml", "history"]) == ["history", "--config-file=/x.yml"])
        #expect(StazCtlMain.reorder(["list", "-d", "x"]) == ["list", "-d", "x"])
    }

    @Test func dashDReplacesConfiguredDCS() throws {
        let config = try CtlConfiguration.resolve(configFile: nil, dcsURL: "etcd3://127.0.0.1:26379/ns",
                                                  environment: ["HOME": "/nonexistent"])
        #expect(config.etcd3?.endpoints == ["http://127.0.0.1:26379"])
        #expect(config.etcd == nil)
        #expect(config.namespace == "/ns")
    }

    @Test func missingConfigFileIsAnError() {
        #expect(throws: CtlError.self) {
            try CtlConfiguration.resolve(configFile: "/nonexistent/ctl.yml", dcsURL: nil, environment: [:])
        }
    }

    @Test func badArgumentsGiveExitCode1() async {
        #expect(await StazCtlMain.main(["list", "--no-such-option"]) == 1)
        #expect(await StazCtlMain.main(["-d", "foo://h:1", "list", "demo"]) == 1)
        #expect(await StazCtlMain.main(["dsn", "-d", "etcd3://127.0.0.1:26379", "-r", "boss", "demo"]) == 1)
    }

    @Test(arguments: [(Int64(90624), "9.6.24"), (100000, "10.0"), (140008, "14.8"), (150004, "15.4")])
    func postgresVersion(_ number: Int64, _ text: String) {
        #expect(formatPostgresVersion(number) == text)
    }
}
