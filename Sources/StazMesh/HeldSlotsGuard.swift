import Foundation
import StazCore
import StazPostgres

/// The I/O of held slots (`HeldSlots`) in the integrity check's round on the zone leader.
extension MeshIntegrityGuard {
    /// Subscriber side: puts how far our standbys have applied each subscription into the
    /// ledger the round stores. Only that changing is saved at most every
    /// `standbyConfirmedInterval`: a held copy that lags a few seconds costs the provider a
    /// little WAL, never a change.
    func publishStandbyConfirmed(_ plan: inout IntegrityPlan, stored: MeshLedger, subscriptions: [SubscriptionProgress],
                                 standbys: (count: Int, flushed: LSN?)) {
        let positions = HeldSlots.standbyConfirmed(previous: plan.ledger.standbyConfirmed, subscriptions: subscriptions,
                                                   standbysFlushed: standbys.flushed, standbyCount: standbys.count)
        guard positions != plan.ledger.standbyConfirmed else { return }
        let now = Date().timeIntervalSince1970
        let onlyPositions = plan.ledger == stored && plan.ledgerBeforeActions == stored
        if onlyPositions && now - standbyConfirmedSavedAt < standbyConfirmedInterval { return }
        standbyConfirmedSavedAt = now
        plan.ledger.standbyConfirmed = positions
        plan.ledgerBeforeActions.standbyConfirmed = positions
    }

    /// Both sides' observations in one session: our physical standbys' lowest flush position,
    /// the server's clock and our primary's logical slots of the provider's plugin.
    func observeHeldSlots(plugin: String) async throws -> (standbys: (count: Int, flushed: LSN?), serverTime: Double?,
                                                           slots: [ProviderSlotObserved]) {
        let timeout = environment.connector.statementTimeout
        let server = try await environment.connector.open(nil)
        defer { server.close() }
        let row = try await server.query(HeldSlotQueries.standbys, timeout: timeout).first
        let count = row.flatMap { $0["standbys"] ?? nil }.flatMap { Int($0) } ?? 0
        let flushed = row.flatMap { $0["flushed"] ?? nil }.flatMap(LSN.init(text:))
        let serverTime = row.flatMap { $0["server_time"] ?? nil }.flatMap { Double($0) }
        let slots = HeldSlotQueries.parseSlots(try await server.query(HeldSlotQueries.slots(plugin: plugin), timeout: timeout))
        return ((count, flushed), serverTime, slots)
    }

    /// Provider side: one round of `HeldSlots.plan` on our primary's slots, `displaced` naming
    /// the slots whose walsenders `HeldSlots.staleWalsenders` found serving a lost subscriber.
    /// A failed action is logged and the round goes on; the next round plans again from what
    /// exists.
    func keepHeldSlots(_ observed: [ProviderSlotObserved], standbyConfirmed: [String: LSN], displaced: [String]) async throws {
        let timeout = environment.connector.statementTimeout
        for action in HeldSlots.plan(slots: observed, standbyConfirmed: standbyConfirmed, displaced: Set(displaced)) {
            guard environment.isLeader() else { return }
            let session = try await environment.connector.open(action.database)
            defer { session.close() }
            do {
                _ = try await session.query(action.sql, timeout: timeout)
                if case .advance = action {} else { logger.info("mesh held slots: \(action.summary)") }
            } catch {
                switch action {
                case .swap(_, let slot, _) where "\(error)".contains("is active for PID"):
                    // Our own subscriber reconnected since we looked (no leader change: it
                    // has everything the slot confirmed); the next idle moment swaps.
                    logger.info("mesh held slots: slot \(slot) is in use again, not replaced this round")
                case .swap(_, let slot, let held), .takeOver(_, let slot, let held):
                    logger.warning("mesh held slots: could not \(action.summary): \(error)")
                    await restoreAfterFailedSwap(session, slot: slot, held: held)
                default:
                    logger.warning("mesh held slots: could not \(action.summary): \(error)")
                }
            }
        }
    }

    /// A swap whose copy failed after its drop leaves the subscription without a slot: copy the
    /// held one back under the slot's name at once (a walsender cannot start without it).
    func restoreAfterFailedSwap(_ session: SQLSession, slot: String, held: String) async {
        let timeout = environment.connector.statementTimeout
        let exists = "SELECT count(*)::text AS n FROM pg_catalog.pg_replication_slots WHERE slot_name = \(literal(slot))"
        let rows = try? await session.query(exists, timeout: timeout)
        guard let n = rows?.first?["n"] ?? nil, n == "0" else { return }
        let restore = HeldSlotAction.create(database: "", slot: held, held: slot)
        do {
            _ = try await session.query(restore.sql, timeout: timeout)
            logger.warning("mesh held slots: slot \(slot) restored from \(held) after a failed swap")
        } catch {
            logger.error("mesh held slots: slot \(slot) is gone and could not be restored from \(held): \(error)")
        }
    }
}
