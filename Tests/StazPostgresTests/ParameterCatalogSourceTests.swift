import Foundation
import Logging
import StazCore
import Testing
@testable import StazConfig
@testable import StazPostgres

/// The catalog a member checks parameters with while PostgreSQL is down comes from the real
/// server binary (`postgres --describe-config`), whose spelling differs from pg_settings
/// (BOOLEAN, not bool): read wrongly, every boolean looked unknown and was left out of
/// postgresql.conf at start, wal_log_hints and hot_standby included.
@Suite("Parameter catalog of the server binary")
struct ParameterCatalogSourceTests {
    let controller: PostgresController

    init() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("staz-catalog-\(UUID().uuidString)").path
        let section = PostgreSQLSection(listen: "127.0.0.1:1", connectAddress: "127.0.0.1:1", dataDir: directory,
                                        pgpass: directory + "/pgpass", superuser: Credentials(username: "postgres"),
                                        replication: Credentials(username: "replicator"))
        controller = PostgresController(section: section, scope: "test", memberName: "m1", logger: Logger(label: "test"))
    }

    @Test func everyParameterStazSetsIsKnownToTheStoppedServer() async throws {
        let catalog = try #require(await controller.parameterCatalog(), "postgres --describe-config did not run")
        #expect(!catalog.complete)
        #expect(catalog.definitions["hot_standby"]?.kind == .bool)
        #expect(catalog.definitions["work_mem"]?.kind == .integer)
        #expect(catalog.definitions["synchronous_commit"]?.kind == .enumeration)
        var defaults = JSONObject()
        for option in PostgresParameterRules.commandLineOptions where option.rule.minimumVersion <= 150000 {
            if let value = option.rule.defaultValue, option.name != "wal_keep_segments" { defaults[option.name] = value }
        }
        for (name, value) in PostgresParameterRules.stazDefaults { defaults[name] = value }
        let (kept, rejections) = ParameterGuard.apply(defaults, catalog: catalog, lastGood: JSONObject())
        #expect(rejections.isEmpty, "\(rejections)")
        #expect(kept == defaults)
    }
}
