import StazCore

/// The catalog queries behind `MeshObservation`, and how their text rows are read (pure, so
/// the parsing is unit-tested). Every column is cast to text.
public enum MeshQueries {
    public typealias Row = [String: String?]

    static func text(_ row: Row, _ key: String) -> String? { row[key].flatMap { $0 } }
    static func list(_ row: Row, _ key: String) -> [String] {
        (text(row, key) ?? "").split(separator: ",").map(String.init).filter { !$0.isEmpty }
    }

    // MARK: server-wide

    public static func settings(_ names: [String]) -> String {
        """
        SELECT name, setting, context, source, coalesce(sourcefile, '') AS sourcefile, pending_restart::text AS pending_restart
          FROM pg_catalog.pg_settings WHERE name IN (\(names.map(literal).joined(separator: ", ")))
        """
    }

    public static func parseSettings(_ rows: [Row]) -> [String: MeshSettingObserved] {
        var result: [String: MeshSettingObserved] = [:]
        for row in rows {
            guard let name = text(row, "name") else { continue }
            result[name] = MeshSettingObserved(value: text(row, "setting") ?? "", context: text(row, "context") ?? "",
                                               source: text(row, "source") ?? "", sourceFile: text(row, "sourcefile") ?? "",
                                               pendingRestart: text(row, "pending_restart") == "true")
        }
        return result
    }

    public static func role(_ name: String) -> String {
        """
        SELECT rolsuper::text AS superuser, rolreplication::text AS replication, rolcanlogin::text AS login
          FROM pg_catalog.pg_roles WHERE rolname = \(literal(name))
        """
    }

    public static func parseRole(_ rows: [Row]) -> MeshRoleObserved? {
        guard let row = rows.first else { return nil }
        return MeshRoleObserved(superuser: text(row, "superuser") == "true", replication: text(row, "replication") == "true",
                                login: text(row, "login") == "true")
    }

    public static let databases = "SELECT datname::text AS name FROM pg_catalog.pg_database WHERE datallowconn"

    /// Logical slots of the provider's plugin, with the lag of their consumer. PostgreSQL
    /// shows no `replay_lag` once a consumer has caught up and nothing new is written: that is
    /// no lag (0), not an unknown one.
    public static func outgoingSlots(plugin: String) -> String {
        """
        SELECT s.slot_name::text AS name, s.database::text AS database, s.active::text AS active,
               s.confirmed_flush_lsn::text AS confirmed_flush_lsn,
               CASE WHEN pg_catalog.pg_is_in_recovery() THEN NULL
                    ELSE pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint::text END AS lag_bytes,
               CASE WHEN r.replay_lag IS NOT NULL THEN extract(epoch FROM r.replay_lag)::text
                    WHEN r.replay_lsn IS NOT NULL AND r.replay_lsn >= r.sent_lsn THEN '0' END AS lag_seconds,
               r.application_name AS consumer
          FROM pg_catalog.pg_replication_slots s
          LEFT JOIN pg_catalog.pg_stat_replication r ON r.pid = s.active_pid
         WHERE s.slot_type = 'logical' AND s.plugin = \(literal(plugin))
         ORDER BY s.slot_name
        """
    }

    public static func parseSlots(_ rows: [Row]) -> [MeshSlotObserved] {
        rows.compactMap { row in
            guard let name = text(row, "name") else { return nil }
            return MeshSlotObserved(name: name, database: text(row, "database") ?? "", active: text(row, "active") == "true",
                                    lagBytes: text(row, "lag_bytes").flatMap { Int64($0) },
                                    lagSeconds: text(row, "lag_seconds").flatMap { Double($0) },
                                    consumer: text(row, "consumer"), confirmedFlushLSN: text(row, "confirmed_flush_lsn"))
        }
    }

    public static let currentLSN = """
        SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN NULL ELSE pg_catalog.pg_current_wal_lsn()::text END AS lsn
        """

    // MARK: per database

    public static func extensionState(_ provider: MeshProvider) -> String {
        """
        SELECT (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = \(literal(provider.extensionName))) AS installed,
               EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = \(literal(provider.extensionName)))::text AS available
        """
    }

    public static func localNode(_ provider: MeshProvider) -> String {
        """
        SELECT n.node_name::text AS node, i.if_name::text AS interface, i.if_dsn AS dsn
          FROM \(provider.table("local_node")) l
          JOIN \(provider.table("node")) n ON n.node_id = l.node_id
          JOIN \(provider.table("node_interface")) i ON i.if_id = l.node_local_interface
        """
    }

    public static func nodes(_ provider: MeshProvider) -> String {
        """
        SELECT n.node_name::text AS node, i.if_name::text AS interface, i.if_dsn AS dsn
          FROM \(provider.table("node")) n
          LEFT JOIN \(provider.table("node_interface")) i ON i.if_nodeid = n.node_id
         ORDER BY n.node_name, i.if_name
        """
    }

    public static func parseNodes(_ rows: [Row]) -> [MeshNodeObserved] {
        var nodes: [MeshNodeObserved] = []
        for row in rows {
            guard let node = text(row, "node") else { continue }
            if nodes.last?.name != node { nodes.append(MeshNodeObserved(name: node, interfaces: [])) }
            if let interface = text(row, "interface") {
                nodes[nodes.count - 1].interfaces.append(MeshInterfaceObserved(name: interface, dsn: text(row, "dsn") ?? ""))
            }
        }
        return nodes
    }

