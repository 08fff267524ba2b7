import Foundation
import Testing
import StazCore
@testable import StazConfig

@Suite struct PostgresParametersTests {
    let local: StazConfiguration

    init() throws { local = try ConfigLoader.parse(try sampleRaw()).0 }

    func effective(dynamic parameters: JSONObject, local override: JSONObject? = nil, major: Int = 15) -> JSONObject {
        var dynamic = DynamicSettings()
        dynamic.parameters = parameters
        var config = local
        if let override { config.postgresql.parameters = override }
        return effectivePostgresParameters(local: config, dynamic: dynamic, majorVersion: major)
    }

    @Test func nullValuesMeanNotSet() {
        let p = effective(dynamic: JSONObject([("work_mem", .null), ("hot_standby_feedback", .null)]),
                          local: JSONObject([("temp_buffers", .null)]))
        #expect(p["work_mem"] == nil)
        #expect(p["hot_standby_feedback"] == nil)
        #expect(p["temp_buffers"] == nil)
    }

    @Test func defaults() {
        let p = effective(dynamic: JSONObject())
        #expect(p["wal_level"] == "logical")
        #expect(p["hot_standby"] == "on")
        #expect(p["hot_standby_feedback"] == "on")
        #expect(p["wal_log_hints"] == "on")
        #expect(p["max_wal_senders"] == .int(10))
        #expect(p["max_replication_slots"] == .int(10))
        #expect(p["max_connections"] == .int(100))
        #expect(p["max_worker_processes"] == .int(8))
        #expect(p["max_locks_per_transaction"] == .int(64))
        #expect(p["wal_keep_size"] == "128MB")
        #expect(p["wal_keep_segments"] == nil)
        #expect(p["cluster_name"] == "batman")
        #expect(p["listen_addresses"] == "0.0.0.0")
        #expect(p["port"] == "5432")
        #expect(p["unix_socket_directories"] == "..", "local non-owned parameters are included")
    }

    @Test(arguments: [("hot_standby", "logical"), ("replica", "replica"), ("logical", "logical"), ("minimal", "logical")])
    func walLevel(configured: String, expected: String) {
        #expect(effective(dynamic: JSONObject([("wal_level", .string(configured))]))["wal_level"] == .string(expected))
    }

    @Test func dynamicWinsForOwnedLocalWinsForOthers() {
        let p = effective(dynamic: JSONObject([("max_connections", "300"), ("work_mem", "4MB"), ("shared_buffers", "1GB")]),
                          local: JSONObject([("max_connections", 50), ("work_mem", "64MB")]))
        #expect(p["max_connections"] == .int(300))
        #expect(p["work_mem"] == "64MB")
        #expect(p["shared_buffers"] == "1GB")
    }

    @Test func minimumsRejectSmallValues() {
        let p = effective(dynamic: JSONObject([("max_connections", 10), ("max_wal_senders", 1), ("max_replication_slots", 2), ("hot_standby", "off")]))
        #expect(p["max_connections"] == .int(100))
        #expect(p["max_wal_senders"] == .int(10))
        #expect(p["max_replication_slots"] == .int(10))
        #expect(p["hot_standby"] == "on")
    }

    @Test(arguments: [
        (15, JSONObject([("wal_keep_segments", 32)]), "wal_keep_size", JSONValue.string("512MB")),
        (15, JSONObject([("wal_keep_size", "1GB")]), "wal_keep_size", .string("1GB")),
        (12, JSONObject([("wal_keep_size", "1GB")]), "wal_keep_segments", .int(64)),
        (120000, JSONObject(), "wal_keep_segments", .int(8)),
    ])
    func walKeep(major: Int, parameters: JSONObject, key: String, expected: JSONValue) {
        let p = effective(dynamic: parameters, major: major)
        #expect(p[key] == expected)
        #expect(p[key == "wal_keep_size" ? "wal_keep_segments" : "wal_keep_size"] == nil)
    }

    @Test func commandLine() {
        #expect(isPostmasterCommandLineParameter("wal_level"))
        #expect(isPostmasterCommandLineParameter("Max_Connections"))
        #expect(isPostmasterCommandLineParameter("cluster_name"))
        #expect(!isPostmasterCommandLineParameter("wal_keep_size"))
        #expect(!isPostmasterCommandLineParameter("work_mem"))
        #expect(!isPostmasterCommandLineParameter("hot_standby_feedback"))
        let args = PostgresParameterRules.postmasterArguments(effective(dynamic: JSONObject([("track_commit_timestamp", true)])))
        #expect(args.first == "--listen_addresses=0.0.0.0")
        #expect(args.contains("--port=5432"))
        #expect(args.contains("--cluster_name=batman"))
        #expect(args.contains("--wal_level=logical"))
        #expect(args.contains("--track_commit_timestamp=on"))
        #expect(args.contains("--max_connections=100"))
        #expect(!args.contains { $0.hasPrefix("--wal_keep") || $0.hasPrefix("--work_mem") })
    }
}
