import Testing
import StazConfig
import StazCore
@testable import StazMesh

/// `planMesh(desired, observation)`: one row per situation, the exact actions expected.
@Suite struct MeshPlannerTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var observation: MeshObservation
        var desired: MeshDesired = MeshFixture.desired()
        var actions: [MeshAction]
        /// A substring every listed note must contain (in order of the notes).
        var notes: [String] = []
        var testDescription: String { name }
    }

    static let base = MeshFixture.converged()

    static let cases: [Case] = [
        Case(name: "converged: nothing to do", observation: base, actions: []),
        Case(name: "missing subscription is created (provider node copy still there)",
             observation: base.withApp { $0.subscriptions.removeAll { $0.name == "sub_b_a" } },
             actions: [.createSubscription(database: "app", name: "sub_b_a", providerDSN: MeshFixture.dsnB,
                                           replicationSets: ["default", "default_insert_only", "ddl_sql"])]),
        Case(name: "missing subscription and provider node (first creation / dropped with its last subscription)",
             observation: base.withApp { app in
                 app.subscriptions.removeAll { $0.name == "sub_c_a" }
                 app.nodes.removeAll { $0.name == "c" }
             },
             actions: [.createSubscription(database: "app", name: "sub_c_a", providerDSN: MeshFixture.dsnC,
                                           replicationSets: ["default", "default_insert_only", "ddl_sql"])]),
        Case(name: "missing subscription, provider node copy has another DSN under the node's name",
             observation: base.withApp { app in
                 app.subscriptions.removeAll { $0.name == "sub_c_a" }
                 app.nodes[2].interfaces = [MeshInterfaceObserved(name: "c", dsn: "host=old port=1")]
             },
             actions: [.dropInterface(database: "app", node: "c", interface: "c"),
                       .addInterface(database: "app", node: "c", interface: "c", dsn: MeshFixture.dsnC),
                       .createSubscription(database: "app", name: "sub_c_a", providerDSN: MeshFixture.dsnC,
                                           replicationSets: ["default", "default_insert_only", "ddl_sql"])]),
        Case(name: "missing subscription, provider node copy without the interface named after it",
             observation: base.withApp { app in
                 app.subscriptions.removeAll { $0.name == "sub_c_a" }
                 app.nodes[2].interfaces = [MeshInterfaceObserved(name: "c_1234abcd", dsn: "host=old port=1")]
             },
             actions: [.addInterface(database: "app", node: "c", interface: "c", dsn: MeshFixture.dsnC),
                       .createSubscription(database: "app", name: "sub_c_a", providerDSN: MeshFixture.dsnC,
                                           replicationSets: ["default", "default_insert_only", "ddl_sql"])]),
        Case(name: "wrong provider DSN: add interface, switch, drop the old one",
             observation: base.withApp { app in
                 app.subscriptions[0].providerDSN = "host=10.9.9.9 port=5432 dbname=app user=mesh password=pw"
                 app.nodes[1].interfaces = [MeshInterfaceObserved(name: "b", dsn: app.subscriptions[0].providerDSN)]
             },
             actions: [.addInterface(database: "app", node: "b", interface: interfaceName(node: "b", dsn: MeshFixture.dsnB),
                                     dsn: MeshFixture.dsnB),
                       .alterSubscriptionInterface(database: "app", subscription: "sub_b_a",
                                                   interface: interfaceName(node: "b", dsn: MeshFixture.dsnB)),
                       .dropInterface(database: "app", node: "b", interface: "b")]),
        Case(name: "wrong provider DSN, an interface with the right DSN already exists (second pass)",
             observation: base.withApp { app in
                 app.subscriptions[0].providerDSN = "host=old port=1"
                 app.nodes[1].interfaces = [MeshInterfaceObserved(name: "b", dsn: "host=old port=1"),
                                            MeshInterfaceObserved(name: "b_new", dsn: MeshFixture.dsnB)]
             },
             actions: [.alterSubscriptionInterface(database: "app", subscription: "sub_b_a", interface: "b_new"),
                       .dropInterface(database: "app", node: "b", interface: "b")]),
        Case(name: "missing node is created with the zone-level DSN",
             observation: base.withApp { app in
                 app.localNode = nil; app.nodes = []; app.subscriptions = []; app.replicationSets = []
             },
             actions: [.createNode(database: "app", node: "a", dsn: MeshFixture.dsnA)]),
        Case(name: "own node DSN drifted (membership changed): new interface becomes the local one",
             observation: base.withApp { app in
                 app.localNode?.dsn = "host=127.0.0.1 port=5432 dbname=app user=mesh password=pw"
                 app.nodes[0].interfaces = [MeshInterfaceObserved(name: "a", dsn: "host=127.0.0.1 port=5432 dbname=app user=mesh password=pw")]
             },
             actions: [.addInterface(database: "app", node: "a", interface: interfaceName(node: "a", dsn: MeshFixture.dsnA), dsn: MeshFixture.dsnA),
                       .setLocalInterface(database: "app", node: "a", interface: interfaceName(node: "a", dsn: MeshFixture.dsnA)),
                       .dropInterface(database: "app", node: "a", interface: "a")]),
        Case(name: "local node with another name: reported, never dropped",
             observation: base.withApp { $0.localNode?.name = "legacy" },
             actions: [], notes: ["staz never drops a node"]),
        Case(name: "local node of another zone (a seeded copy): its running subscriptions paused, the command that forgets it named",
             observation: base.withApp { app in
                 app.localNode?.name = "b"
                 app.subscriptions[1].status = "disabled"
             },
             actions: [.pauseCopiedSubscription(database: "app", name: "sub_b_a")],
             notes: ["zone b's: this zone was seeded from a copy of it; run `stazctl mesh forget-copy`"]),
        Case(name: "changes Spock skipped are reported, nothing is done about them",
             observation: base.withApp { $0.skippedChanges = MeshApplyLog(count: 3, latestAt: "2026-12-03 22:00:00+00",
                                                                         latest: "duplicate key") },
             actions: [], notes: ["Spock skipped 3 change(s) it could not apply (spock.exception_log, newest at 2026-12-03 22:00:00+00: duplicate key)"]),
        Case(name: "an empty exception log says nothing",
             observation: base.withApp { $0.skippedChanges = MeshApplyLog(count: 0) }, actions: []),
        Case(name: "extension missing is created",
             observation: base.withApp { app in
                 app.extensionInstalled = false; app.localNode = nil; app.nodes = []; app.subscriptions = []
                 app.replicationSets = []; app.tables = []
             },
             actions: [.createExtension(database: "app")]),
        Case(name: "extension missing while the library is not preloaded: restart first",
             observation: {
                 var o = base.withApp { app in app.extensionInstalled = false; app.localNode = nil }
                 o.settings["shared_preload_libraries"]?.value = "pg_stat_statements"
                 o.settings["shared_preload_libraries"]?.pendingRestart = true
                 return o
             }(),
             actions: [], notes: ["needs 'pglogical'", "not loaded yet"]),
        Case(name: "extension not installed on the server",
             observation: base.withApp { app in app.extensionInstalled = false; app.extensionAvailable = false },
             actions: [], notes: ["not installed on this server"]),
        Case(name: "database missing is created",
             observation: base.withApp { app in app = MeshDatabaseObserved(name: "app"); app.exists = false },
             actions: [.createDatabase(name: "app")]),
        Case(name: "mesh role missing",
             observation: { var o = base; o.role = nil; return o }(),
             actions: [.ensureRole(name: "mesh", password: "pw")]),
        Case(name: "mesh role without superuser",
             observation: { var o = base; o.role = MeshRoleObserved(superuser: false, replication: true, login: true); return o }(),
             actions: [.ensureRole(name: "mesh", password: "pw")]),
        Case(name: "wrong setting overridden by ALTER SYSTEM: reset and reload",
             observation: {
                 var o = base
                 o.settings["pglogical.conflict_resolution"] = MeshSettingObserved(
                     value: "apply_remote", context: "superuser", sourceFile: "/data/postgresql.auto.conf")
                 return o
             }(),
             actions: [.resetSystemSetting(name: "pglogical.conflict_resolution")]),
        Case(name: "wrong setting from the configuration file (not reloaded yet): reload",
             observation: {
                 var o = base
                 o.settings["output_plugin_libraries"]?.value = "pgoutput, test_decoding"
                 return o
             }(),
             actions: [.reloadConfiguration]),
        Case(name: "wrong setting per database: ALTER DATABASE ... RESET",
             observation: {
                 let wrong = MeshSettingObserved(value: "keep_local", context: "superuser", source: "database")
                 var o = base.withApp { $0.settings["pglogical.conflict_resolution"] = wrong }
                 o.settings["pglogical.conflict_resolution"] = wrong
                 return o
             }(),
             actions: [.resetDatabaseSetting(database: "app", name: "pglogical.conflict_resolution")]),
        Case(name: "postmaster setting wrong: only reported (pending restart)",
             observation: { var o = base; o.settings["track_commit_timestamp"]?.value = "off"; return o }(),
             actions: [], notes: ["track_commit_timestamp is 'off', needs 'on'"]),
        Case(name: "server without output_plugin_libraries: nothing to check",
             observation: { var o = base; o.settings["output_plugin_libraries"] = nil; return o }(),
             actions: []),
        Case(name: "synchronous mode needs pglogical.synchronous_commit (postmaster: reported)",
             observation: {
                 var o = base
                 o.settings["pglogical.synchronous_commit"] = MeshSettingObserved(value: "off", context: "postmaster")
                 return o
             }(),
             desired: MeshFixture.desired(synchronous: true),
             actions: [], notes: ["pglogical.synchronous_commit is 'off'"]),
        Case(name: "new tables go into default (with PK) or default_insert_only (without)",
             observation: base.withApp { app in
                 app.tables += [MeshTableObserved(schema: "public", name: "events", hasIdentityIndex: true),
                                MeshTableObserved(schema: "public", name: "log", hasIdentityIndex: false),
                                MeshTableObserved(schema: "public", name: "manual", hasIdentityIndex: true, sets: ["custom"])]
             },
             actions: [.addTable(database: "app", set: "default", schema: "public", table: "events"),
                       .addTable(database: "app", set: "default_insert_only", schema: "public", table: "log")]),
        Case(name: "configured replication set missing on the node and on the subscriptions",
             observation: base,
             desired: {
                 var d = MeshFixture.desired()
                 d.databases[0].replicationSets.append("extra")
                 return d
             }(),
             actions: [.createReplicationSet(database: "app", name: "extra"),
                       .addSubscriptionReplicationSet(database: "app", subscription: "sub_b_a", set: "extra"),
                       .addSubscriptionReplicationSet(database: "app", subscription: "sub_c_a", set: "extra")]),
        Case(name: "zone without members in the DCS: no subscription to it, reported",
             observation: base.withApp { $0.subscriptions.removeAll { $0.name == "sub_b_a" } },
             desired: MeshFixture.desired(members: ["a": MeshFixture.members["a"]!, "b": []]),
             actions: [], notes: ["zone b: no member with a conn_url"]),
        Case(name: "subscription forwarding all origins or disabled: reported, not changed",
             observation: base.withApp { app in
                 app.subscriptions[0].forwardOrigins = ["all"]
                 app.subscriptions[1].enabled = false
             },
             actions: [], notes: ["forward_origins '{}'", "sub_c_a is disabled"]),
        Case(name: "subscription from an unexpected node: reported",
             observation: base.withApp { $0.subscriptions[0].providerNode = "x" },
             actions: [], notes: ["receives from node 'x'"]),
        Case(name: "schema file not applied yet: applied before anything else of the database",
             observation: base.withApp { app in
                 app.extensionInstalled = false
                 app.localNode = nil
                 app.subscriptions = []
             },
             desired: withSchema(.file(path: "/etc/staz/schema.sql", digest: "d2", statements: ["CREATE TABLE IF NOT EXISTS t (id int)"])),
             actions: [.applySchema(database: "app", path: "/etc/staz/schema.sql", digest: "d2",
                                    statements: ["CREATE TABLE IF NOT EXISTS t (id int)"])]),
        Case(name: "schema file changed: applied again, the rest waits for the next round",
             observation: base.withApp { $0.schemaDigest = "d1"; $0.subscriptions.removeAll { $0.name == "sub_b_a" } },
             desired: withSchema(.file(path: "/s.sql", digest: "d2", statements: ["SELECT 1"])),
             actions: [.applySchema(database: "app", path: "/s.sql", digest: "d2", statements: ["SELECT 1"])]),
        Case(name: "schema file applied: nothing more",
             observation: base.withApp { $0.schemaDigest = "d2" },
             desired: withSchema(.file(path: "/s.sql", digest: "d2", statements: ["SELECT 1"])),
             actions: []),
        Case(name: "schema file unusable and never applied: the database does not join the mesh",
             observation: base.withApp { app in
                 app.localNode = nil
                 app.subscriptions = []
             },
             desired: withSchema(.unusable(path: "/s.sql", error: "cannot read it: no such file")),
             actions: [], notes: ["mesh.schema /s.sql: cannot read it: no such file; the database joins the mesh once"]),
        Case(name: "schema file unusable after it was applied: reported, the mesh goes on",
             observation: base.withApp { $0.schemaDigest = "d1"; $0.schemaAppliedAt = "2026-12-05 10:00:00+00"
                 $0.subscriptions.removeAll { $0.name == "sub_b_a" } },
             desired: withSchema(.unusable(path: "/s.sql", error: "cannot read it")),
             actions: [.createSubscription(database: "app", name: "sub_b_a", providerDSN: MeshFixture.dsnB,
                                           replicationSets: ["default", "default_insert_only", "ddl_sql"])],
             notes: ["the version applied on 2026-12-05 10:00:00+00 stays"]),
    ]

    static func withSchema(_ file: MeshSchemaFile) -> MeshDesired {
        var desired = MeshFixture.desired()
        desired.databases[0].schemaFile = file
        return desired
    }

    @Test(arguments: cases)
    func plan(_ row: Case) {
        let plan = meshPlan(row.desired, row.observation)
        #expect(plan.actions == row.actions, "\(row.name)\nnotes: \(plan.notes)")
        #expect(planMesh(row.desired, row.observation) == row.actions)
        #expect(plan.notes.count == row.notes.count, "\(row.name): notes \(plan.notes)")
        for (note, wanted) in zip(plan.notes, row.notes) {
            #expect(note.contains(wanted), "\(row.name): '\(note)' does not contain '\(wanted)'")
        }
    }

    @Test func sameForSpock() {
        let desired = MeshFixture.desired(.spock)
        #expect(planMesh(desired, MeshFixture.converged(.spock)).isEmpty)
        let missing = MeshFixture.converged(.spock).withApp { $0.subscriptions.removeAll { $0.name == "sub_c_a" } }
        #expect(planMesh(desired, missing) == [.createSubscription(database: "app", name: "sub_c_a", providerDSN: MeshFixture.dsnC,
                                                                   replicationSets: ["default", "default_insert_only", "ddl_sql"])])
    }

    @Test func interfaceNamesAreStableAndBounded() {
        let name = interfaceName(node: "b", dsn: MeshFixture.dsnB)
        #expect(name == interfaceName(node: "b", dsn: MeshFixture.dsnB))
        #expect(name != interfaceName(node: "b", dsn: MeshFixture.dsnC))
        #expect(name.hasPrefix("b_") && name.count == 10)
        #expect(interfaceName(node: String(repeating: "n", count: 63), dsn: "x").utf8.count == 63)
    }
}
