import Testing
@testable import StazHA

/// What each way of stepping down does (Patroni's `Ha.demote` modes): the executor reads these
/// and carries them out without choosing.
@Suite("Demote modes")
struct DemoteModeTests {
    struct Row: Sendable {
        var mode: DemoteMode
        var immediate: Bool, checkpoint: Bool, releases: Bool, keepsSlot: Bool, timeout: Double
    }

    @Test(arguments: [
        Row(mode: .offline, immediate: false, checkpoint: false, releases: false, keepsSlot: false, timeout: 30),
        Row(mode: .graceful, immediate: false, checkpoint: true, releases: true, keepsSlot: true, timeout: 60),
        Row(mode: .immediate, immediate: true, checkpoint: false, releases: true, keepsSlot: true, timeout: 60),
        Row(mode: .immediateNoLock, immediate: true, checkpoint: false, releases: false, keepsSlot: true, timeout: 60),
    ])
    func stepsDown(_ row: Row) {
        #expect(row.mode.stopsImmediately == row.immediate)
        #expect(row.mode.checkpointsFirst == row.checkpoint)
        #expect(row.mode.releasesLock == row.releases)
        #expect(row.mode.keepsSlotName == row.keepsSlot)
        #expect(row.mode.stopTimeout(ttl: 30) == row.timeout)
    }

    @Test func offlineStopWaitsAtLeastFiveSeconds() {
        #expect(DemoteMode.offline.stopTimeout(ttl: 2) == 5)
    }
}
