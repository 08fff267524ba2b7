import Testing
@testable import StazMesh

/// Reading `spock.exception_log` (MeshQueries.skippedChanges) and `spock.resolutions`
/// (MeshQueries.resolvedConflicts).
@Suite struct SkippedChangesTests {
    @Test func exceptionLogRows() {
        #expect(MeshQueries.parseSkippedChanges([["skipped": "0", "latest": nil, "error": nil]]) == MeshSkippedChanges(count: 0))
        #expect(MeshQueries.parseSkippedChanges([["skipped": "2", "latest": "2026-12-03 22:00:00+00", "error": "boom"]])
                == MeshSkippedChanges(count: 2, latestAt: "2026-12-03 22:00:00+00", latestError: "boom"))
        #expect(MeshQueries.parseSkippedChanges([]) == nil)
    }

    @Test func resolutionLogRows() {
        #expect(MeshQueries.parseResolvedConflicts([["resolved": "0", "latest": nil, "conflict": nil]]) == MeshResolvedConflicts(count: 0))
        #expect(MeshQueries.parseResolvedConflicts([["resolved": "4", "latest": "2026-12-04 01:00:00+00",
                                                     "conflict": "update_exists on public.t: apply_remote"]])
                == MeshResolvedConflicts(count: 4, latestAt: "2026-12-04 01:00:00+00", latest: "update_exists on public.t: apply_remote"))
        #expect(MeshQueries.parseResolvedConflicts([]) == nil)
    }
}
