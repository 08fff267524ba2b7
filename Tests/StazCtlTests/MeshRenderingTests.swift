import StazCore
import Testing
@testable import StazCtl

/// `stazctl mesh`: the per-zone tables built from the zone leaders' `GET /mesh`.
struct MeshRenderingTests {
    static func status(node: String, subscriptions: [(String, String, String, String)], slots: [(String, JSONValue, JSONValue)],
                       converged: Bool = true, notes: [String] = []) -> JSONObject {
        let subs: [JSONValue] = subscriptions.map { name, from, status, slot in
            .object(JSONObject([("name", .string(name)), ("provider_node", .string(from)), ("status", .string(status)),
                                ("slot_name", .string(slot))]))
        }
        let slotValues: [JSONValue] = slots.map { name, bytes, seconds in
            .object(JSONObject([("name", .string(name)), ("lag_bytes", bytes), ("lag_seconds", seconds)]))
        }
        return JSONObject([
            ("node", .string(node)), ("role", "leader"),
            ("databases", .array([.object(JSONObject([("name", "app"), ("extension", true), ("subscriptions", .array(subs))]))])),
            ("slots", .array(slotValues)),
            ("last_reconcile", .object(JSONObject([("at", "2026-01-01T00:00:00.000Z"), ("converged", .bool(converged)),
                                                   ("errors", .array([])), ("pending", .array([])),
                                                   ("notes", .array(notes.map { .string($0) }))]))),
        ])
    }

    @Test func tablesPerZoneWithLagFromTheProvider() {
        let zones = [
            MeshZoneView(scope: "zone-a", node: "zone_a", leader: "a0",
                         status: Self.status(node: "zone_a", subscriptions: [("sub_zone_b_zone_a", "zone_b", "replicating", "pgl_app_zone_b_sub_b_a")],
                                             slots: [("pgl_app_zone_a_sub_a_b", .int(0), .null)])),
            MeshZoneView(scope: "zone-b", node: "zone_b", leader: "b1",
                         status: Self.status(node: "zone_b", subscriptions: [("sub_zone_a_zone_b", "zone_a", "down", "pgl_app_zone_a_sub_a_b")],
                                             slots: [("pgl_app_zone_b_sub_b_a", .int(4096), .double(0.25))],
                                             converged: false, notes: ["restart pending"])),
            MeshZoneView(scope: "zone-c", node: "zone_c", leader: nil, status: nil, problem: "no leader"),
        ]
        let expected = """
        + Zone: zone-a (node zone_a, leader a0) +-------------+-----------+-------+
        | Database | Subscription      | From   | Status      | Lag bytes | Lag s |
        +----------+-------------------+--------+-------------+-----------+-------+
        | app      | sub_zone_b_zone_a | zone_b | replicating |      4096 | 0.250 |
        +----------+-------------------+--------+-------------+-----------+-------+
         last reconcile: 2026-01-01T00:00:00.000Z converged
        + Zone: zone-b (node zone_b, leader b1) +--------+-----------+-------+
        | Database | Subscription      | From   | Status | Lag bytes | Lag s |
        +----------+-------------------+--------+--------+-----------+-------+
        | app      | sub_zone_a_zone_b | zone_a | down   |         0 |       |
        +----------+-------------------+--------+--------+-----------+-------+
         last reconcile: 2026-01-01T00:00:00.000Z NOT converged
           note: restart pending
        + Zone: zone-c (node zone_c, leader -) ------+-----------+-------+
        | Database | Subscription | From | Status    | Lag bytes | Lag s |
        +----------+--------------+------+-----------+-----------+-------+
        |          |              |      | no leader |           |       |
        +----------+--------------+------+-----------+-----------+-------+

        """
        #expect(renderMesh(zones) == expected)
    }

    @Test func commandLine() throws {
        let show = try StazCtlCommand.parseAsRoot(StazCtlMain.reorder(["-c", "x.yml", "mesh"])) as? MeshCommand
        #expect(show?.words == [] && show?.globals.configFile == "x.yml")
        let ddl = try StazCtlCommand.parseAsRoot(StazCtlMain.reorder(["mesh", "ddl", "CREATE TABLE t (id int)", "--dbname", "app"])) as? MeshCommand
        #expect(ddl?.words == ["ddl", "CREATE TABLE t (id int)"] && ddl?.dbname == "app")
        let forget = try StazCtlCommand.parseAsRoot(StazCtlMain.reorder(["mesh", "forget-copy", "--force"])) as? MeshCommand
        #expect(forget?.words == ["forget-copy"] && forget?.force == true)
    }

    @Test func forceOutsideForgetCopyIsRefusedBeforeAnythingIsRead() async throws {
        let show = try StazCtlCommand.parseAsRoot(StazCtlMain.reorder(["-c", "/nonexistent.yml", "mesh", "--force"])) as? MeshCommand
        do {
            try await show?.run()
            Issue.record("mesh --force ran")
        } catch {
            #expect((error as? CtlError)?.message == "--force applies to stazctl mesh forget-copy only")
        }
    }
}

struct MeshApplyOutcomeRenderingTests {
    @Test func spockConflictsAndSkippedChangesAreOneLinePerDatabase() throws {
        let spock = try JSONValue.parse("""
        {"name": "app", "conflicts_resolved": 3, "last_conflict": "update_exists on public.t: apply_remote",
         "last_conflict_at": "2026-12-04 01:00:00+00", "skipped_changes": 0}
        """)
        #expect(renderApplyOutcomes(spock)
                == " app: 3 conflicts resolved (last: update_exists on public.t: apply_remote at 2026-12-04 01:00:00+00), 0 changes skipped\n")
        let skipped = try JSONValue.parse("""
        {"name": "app", "conflicts_resolved": 0, "skipped_changes": 1, "last_skipped_error": "boom",
         "last_skipped_at": "2026-12-04 01:00:01+00"}
        """)
        #expect(renderApplyOutcomes(skipped) == " app: 0 conflicts resolved, 1 changes skipped (last: boom at 2026-12-04 01:00:01+00)\n")
        // pglogical keeps neither: no line.
        #expect(renderApplyOutcomes(try JSONValue.parse(#"{"name": "app"}"#)) == "")
    }
}

struct MeshIntegrityRenderingTests {
    @Test func reportsChecksAndPausedSubscriptionsAreOneLineEach() throws {
        let status = try JSONValue.parse("""
        {"last_failover": {"zone_a": {"timeline": 2, "checked_at": "2026-11-27T08:42:19Z", "outcome": "divergence recorded"}},
         "paused_subscriptions": ["app/sub_zone_b_zone_c"],
         "divergence_reports": [{"kind": "subscriber_ahead", "database": "app", "subscription": "sub_zone_a_zone_c",
           "provider": "zone_a", "subscriber": "zone_c", "from_lsn": "0/3000910", "to_lsn": "0/3001870", "bytes": 3936,
           "timeline": 2, "detected_at": "2026-11-27T08:42:53Z", "action": "origin moved back to 0/3000910"}]}
        """)
        #expect(renderIntegrity(status) == """
             last failover check: zone zone_a timeline 2 at 2026-11-27T08:42:19Z: divergence recorded
             paused by staz: app/sub_zone_b_zone_c
             DIVERGENCE subscriber_ahead app/sub_zone_a_zone_c zone_a -> zone_c 0/3000910..0/3001870 (3936 bytes) timeline 2 at 2026-11-27T08:42:53Z: origin moved back to 0/3000910

            """)
        #expect(renderIntegrity(try JSONValue.parse("{}")) == "")
    }
}
