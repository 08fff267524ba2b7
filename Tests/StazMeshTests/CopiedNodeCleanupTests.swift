import Testing
import StazConfig
@testable import StazMesh

/// `stazctl mesh forget-copy`: which databases of a seeded zone may be cleaned, and with what.
@Suite struct CopiedNodeCleanupTests {
    /// Zone a's view (own node `a`), pglogical.
    let cleanup = CopiedNodeCleanup(mesh: MeshFixture.section())

    func copy(preload: String = "pg_stat_statements") -> CopiedNodeCleanup.Inspection {
        CopiedNodeCleanup.Inspection(inRecovery: false, preloadLibraries: preload, extensionInstalled: true, localNode: "b",
                                     subscriptionSlots: ["pgl_app_a_sub_a_b", "pgl_app_c_sub_c_b"], origins: ["pgl_app_a_sub_a_b"])
    }

    @Test func aCopyWithoutTheLibraryIsDroppedLocallyInOneTransaction() {
        #expect(cleanup.verdict(database: "app", scope: "a", copy()) == .forget(node: "b", statements: [
            "BEGIN",
            "SET LOCAL session_replication_role = replica",
            "DROP EXTENSION \"pglogical\" CASCADE",
            "SELECT pg_catalog.pg_replication_origin_drop('pgl_app_a_sub_a_b')",
            "COMMIT",
        ]))
        #expect(cleanup.sourceDescription(of: "b") == "zone b's node b")
        #expect(cleanup.sourceDescription(of: "old") == "node old")
    }

    @Test func nothingThatCouldReachAnotherServerIsEverRun() {
        guard case .forget(_, let statements) = cleanup.verdict(database: "app", scope: "a", copy()) else {
            Issue.record("not forgotten")
            return
        }
        // drop_subscription / drop_node (sub_drop / node_drop) would drop the source zone's slots.
        for statement in statements {
            #expect(!statement.contains("drop_subscription") && !statement.contains("drop_node") && !statement.contains("pglogical."))
        }
    }

    @Test(arguments: [
        ("pglogical", "the copy's apply workers"),
        ("pg_stat_statements, pglogical", "the copy's apply workers"),
    ])
    func aLoadedLibraryIsRefused(preload: String, message: String) {
        guard case .refused(let text) = cleanup.verdict(database: "app", scope: "a", copy(preload: preload)) else {
            Issue.record("not refused with \(preload)")
            return
        }
        #expect(text.contains(message) && text.contains("restart a's PostgreSQL"))
    }

    @Test func ownNodeStandbyAndEmptyDatabasesAreLeftAlone() {
        var own = copy()
        own.localNode = "a"
        guard case .refused(let text) = cleanup.verdict(database: "app", scope: "a", own) else {
            Issue.record("own node not refused")
            return
        }
        #expect(text.contains("this zone's own node"))
        var standby = copy()
        standby.inRecovery = true
        guard case .refused(let waiting) = cleanup.verdict(database: "app", scope: "a", standby) else {
            Issue.record("standby not refused")
            return
        }
        #expect(waiting.contains("stazctl promote-cluster a"))
        var bare = copy()
        bare.extensionInstalled = false
        #expect(cleanup.verdict(database: "app", scope: "a", bare) == .nothingToForget("app: no pglogical extension, nothing copied"))
        var nodeless = copy()
        nodeless.localNode = nil
        guard case .nothingToForget = cleanup.verdict(database: "app", scope: "a", nodeless) else {
            Issue.record("an extension without a node is not a copy")
            return
        }
    }

    @Test func spockDropsItsOwnExtension() {
        let spock = CopiedNodeCleanup(mesh: MeshFixture.section(.spock))
        guard case .forget(_, let statements) = spock.verdict(database: "app", scope: "a", copy()) else {
            Issue.record("not forgotten")
            return
        }
        #expect(statements.contains("DROP EXTENSION \"spock\" CASCADE"))
        #expect(spock.localNodeQuery.contains("spock.local_node"))
        guard case .refused = spock.verdict(database: "app", scope: "a", copy(preload: "spock")) else {
            Issue.record("spock loaded not refused")
            return
        }
    }
}
