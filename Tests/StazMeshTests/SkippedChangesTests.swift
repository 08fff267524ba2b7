import Testing
@testable import StazMesh

/// Reading `spock.exception_log` (MeshQueries.skippedChanges).
@Suite struct SkippedChangesTests {
    @Test func exceptionLogRows() {
        #expect(MeshQueries.parseSkippedChanges([["skipped": "0", "latest": nil, "error": nil]]) == MeshSkippedChanges(count: 0))
        #expect(MeshQueries.parseSkippedChanges([["skipped": "2", "latest": "2026-12-03 22:00:00+00", "error": "boom"]])
                == MeshSkippedChanges(count: 2, latestAt: "2026-12-03 22:00:00+00", latestError: "boom"))
        #expect(MeshQueries.parseSkippedChanges([]) == nil)
    }
}
