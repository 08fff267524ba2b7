import StazPostgres

/// The reconciler and the integrity check both change subscriptions: the reconciler their
/// interfaces (an UPDATE of the subscription catalog, then dropping the old interface), the
/// integrity check their state (the extension's disable/enable functions, which read the
/// subscription row and write all of it back). Interleaved, the disable could write back the
/// interface the reconciler had just moved away from and then dropped, leaving a dangling
/// interface id that breaks `show_subscription_status` and with it every later observation.
/// Each change therefore runs under one session-level advisory lock per database, so each
/// writer reads what the other committed. (Session-level because the integrity check's
/// `immediate` disable cannot run inside a transaction block.)
public enum MeshCatalogLock {
    /// An arbitrary constant ("staz mesh" in ASCII, truncated to 63 bits).
    static let key: Int64 = 0x7374_617A_6D65_7368

    public static let lock = "SELECT pg_catalog.pg_advisory_lock(\(key))::text AS locked"
    public static let unlock = "SELECT pg_catalog.pg_advisory_unlock(\(key))::text AS unlocked"

    /// Runs `body` between lock and unlock on `session`; unlocks on failure too (a session that
    /// broke releases its locks by ending).
    public static func holding<T>(_ session: SQLSession, timeout: Double, _ body: () async throws -> T) async throws -> T {
        _ = try await session.query(lock, timeout: timeout)
        do {
            let result = try await body()
            _ = try await session.query(unlock, timeout: timeout)
            return result
        } catch {
            if !session.isClosed { _ = try? await session.query(unlock, timeout: timeout) }
            throw error
        }
    }
}
