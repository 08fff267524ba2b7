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
// So when recovery ends staz moves every slot-named origin up to the position its provider
// node's origin replayed, and no worker may apply anything before that. The workers start the
// moment recovery ends (the supervisor starts them, not staz), so instead of racing them staz
// closes a gate first: `spock.readonly = all` in postgresql.conf, reloaded and confirmed while
// still a standby. A worker started behind the gate reads its stale origin but fails on the
// first change it receives, before applying it (spock_apply.c, replication_handler), and holds
// nothing after it exits. staz moves each origin once no worker holds it (retrying while one
// does), then opens the gate; the workers restart from the right position. The gate also
// refuses client writes, which reach a new primary only after the promotion is published,
// i.e. after the gate is open again. If the gate cannot be confirmed, the hand-off still runs
// and a worker that comes first is reported as a range that may have been applied twice.
// pglogical needs none of this: its commits carry the slot-named origin, which a standby
// replays.
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

/// The setting that keeps Spock's apply workers from applying while the origins move.
public enum SpockApplyGate {
    public static let parameter = "spock.readonly"
    public static let closedValue = "all"
}

public enum OriginHandoffSQL {
    public static let gate = "SELECT coalesce(current_setting('\(SpockApplyGate.parameter)', true), '') AS gate"
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

    /// The process holding the origin, from PostgreSQL's "… is already active for PID n".
    public static func holder(_ error: Error) -> Int32? {
        let text = "\(error)"
        guard let range = text.range(of: "already active for PID ") else { return nil }
        return Int32(text[range.upperBound...].prefix { $0.isNumber })
    }

    public static func terminate(_ pid: Int32) -> String {
        "SELECT pg_catalog.pg_terminate_backend(\(pid))::text AS result"
    }
}

/// The promotion side of the hand-off: sessions opened before `pg_ctl promote`; the caller
/// closes the gate (`waitForGate`), promotes while `settle` polls, opens the gate, `close()`s.
/// Every wait is bounded.
public final class OriginHandoff: Sendable {
    let sessions: [(database: String, session: SQLSession)]
    let logger: Logger
    /// Test-only fault injection (`STAZ_FAULT_HANDOFF_DELAY_MS`): the hand-off starts this much
    /// after recovery ended, so the apply workers certainly come first.
    let injectedDelay: Duration

    init(sessions: [(database: String, session: SQLSession)], logger: Logger, injectedDelay: Duration = .zero) {
        self.sessions = sessions; self.logger = logger; self.injectedDelay = injectedDelay
    }

    /// nil unless the mesh runs on Spock; with several databases, logs why nothing is moved.
    public static func prepare(mesh: MeshSection?, connector: MeshConnector, logger: Logger,
                               environment: [String: String] = [:]) async -> OriginHandoff? {
        guard let mesh, mesh.provider == .spock else { return nil }
        guard mesh.databases.count == 1 else {
            logger.warning("mesh: \(mesh.databases.count) databases on Spock share each provider node's replication origin: after this promotion or crash restart, changes the apply workers received before it may be applied twice")
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
        let delay = environment["STAZ_FAULT_HANDOFF_DELAY_MS"].flatMap(Int.init).map { Duration.milliseconds($0) } ?? .zero
        return sessions.isEmpty ? nil : OriginHandoff(sessions: sessions, logger: logger, injectedDelay: delay)
    }

    /// Polls until the server's sessions see the gate `closed` (or open): a backend sees a
    /// reloaded setting only after the postmaster, whose children (the apply workers) inherit
    /// it. False when it did not within `within`.
    public func waitForGate(closed: Bool, within: Duration) async -> Bool {
        guard let session = sessions.first?.session else { return false }
        let deadline = ContinuousClock.now + within
        while ContinuousClock.now < deadline, !Task.isCancelled {
            if let row = try? await session.query(OriginHandoffSQL.gate, timeout: 1).first {
                let value = (row["gate"] ?? nil) ?? ""
                if (value == SpockApplyGate.closedValue) == closed { return true }
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    public func close() {
        for (_, session) in sessions { session.close() }
    }

    /// Polls every 2 ms (each poll bounded by one second) until recovery has ended, then moves
    /// every origin that is behind, retrying while a worker holds one. Gives up at `within`,
    /// or when cancelled. True when no origin is left behind.
    /// `gated`: the gate is closed, so a worker holding an origin has applied nothing and is
    /// stopped (its supervisor restarts it once the gate is open).
    @discardableResult
    public func settle(within: Duration, gated: Bool) async -> Bool {
        let deadline = ContinuousClock.now + within
        var settled = true
        for (database, session) in sessions {
            var recovered = false
            while ContinuousClock.now < deadline, !Task.isCancelled {
                guard let row = try? await session.query(OriginHandoffSQL.inRecovery, timeout: 1).first else { break }
                if (row["recovery"] ?? nil) == "false" { recovered = true; break }
                try? await Task.sleep(for: .milliseconds(2))
            }
            guard recovered else { settled = false; continue }
            if injectedDelay > .zero { try? await Task.sleep(for: injectedDelay) }
            if await !catchUp(database: database, session: session, deadline: deadline, gated: gated) { settled = false }
        }
        return settled
    }

    /// Moves every origin that is behind; an origin a worker holds is tried again every millisecond
    /// (a restarted worker takes several to reach its origin).
    /// Behind the gate the worker is stopped first: it exits by itself at the first change it
    /// receives, but with nothing to receive it would keep the origin.
    private func catchUp(database: String, session: SQLSession, deadline: ContinuousClock.Instant, gated: Bool) async -> Bool {
        var held: [String: OriginCatchUp] = [:]
        var stopped: Set<Int32> = []
        while !Task.isCancelled {
            let rows: [[String: String?]]
            do { rows = try await session.query(OriginHandoffSQL.behind, timeout: 5) } catch {
                logger.warning("mesh: \(database): cannot read the replayed origins after the promotion: \(error)")
                return false
            }
            let behind = OriginHandoffSQL.parse(rows, database: database)
            if behind.isEmpty { return true }
            var failed = false
            for item in behind {
                do {
                    _ = try await session.query(OriginHandoffSQL.advance(item), timeout: 5)
                    held[item.subscription] = nil
                    logger.info("mesh: \(database): subscription \(item.subscription) resumes from \(item.replayed), what this member replayed (its own origin said \(item.own))")
                } catch where OriginHandoffSQL.workerCameFirst(error) {
                    held[item.subscription] = item
                    if gated, let pid = OriginHandoffSQL.holder(error), !stopped.contains(pid) {
                        stopped.insert(pid)
                        _ = try? await session.query(OriginHandoffSQL.terminate(pid), timeout: 5)
                        logger.info("mesh: \(database): stopped the apply worker of \(item.subscription) (pid \(pid)) behind the gate, to move its origin")
                    }
                } catch {
                    logger.warning("mesh: \(database): cannot move the origin of \(item.subscription) to \(item.replayed): \(error)")
                    failed = true
                }
            }
            if failed { return false }
            if ContinuousClock.now >= deadline {
                for item in held.values.sorted(by: { $0.subscription < $1.subscription }) {
                    logger.warning("mesh: \(database): the apply worker of \(item.subscription) kept its origin until the hand-off gave up: it resumes from \(item.own), not \(item.replayed); changes of its provider in that range may be applied twice")
                }
                return false
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return false
    }
}
