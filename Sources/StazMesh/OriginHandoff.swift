import Logging
import StazConfig
import StazCore
import StazPostgres

// A promoted Spock subscriber must ask its providers for what it really has.
//
// Spock's apply worker keeps its progress in a replication origin named after its slot and
// starts streaming from it (spock_apply.c, spock_apply_main), but the commits it writes carry
// the provider's node id as their origin (handle_origin). A physical standby replays those
// commits into the origin numbered like the provider node, never into the slot-named one, which
// stays where the base backup left it. Once promoted, the worker would ask for that stale
// position, and whatever the provider's slot still has beyond it (a held copy put in the slot's
// place, or feedback that had not arrived yet) is applied a second time.
//
// So when recovery ends, before Spock's supervisor (started by the postmaster at the end of
// recovery) has started the apply workers, staz moves every slot-named origin up to the
// position its provider node's origin replayed. The sessions are opened before the promotion
// and poll every few milliseconds; the workers need tens of milliseconds to start. A worker that
// still comes first holds its origin (the advance fails with "already active"): reported as a
// range that may have been applied twice, never hidden. pglogical needs none of this: its
// commits carry the slot-named origin, which a standby replays.
//
// The provider node's origin is shared by every database (replication origins are
// server-wide), so with more than one meshed database it cannot say which database got how
// far: then nothing is moved, and the promotion says so.

/// One subscription whose slot-named origin is behind what the standby replayed.
public struct OriginCatchUp: Sendable, Equatable {
    public var database: String
    public var subscription: String
    public var origin: String
    public var own: LSN
    public var replayed: LSN
    public init(database: String, subscription: String, origin: String, own: LSN, replayed: LSN) {
        self.database = database; self.subscription = subscription; self.origin = origin
        self.own = own; self.replayed = replayed
    }
}

public enum OriginHandoffSQL {
    public static let inRecovery = "SELECT pg_catalog.pg_is_in_recovery()::text AS recovery"

    /// Local subscriptions whose slot-named origin is behind the provider node's origin. A node
    /// id that is also the number of a named origin (16-bit ids can collide) is left out: its
    /// progress cannot be told apart.
    public static let behind = """
        SELECT s.sub_name::text AS subscription, o.roname::text AS origin,
               coalesce(own.remote_lsn, '0/0'::pg_lsn)::text AS own, replayed.remote_lsn::text AS replayed
          FROM spock.subscription s
          JOIN spock.local_node l ON l.node_id = s.sub_target
          JOIN pg_catalog.pg_replication_origin o ON o.roname = s.sub_slot_name::text
          JOIN pg_catalog.pg_replication_origin_status replayed ON replayed.local_id = s.sub_origin
          LEFT JOIN pg_catalog.pg_replication_origin_status own ON own.local_id = o.roident
         WHERE replayed.remote_lsn > coalesce(own.remote_lsn, '0/0'::pg_lsn)
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_origin r WHERE r.roident = s.sub_origin)
         ORDER BY s.sub_name
        """

    public static func advance(_ catchUp: OriginCatchUp) -> String {
        "SELECT pg_catalog.pg_replication_origin_advance(\(literal(catchUp.origin)), \(literal(catchUp.replayed.description))::pg_lsn)::text AS result"
    }

    public static func parse(_ rows: [[String: String?]], database: String) -> [OriginCatchUp] {
        rows.compactMap { row in
            guard let subscription = row["subscription"] ?? nil, let origin = row["origin"] ?? nil,
                  let own = (row["own"] ?? nil).flatMap(LSN.init(text:)),
                  let replayed = (row["replayed"] ?? nil).flatMap(LSN.init(text:)), replayed > own else { return nil }
            return OriginCatchUp(database: database, subscription: subscription, origin: origin, own: own, replayed: replayed)
        }
    }

    /// The apply worker started first and holds its origin.
    public static func workerCameFirst(_ error: Error) -> Bool { "\(error)".contains("is already active") }
}

/// The promotion side of the hand-off: sessions opened before `pg_ctl promote`, then
/// `settle` polls until recovery has ended and moves the origins. Every wait is bounded.
public final class OriginHandoff: Sendable {
    let sessions: [(database: String, session: SQLSession)]
    let logger: Logger

    init(sessions: [(database: String, session: SQLSession)], logger: Logger) {
        self.sessions = sessions; self.logger = logger
    }

    /// nil unless the mesh runs on Spock; with several databases, logs why nothing is moved.
    public static func prepare(mesh: MeshSection?, connector: MeshConnector, logger: Logger) async -> OriginHandoff? {
        guard let mesh, mesh.provider == .spock else { return nil }
        guard mesh.databases.count == 1 else {
            logger.warning("mesh: \(mesh.databases.count) databases on Spock share each provider node's replication origin: after this promotion, changes the apply workers received before it may be applied twice")
            return nil
        }
        var sessions: [(database: String, session: SQLSession)] = []
        for database in mesh.databases {
            do {
                sessions.append((database, try await connector.open(database)))
            } catch {
                logger.warning("mesh: cannot prepare the origin hand-off in \(database): \(error)")
            }
        }
        return sessions.isEmpty ? nil : OriginHandoff(sessions: sessions, logger: logger)
    }

    /// Polls every 2 ms (each poll bounded by one second) until recovery has ended, then moves
    /// every origin that is behind. Gives up after `within`, or when cancelled.
    public func settle(within: Duration) async {
        defer { for (_, session) in sessions { session.close() } }
        let deadline = ContinuousClock.now + within
        for (database, session) in sessions {
            while ContinuousClock.now < deadline, !Task.isCancelled {
                guard let row = try? await session.query(OriginHandoffSQL.inRecovery, timeout: 1).first else { break }
                if (row["recovery"] ?? nil) == "false" {
                    await catchUp(database: database, session: session)
                    break
                }
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
    }

    private func catchUp(database: String, session: SQLSession) async {
        let rows: [[String: String?]]
        do { rows = try await session.query(OriginHandoffSQL.behind, timeout: 5) } catch {
            logger.warning("mesh: \(database): cannot read the replayed origins after the promotion: \(error)")
            return
        }
        for item in OriginHandoffSQL.parse(rows, database: database) {
            do {
                _ = try await session.query(OriginHandoffSQL.advance(item), timeout: 5)
                logger.info("mesh: \(database): subscription \(item.subscription) resumes from \(item.replayed), what this member replayed (its own origin said \(item.own))")
            } catch where OriginHandoffSQL.workerCameFirst(error) {
                logger.warning("mesh: \(database): the apply worker of \(item.subscription) started before staz could move its origin from \(item.own) to \(item.replayed): changes of its provider in that range may be applied twice")
            } catch {
                logger.warning("mesh: \(database): cannot move the origin of \(item.subscription) to \(item.replayed): \(error)")
            }
        }
    }
}
