import Testing
import StazCore
@testable import StazMesh

/// The promotion hand-off's reading of the origins.
@Suite struct OriginHandoffTests {
    @Test func onlyOriginsBehindWhatWasReplayedAreMoved() {
        let rows: [[String: String?]] = [
            ["subscription": "sub_b_a", "origin": "spk_app_b_sub_b_a", "own": "0/3000060", "replayed": "0/300AB70"],
            // Equal (already caught up) or garbage rows are left alone.
            ["subscription": "sub_c_a", "origin": "spk_app_c_sub_c_a", "own": "0/300ABF0", "replayed": "0/300ABF0"],
            ["subscription": "sub_d_a", "origin": "spk_app_d_sub_d_a", "own": "0/0", "replayed": "not an lsn"],
            ["subscription": nil, "origin": "x", "own": "0/0", "replayed": "0/1"],
        ]
        let moves = OriginHandoffSQL.parse(rows, database: "app")
        #expect(moves == [OriginCatchUp(database: "app", subscription: "sub_b_a", origin: "spk_app_b_sub_b_a",
                                        own: LSN(text: "0/3000060")!, replayed: LSN(text: "0/300AB70")!)])
        #expect(OriginHandoffSQL.advance(moves[0])
                == "SELECT pg_catalog.pg_replication_origin_advance('spk_app_b_sub_b_a', '0/300AB70'::pg_lsn)::text AS result")
    }

    @Test func aWorkerHoldingItsOriginIsRecognised() {
        struct Refusal: Error, CustomStringConvertible {
            var description: String { "replication origin with ID 1 is already active for PID 4242 (SQLSTATE 55006)" }
        }
        struct Other: Error {}
        #expect(OriginHandoffSQL.workerCameFirst(Refusal()))
        #expect(!OriginHandoffSQL.workerCameFirst(Other()))
        // Behind the gate that worker is stopped: its pid comes from the refusal.
        #expect(OriginHandoffSQL.holder(Refusal()) == 4242)
        #expect(OriginHandoffSQL.holder(Other()) == nil)
        #expect(OriginHandoffSQL.terminate(4242) == "SELECT pg_catalog.pg_terminate_backend(4242)::text AS result")
    }

    @Test func theGateIsSpocksReadOnlyModeForEveryone() {
        // `all` also stops the apply workers (spock_apply.c, replication_handler); `user` would not.
        #expect(SpockApplyGate.parameter == "spock.readonly")
        #expect(SpockApplyGate.closedValue == "all")
        #expect(OriginHandoffSQL.gate.contains("current_setting('spock.readonly', true)"))
    }

    @Test func theOriginListSkipsNodeIdsThatAreAlsoNamedOrigins() {
        #expect(OriginHandoffSQL.behind.contains("NOT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_origin r WHERE r.roident = s.sub_origin)"))
    }
}
