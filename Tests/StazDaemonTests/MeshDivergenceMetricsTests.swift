import StazCore
import StazMesh
import Testing
@testable import StazDaemon

@Suite struct MeshDivergenceMetricsTests {
    @Test func reportsAreCountedByKindAndVerification() {
        var ledger = MeshLedger()
        func report(_ kind: DivergenceReport.Kind, _ verification: DivergenceReport.Verification?) -> DivergenceReport {
            DivergenceReport(kind: kind, database: "app", subscription: "s", provider: "zone2", subscriber: "zone1",
                             fromLSN: LSN(1), toLSN: LSN(2), timeline: 2, detectedAt: "t", action: "a", verification: verification)
        }
        ledger.divergence = [report(.subscriberAhead, nil), report(.possibleSubscriberGap, .pending),
                             report(.possibleSubscriberGap, .verified(["7"])), report(.possibleSubscriberGap, .unverifiable("x"))]
        let samples = MeshRuntime.divergenceSamples(ledger)
        func value(_ kind: String, _ state: String) -> Double? {
            samples.first { $0.labels.map(\.value) == [kind, state] }?.value
        }
        #expect(samples.count == 4 && samples.allSatisfy { $0.name == "staz_mesh_divergence_reports" })
        #expect(value("subscriber_ahead", "final") == 1 && value("subscriber_ahead", "pending") == 0)
        #expect(value("possible_subscriber_gap", "final") == 2 && value("possible_subscriber_gap", "pending") == 1)
    }
}
