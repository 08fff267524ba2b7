import Testing
import StazConfig
@testable import StazMesh

/// Every action rendered for both providers, exact text. This is how the Spock paths are
/// covered: Spock needs a patched server and cannot run here; its names and argument names
/// come from its 6.0 SQL.
@Suite struct MeshSQLTests {
    static let pglogical = MeshSQL(provider: .pglogical)
    static let spock = MeshSQL(provider: .spock)
    static let dsn = "host=h1,h2 port=5432,5433 dbname=app user=mesh password=it's"

    struct Row: CustomTestStringConvertible, Sendable {
        var action: MeshAction
        var pglogical: [String]
        var spock: [String]
        var testDescription: String { action.summary }
    }

    static let rows: [Row] = [
        Row(action: .createExtension(database: "app"),
            pglogical: [#"CREATE EXTENSION IF NOT EXISTS "pglogical""#],
            spock: [#"CREATE EXTENSION IF NOT EXISTS "spock""#]),
        Row(action: .createNode(database: "app", node: "zone_a", dsn: dsn),
            pglogical: ["SELECT pglogical.create_node(node_name => 'zone_a', dsn => 'host=h1,h2 port=5432,5433 dbname=app user=mesh password=it''s')::text AS result"],
            spock: ["SELECT spock.node_create(node_name => 'zone_a', dsn => 'host=h1,h2 port=5432,5433 dbname=app user=mesh password=it''s')::text AS result"]),
        Row(action: .addInterface(database: "app", node: "zone_b", interface: "zone_b_0a1b2c3d", dsn: "host=x"),
            pglogical: ["SELECT pglogical.alter_node_add_interface(node_name => 'zone_b', interface_name => 'zone_b_0a1b2c3d', dsn => 'host=x')::text AS result"],
            spock: ["SELECT spock.node_add_interface(node_name => 'zone_b', interface_name => 'zone_b_0a1b2c3d', dsn => 'host=x')::text AS result"]),
        Row(action: .dropInterface(database: "app", node: "zone_b", interface: "zone_b"),
            pglogical: ["SELECT pglogical.alter_node_drop_interface(node_name => 'zone_b', interface_name => 'zone_b')::text AS result"],
            spock: ["SELECT spock.node_drop_interface(node_name => 'zone_b', interface_name => 'zone_b')::text AS result"]),
        Row(action: .createSubscription(database: "app", name: "sub_zone_b_zone_a", providerDSN: "host=b dbname=app",
                                        replicationSets: ["default", "default_insert_only", "ddl_sql"]),
            pglogical: ["SELECT pglogical.create_subscription(subscription_name => 'sub_zone_b_zone_a', provider_dsn => 'host=b dbname=app', "
                        + "replication_sets => ARRAY['default', 'default_insert_only', 'ddl_sql']::text[], synchronize_structure => false, "
                        + "synchronize_data => false, forward_origins => '{}'::text[])::text AS result"],
            spock: ["SELECT spock.sub_create(subscription_name => 'sub_zone_b_zone_a', provider_dsn => 'host=b dbname=app', "
                    + "replication_sets => ARRAY['default', 'default_insert_only', 'ddl_sql']::text[], synchronize_structure => false, "
                    + "synchronize_data => false, forward_origins => '{}'::text[])::text AS result"]),
        Row(action: .alterSubscriptionInterface(database: "app", subscription: "sub_b_a", interface: "b_12345678"),
            pglogical: ["SELECT pglogical.alter_subscription_interface(subscription_name => 'sub_b_a', interface_name => 'b_12345678')::text AS result"],
            spock: ["SELECT spock.sub_alter_interface(subscription_name => 'sub_b_a', interface_name => 'b_12345678')::text AS result"]),
        Row(action: .addSubscriptionReplicationSet(database: "app", subscription: "sub_b_a", set: "extra"),
            pglogical: ["SELECT pglogical.alter_subscription_add_replication_set(subscription_name => 'sub_b_a', replication_set => 'extra')::text AS result"],
            spock: ["SELECT spock.sub_add_repset(subscription_name => 'sub_b_a', replication_set => 'extra')::text AS result"]),
        Row(action: .pauseCopiedSubscription(database: "app", name: "sub_b_a"),
            pglogical: ["SELECT pglogical.alter_subscription_disable(subscription_name => 'sub_b_a', immediate => true)::text AS result"],
            spock: ["SELECT spock.sub_disable(subscription_name => 'sub_b_a', immediate => true)::text AS result"]),
        Row(action: .createReplicationSet(database: "app", name: "extra"),
            pglogical: ["SELECT pglogical.create_replication_set(set_name => 'extra')::text AS result"],
            spock: ["SELECT spock.repset_create(set_name => 'extra')::text AS result"]),
        Row(action: .addTable(database: "app", set: "default", schema: "public", table: "Order Items"),
            pglogical: [#"SELECT pglogical.replication_set_add_table(set_name => 'default', relation => '"public"."Order Items"'::regclass, synchronize_data => false)::text AS result"#],
            spock: [#"SELECT spock.repset_add_table(set_name => 'default', relation => '"public"."Order Items"'::regclass, synchronize_data => false)::text AS result"#]),
        Row(action: .createDatabase(name: "app"),
            pglogical: [#"CREATE DATABASE "app""#], spock: [#"CREATE DATABASE "app""#]),
        Row(action: .reloadConfiguration,
            pglogical: ["SELECT pg_catalog.pg_reload_conf()::text AS result"],
            spock: ["SELECT pg_catalog.pg_reload_conf()::text AS result"]),
        Row(action: .resetSystemSetting(name: "pglogical.conflict_resolution"),
            pglogical: ["ALTER SYSTEM RESET pglogical.conflict_resolution", "SELECT pg_catalog.pg_reload_conf()::text AS result"],
            spock: ["ALTER SYSTEM RESET pglogical.conflict_resolution", "SELECT pg_catalog.pg_reload_conf()::text AS result"]),
        Row(action: .resetDatabaseSetting(database: "app", name: "spock.conflict_resolution"),
            pglogical: [#"ALTER DATABASE "app" RESET spock.conflict_resolution"#],
            spock: [#"ALTER DATABASE "app" RESET spock.conflict_resolution"#]),
    ]

    @Test(arguments: rows)
    func rendersBothProviders(_ row: Row) {
        #expect(Self.pglogical.statements(for: row.action) == row.pglogical)
        #expect(Self.spock.statements(for: row.action) == row.spock)
    }

    @Test func everyExtensionCallUsesNamedArguments() {
        let actions: [MeshAction] = Self.rows.map(\.action) + [.setLocalInterface(database: "app", node: "a", interface: "a_1")]
        for sql in [Self.pglogical, Self.spock] {
            for action in actions {
                for statement in sql.statements(for: action) where statement.contains(sql.provider.schema + ".") && statement.hasPrefix("SELECT") {
                    let call = statement.drop { $0 != "(" }
                    #expect(call.contains("=>"), "positional call: \(statement)")
                }
            }
        }
    }

    @Test func setLocalInterfaceIsOneStatementOnTheProviderCatalog() {
        for (sql, schema) in [(Self.pglogical, "pglogical"), (Self.spock, "spock")] {
            let statements = sql.statements(for: .setLocalInterface(database: "app", node: "zone_a", interface: "zone_a_1234abcd"))
            #expect(statements.count == 1)
            let text = statements[0]
            #expect(text.contains("UPDATE \(schema).subscription SET sub_target_if"))
            #expect(text.contains("UPDATE \(schema).local_node SET node_local_interface"))
            #expect(text.contains("n.node_name = 'zone_a' AND i.if_name = 'zone_a_1234abcd'"))
            #expect(text.contains("FROM \(schema).node_interface i"))
        }
    }

    @Test func roleIsCreatedWithoutLoggingThePassword() {
        let statements = Self.pglogical.statements(for: .ensureRole(name: "mesh", password: "s3cret"))
        #expect(statements.first == "SET log_statement = 'none'")
        #expect(statements.contains { $0.contains("CREATE ROLE \"mesh\" WITH SUPERUSER REPLICATION LOGIN PASSWORD 's3cret'") })
        #expect(statements.contains { $0.contains("ALTER ROLE \"mesh\" WITH SUPERUSER REPLICATION LOGIN PASSWORD 's3cret'") })
        #expect(!MeshAction.ensureRole(name: "mesh", password: "s3cret").summary.contains("s3cret"))
    }

    @Test func replicatedDDL() {
        #expect(Self.pglogical.replicateDDL("CREATE TABLE public.t (id int primary key)")
                == "SELECT pglogical.replicate_ddl_command(command => 'CREATE TABLE public.t (id int primary key)'::text, replication_sets => ARRAY['ddl_sql']::text[])::text AS result")
        #expect(Self.spock.replicateDDL("ALTER TABLE public.t ADD c text")
                == "SELECT spock.replicate_ddl(command => 'ALTER TABLE public.t ADD c text'::text, replication_sets => ARRAY['ddl_sql']::text[])::text AS result")
    }

    @Test func providerDescriptions() {
        #expect(MeshProvider.spock.slotPrefix == "spk_" && MeshProvider.pglogical.slotPrefix == "pgl_")
        #expect(MeshProvider.spock.outputPlugin == "spock_output" && MeshProvider.pglogical.outputPlugin == "pglogical_output")
        #expect(MeshProvider.spock.preloadLibrary == "spock" && MeshProvider.pglogical.preloadLibrary == "pglogical")
        #expect(MeshProvider.spock.conflictResolutionParameter == "spock.conflict_resolution")
        #expect(MeshProvider.pglogical.synchronousCommitParameter == "pglogical.synchronous_commit")
        #expect(MeshProvider.forKind(.spock) == .spock)
    }

    @Test func observationQueriesUseTheProviderCatalog() {
        #expect(MeshQueries.subscriptions(.spock).contains("LEFT JOIN spock.sub_show_status() st"))
        #expect(MeshQueries.subscriptions(.pglogical).contains("LEFT JOIN pglogical.show_subscription_status() st"))
        #expect(MeshQueries.subscriptions(.spock).contains("FROM spock.subscription s"))
        #expect(MeshQueries.localNode(.spock).contains("FROM spock.local_node l"))
        #expect(MeshQueries.tables(.pglogical, schemas: ["public", "o'k"]).contains("n.nspname IN ('public', 'o''k')"))
        #expect(MeshQueries.outgoingSlots(plugin: "spock_output").contains("s.plugin = 'spock_output'"))
        #expect(MeshQueries.extensionState(.spock).contains("extname = 'spock'"))
    }
}
