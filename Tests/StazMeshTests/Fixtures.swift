import StazConfig
import StazCore
@testable import StazMesh

/// A three-zone mesh seen from zone `a` (pglogical unless told otherwise), and the observation
/// of a converged mesh that the planner tests mutate.
enum MeshFixture {
    static func section(_ kind: MeshProviderKind = .pglogical) -> MeshSection {
        var mesh = MeshSection(provider: kind, databases: ["app"],
                               zones: [MeshZone(scope: "a", nodeName: "a"), MeshZone(scope: "b", nodeName: "b"),
                                       MeshZone(scope: "c", nodeName: "c", dsn: "host=proxy-c port=5000")],
                               ownScope: "a", username: "mesh")
        mesh.password = "pw"
        return mesh
    }

    static func member(_ name: String, _ port: Int) -> Member {
        Member(name: name, data: JSONObject([("conn_url", .string("postgres://127.0.0.1:\(port)/postgres")),
                                             ("api_url", .string("http://127.0.0.1:\(port + 1000)/patroni"))]))
    }

    static let members: [String: [Member]] = [
        "a": [member("a1", 5433), member("a0", 5432)],
        "b": [member("b0", 6432), member("b1", 6433)],
    ]

    static func desired(_ kind: MeshProviderKind = .pglogical, synchronous: Bool = false,
                        members: [String: [Member]] = MeshFixture.members) -> MeshDesired {
        MeshTopology.desired(mesh: section(kind), synchronousMode: synchronous, zoneMembers: members)
    }

    static let dsnA = "host=127.0.0.1,127.0.0.1 port=5432,5433 target_session_attrs=read-write connect_timeout=5 dbname=app user=mesh password=pw"
    static let dsnB = "host=127.0.0.1,127.0.0.1 port=6432,6433 target_session_attrs=read-write connect_timeout=5 dbname=app user=mesh password=pw"
    static let dsnC = "host=proxy-c port=5000 dbname=app user=mesh password=pw"

    static func settings(_ kind: MeshProviderKind = .pglogical) -> [String: MeshSettingObserved] {
        let conf = "/data/postgresql.conf"
        return [
            "wal_level": MeshSettingObserved(value: "logical", context: "postmaster", sourceFile: conf),
            "track_commit_timestamp": MeshSettingObserved(value: "on", context: "postmaster", sourceFile: conf),
            "shared_preload_libraries": MeshSettingObserved(value: "pg_stat_statements, \(kind.preloadLibrary)", context: "postmaster", sourceFile: conf),
            "output_plugin_libraries": MeshSettingObserved(value: "pgoutput, test_decoding, \(kind.outputPlugin)", context: "superuser", sourceFile: conf),
            kind.conflictResolutionParameter: MeshSettingObserved(value: "last_update_wins", context: "superuser", sourceFile: conf),
        ]
    }

    static func subscription(_ name: String, from node: String, dsn: String, status: String = "replicating") -> MeshSubscriptionObserved {
        MeshSubscriptionObserved(name: name, status: status, providerNode: node, interfaceName: node, providerDSN: dsn,
                                 slotName: "pgl_app_\(node)_\(name)", originName: "pgl_app_\(node)_\(name)", remoteLSN: "0/3000060")
    }

    /// Everything in place.
    static func converged(_ kind: MeshProviderKind = .pglogical) -> MeshObservation {
        var observation = MeshObservation()
        observation.settings = settings(kind)
        observation.role = MeshRoleObserved(superuser: true, replication: true, login: true)
        var app = MeshDatabaseObserved(name: "app")
        app.settings = settings(kind)
        app.extensionInstalled = true
        app.localNode = MeshLocalNode(name: "a", interfaceName: "a", dsn: dsnA)
        app.nodes = [MeshNodeObserved(name: "a", interfaces: [MeshInterfaceObserved(name: "a", dsn: dsnA)]),
                     MeshNodeObserved(name: "b", interfaces: [MeshInterfaceObserved(name: "b", dsn: dsnB)]),
                     MeshNodeObserved(name: "c", interfaces: [MeshInterfaceObserved(name: "c", dsn: dsnC)])]
        app.subscriptions = [subscription("sub_b_a", from: "b", dsn: dsnB), subscription("sub_c_a", from: "c", dsn: dsnC)]
        app.replicationSets = ["ddl_sql", "default", "default_insert_only"]
        app.tables = [MeshTableObserved(schema: "public", name: "items", hasIdentityIndex: true, sets: ["default"])]
        observation.databases = [app]
        return observation
    }
}

extension MeshObservation {
    /// A copy with the `app` database changed.
    func withApp(_ change: (inout MeshDatabaseObserved) -> Void) -> MeshObservation {
        var copy = self
        change(&copy.databases[0])
        return copy
    }
}
