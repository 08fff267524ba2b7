import Testing
@testable import StazMesh

/// Reading `spock.exception_log` (MeshQueries.skippedChanges) and `spock.resolutions`
/// (MeshQueries.resolvedConflicts): both answer one row that MeshQueries.parseApplyLog reads.
@Suite struct SkippedChangesTests {
    @Test func applyLogRows() {
        #expect(MeshQueries.parseApplyLog([["count": "0", "latest_at": nil, "latest": nil]]) == MeshApplyLog(count: 0))
        #expect(MeshQueries.parseApplyLog([["count": "4", "latest_at": "2026-12-04 01:00:00+00",
                                            "latest": "update_exists on public.t: apply_remote"]])
                == MeshApplyLog(count: 4, latestAt: "2026-12-04 01:00:00+00", latest: "update_exists on public.t: apply_remote"))
        #expect(MeshQueries.parseApplyLog([["count": "many", "latest_at": nil, "latest": nil]]) == nil)
        #expect(MeshQueries.parseApplyLog([]) == nil)
    }

    /// Both queries name their columns as parseApplyLog reads them.
    @Test func bothQueriesAnswerTheSameColumns() {
        for query in [MeshQueries.skippedChanges, MeshQueries.resolvedConflicts] {
            for column in ["AS count,", "AS latest_at,", "AS latest\n"] {
                #expect(query.contains(column), "\(column) in \(query)")
            }
        }
    }
}
