import StazPostgres

/// SQL text for the mesh, one code path for both providers. Every extension function is
/// called with named arguments, and every argument with a provider default that differs
/// (pglogical: `synchronize_data = true`, `forward_origins = '{all}'`) is passed explicitly.
public struct MeshSQL: Sendable {
    public let provider: MeshProvider
    public init(provider: MeshProvider) { self.provider = provider }

    /// The statements of one action, run in order on one connection to `action.database`
    /// (nil: the maintenance database).
    public func statements(for action: MeshAction) -> [String] {
        let p = provider
        switch action {
        case .ensureRole(let name, let password):
            // The password is an inline literal: keep it out of the server log.
            return ["SET log_statement = 'none'", "SET log_min_duration_statement = -1",
                    RoleSQL.createOrUpdate(role: name, password: password, options: ["SUPERUSER", "REPLICATION", "LOGIN"]),
                    "RESET log_statement", "RESET log_min_duration_statement"]
        case .createDatabase(let name):
            return ["CREATE DATABASE \(identifier(name))"]
        case .reloadConfiguration:
            return ["SELECT pg_catalog.pg_reload_conf()::text AS result"]
        case .resetSystemSetting(let name):
            return ["ALTER SYSTEM RESET \(name)", "SELECT pg_catalog.pg_reload_conf()::text AS result"]
        case .resetDatabaseSetting(let database, let name):
            return ["ALTER DATABASE \(identifier(database)) RESET \(name)"]
        case .createExtension:
            return ["CREATE EXTENSION IF NOT EXISTS \(identifier(p.extensionName))"]
        case .createNode(_, let node, let dsn):
            return [call(p.createNode, [("node_name", literal(node)), ("dsn", literal(dsn))])]
        case .addInterface(_, let node, let interface, let dsn):
            return [call(p.addInterface, [("node_name", literal(node)), ("interface_name", literal(interface)), ("dsn", literal(dsn))])]
        case .dropInterface(_, let node, let interface):
            return [call(p.dropInterface, [("node_name", literal(node)), ("interface_name", literal(interface))])]
        case .setLocalInterface(_, let node, let interface):
            // One statement, so the local node and the subscriptions' target interface switch
            // together (no function exists for this in either extension). Every subscription
            // here targets the local node, so all of them move, not only those on the old
            // interface: one left behind breaks show_subscription_status once that interface
            // is dropped.
            return ["""
                WITH new_if AS (SELECT i.if_id FROM \(p.table("node_interface")) i
                                  JOIN \(p.table("node")) n ON n.node_id = i.if_nodeid
                                 WHERE n.node_name = \(literal(node)) AND i.if_name = \(literal(interface))),
                     targets AS (UPDATE \(p.table("subscription")) SET sub_target_if = (SELECT if_id FROM new_if)
                                  WHERE sub_target_if IS DISTINCT FROM (SELECT if_id FROM new_if)
                                    AND EXISTS (SELECT 1 FROM new_if)
                                  RETURNING sub_id)
                UPDATE \(p.table("local_node")) SET node_local_interface = (SELECT if_id FROM new_if)
                 WHERE EXISTS (SELECT 1 FROM new_if) RETURNING node_id::text AS result
                """]
        case .createReplicationSet(_, let name):
            return [call(p.createReplicationSet, [("set_name", literal(name))])]
        case .addTable(_, let set, let schema, let table):
            return [call(p.addTable, [("set_name", literal(set)),
                                      ("relation", literal(identifier(schema) + "." + identifier(table)) + "::regclass"),
                                      ("synchronize_data", "false")])]
        case .createSubscription(_, let name, let dsn, let sets):
            // synchronize_structure/data false: no initial copy. Every zone must already have
            // the same schema and data when the subscription is created (the demo and the
            // tests create their tables before the mesh subscribes, later DDL goes through
            // `stazctl mesh ddl`); a copy would overwrite a zone that already took writes.
            return [call(p.createSubscription, [
                ("subscription_name", literal(name)), ("provider_dsn", literal(dsn)),
                ("replication_sets", textArray(sets)), ("synchronize_structure", "false"),
                ("synchronize_data", "false"), ("forward_origins", "'{}'::text[]"),
            ])]
        case .alterSubscriptionInterface(_, let subscription, let interface):
            return [call(p.alterSubscriptionInterface, [("subscription_name", literal(subscription)),
                                                        ("interface_name", literal(interface))])]
        case .addSubscriptionReplicationSet(_, let subscription, let set):
            return [call(p.addSubscriptionReplicationSet, [("subscription_name", literal(subscription)),
                                                           ("replication_set", literal(set))])]
        case .pauseCopiedSubscription(_, let name):
            return [call(p.disableSubscription, [("subscription_name", literal(name)), ("immediate", "true")])]
        case .applySchema(_, let path, let digest, let statements):
            let record = identifier(MeshSchemaFile.recordSchema) + "." + identifier(MeshSchemaFile.recordTable)
            // Every zone runs the file itself: Spock's automatic DDL replication, if a user
            // turned it on, must not send it to zones that run it too.
            let localOnly = p.kind == .spock ? ["SET LOCAL spock.enable_ddl_replication = off"] : []
            return ["BEGIN"] + localOnly + [
                "CREATE SCHEMA IF NOT EXISTS \(identifier(MeshSchemaFile.recordSchema))",
                "CREATE TABLE IF NOT EXISTS \(record) (digest text NOT NULL, path text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
            ] + statements + [
                "DELETE FROM \(record)",
                "INSERT INTO \(record) (digest, path) VALUES (\(literal(digest)), \(literal(path)))",
                "COMMIT",
            ]
        }
    }

    /// DDL run locally and queued for every subscriber (`stazctl mesh ddl`). The command is cast
    /// to text: Spock also has a text[] overload.
    public func replicateDDL(_ command: String, replicationSets: [String] = ["ddl_sql"]) -> String {
        call(provider.replicateDDL, [("command", literal(command) + "::text"), ("replication_sets", textArray(replicationSets))])
    }

    /// `SELECT schema.function(name => value, ...)::text AS result`.
    func call(_ function: String, _ arguments: [(String, String)]) -> String {
        let args = arguments.map { "\($0.0) => \($0.1)" }.joined(separator: ", ")
        return "SELECT \(provider.qualified(function))(\(args))::text AS result"
    }

    func textArray(_ items: [String]) -> String {
        "ARRAY[" + items.map(literal).joined(separator: ", ") + "]::text[]"
    }
}

/// SQL string literal (standard_conforming_strings): quotes doubled.
func literal(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
/// SQL identifier, always quoted.
func identifier(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
