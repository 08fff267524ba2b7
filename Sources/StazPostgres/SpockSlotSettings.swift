import StazCore

/// Spock's slot settings. Spock ships a `spock_failover_slots` worker that copies the primary's
/// logical slots to standbys (PostgreSQL 15-17), but only every 60 s, one slot at a time, and a
/// standby promoted before or during a copy loses its subscribers' changes without a word. staz
/// copies and advances the slots itself for Spock as for pglogical (the race knows whether the
/// copies are ready), so the worker is switched off: an empty `spock.synchronize_slot_names`.
/// The primary-side guard stays: it holds logical walsenders back until the listed physical
/// standby slots have flushed a change, so a subscriber is never ahead of the standby that may
/// be promoted. Pure functions of role, server version and the healthy standbys.
public enum SpockSlotSettings {
    /// The guard GUC: Spock's own on 15/16, PostgreSQL's `synchronized_standby_slots` on 17+.
    public static func guardParameter(serverVersion: Int) -> String {
        normalized(serverVersion) >= 170000 ? "synchronized_standby_slots" : "spock.pg_standby_slot_names"
    }

    /// Parameters for a member: Spock's slot worker off (where it exists, PostgreSQL ≤ 17: an
    /// empty list synchronises nothing) and the guard, set to the healthy standbys' physical
    /// slots on the primary and cleared on a replica (a promoted replica must not wait for slots
    /// nobody consumes: pgEdge's runbook).
    public static func parameters(serverVersion: Int, primary: Bool, standbySlots: [String]) -> [(String, String)] {
        var out: [(String, String)] = []
        if normalized(serverVersion) < 180000 { out.append(("spock.synchronize_slot_names", "")) }
        out.append((guardParameter(serverVersion: serverVersion), primary ? standbySlots.joined(separator: ",") : ""))
        return out
    }

    /// The physical slots of the standbys that stream from this primary right now: a member
    /// (not us) whose walsender, named after it (`application_name`), is `streaming`. A standby
    /// that stopped streaming drops out, so it cannot hold the mesh back.
    public static func healthyStandbySlots(members: [Member], me: String, streaming: [(applicationName: String, state: String)]) -> [String] {
        let live = Set(streaming.filter { $0.state == "streaming" }.map { $0.applicationName })
        return members.filter { $0.name != me && live.contains($0.name) && $0.replicateFrom == nil }
            .map { slotName(forMember: $0.name) }.sorted()
    }

    /// `150020` and `15` both mean PostgreSQL 15.
    static func normalized(_ version: Int) -> Int { version < 1000 ? version * 10000 : version }
}