    /// Subscriptions with their status (`show_subscription_status`/`sub_show_status`), the
    /// interface in use, and the replication origin's progress (origin named like the slot).
    public static func subscriptions(_ provider: MeshProvider) -> String {
        """
        SELECT s.sub_name::text AS name, coalesce(st.status, 'unknown') AS status, o.node_name::text AS provider_node,
               oi.if_name::text AS interface, oi.if_dsn AS provider_dsn, s.sub_slot_name::text AS slot_name,
               s.sub_enabled::text AS enabled, array_to_string(s.sub_replication_sets, ',') AS replication_sets,
               array_to_string(s.sub_forward_origins, ',') AS forward_origins,
               ro.roname::text AS origin, os.remote_lsn::text AS remote_lsn, os.local_lsn::text AS local_lsn
          FROM \(provider.table("subscription")) s
          JOIN \(provider.table("node")) o ON o.node_id = s.sub_origin
          JOIN \(provider.table("node_interface")) oi ON oi.if_id = s.sub_origin_if
          LEFT JOIN \(provider.qualified(provider.subscriptionStatus))() st ON st.subscription_name = s.sub_name::text
          LEFT JOIN pg_catalog.pg_replication_origin ro ON ro.roname = s.sub_slot_name::text
          LEFT JOIN pg_catalog.pg_replication_origin_status os ON os.local_id = ro.roident
         ORDER BY s.sub_name
        """
    }

    public static func parseSubscriptions(_ rows: [Row]) -> [MeshSubscriptionObserved] {
        rows.compactMap { row in
            guard let name = text(row, "name") else { return nil }
            return MeshSubscriptionObserved(
                name: name, status: text(row, "status") ?? "unknown", providerNode: text(row, "provider_node") ?? "",
                interfaceName: text(row, "interface") ?? "", providerDSN: text(row, "provider_dsn") ?? "",
                slotName: text(row, "slot_name") ?? "", enabled: text(row, "enabled") != "false",
                replicationSets: list(row, "replication_sets"), forwardOrigins: list(row, "forward_origins"),
                originName: text(row, "origin"), remoteLSN: text(row, "remote_lsn"),
                localLSN: text(row, "local_lsn"))
        }
    }

    /// Spock's exception log: how many changes were skipped, and the newest one.
    public static let skippedChanges = """
        SELECT count(*)::text AS count, max(retry_errored_at)::text AS latest_at,
               (SELECT error_message FROM spock.exception_log ORDER BY retry_errored_at DESC LIMIT 1) AS latest
          FROM spock.exception_log
        """

    /// Spock's resolution log: how many conflicts were resolved, and the newest one.
    public static let resolvedConflicts = """
        SELECT count(*)::text AS count, max(log_time)::text AS latest_at,
               (SELECT concat(conflict_type, ' on ', relname, ': ', conflict_resolution)
                  FROM spock.resolutions ORDER BY log_time DESC, id DESC LIMIT 1) AS latest
          FROM spock.resolutions
        """

    /// The server's current log file as an absolute path (NULL without the logging collector).
    public static let serverLogFile = """
        SELECT CASE WHEN f IS NULL THEN NULL WHEN f LIKE '/%' THEN f
                    ELSE pg_catalog.current_setting('data_directory') || '/' || f END AS path
          FROM pg_catalog.pg_current_logfile() AS f
        """

    /// The one row of `skippedChanges` or `resolvedConflicts`.
    public static func parseApplyLog(_ rows: [Row]) -> MeshApplyLog? {
        guard let row = rows.first, let count = text(row, "count").flatMap({ Int($0) }) else { return nil }
        return MeshApplyLog(count: count, latestAt: text(row, "latest_at"), latest: text(row, "latest"))
    }

    public static func replicationSets(_ provider: MeshProvider) -> String {
        """
        SELECT rs.set_name::text AS name FROM \(provider.table("replication_set")) rs
          JOIN \(provider.table("local_node")) l ON l.node_id = rs.set_nodeid
         ORDER BY rs.set_name
        """
    }

    /// Ordinary tables of `schemas` (partitions excluded), whether UPDATE/DELETE can be
    /// replicated (primary key or replica identity index), and the sets they are in.
    public static func tables(_ provider: MeshProvider, schemas: [String]) -> String {
        let names = schemas.isEmpty ? "NULL" : schemas.map(literal).joined(separator: ", ")
        return """
        SELECT n.nspname::text AS schema, c.relname::text AS name,
               EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid
                          AND ((c.relreplident = 'd' AND i.indisprimary) OR (c.relreplident = 'i' AND i.indisreplident)))::text AS identity,
               (SELECT string_agg(rs.set_name::text, ',' ORDER BY rs.set_name)
                  FROM \(provider.table("replication_set_table")) t
                  JOIN \(provider.table("replication_set")) rs ON rs.set_id = t.set_id
                 WHERE t.set_reloid = c.oid) AS sets
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'r' AND NOT c.relispartition AND c.relpersistence = 'p' AND n.nspname IN (\(names))
         ORDER BY 1, 2
        """
    }

    public static func parseTables(_ rows: [Row]) -> [MeshTableObserved] {
        rows.compactMap { row in
            guard let schema = text(row, "schema"), let name = text(row, "name") else { return nil }
            return MeshTableObserved(schema: schema, name: name, hasIdentityIndex: text(row, "identity") == "true",
                                     sets: list(row, "sets"))
        }
    }
}
