import Foundation
import Testing
@testable import StazPostgres

/// `PostgresController.path` joins as `NSString.appendingPathComponent` does for the names the
/// daemon uses.
@Suite struct DataPathTests {
    @Test(arguments: [
        ("/data/pg", "postmaster.pid"), ("/data/pg/", "postmaster.pid"), ("/data/pg/", "global/pg_control"),
        ("/", "PG_VERSION"), ("relative/dir", "standby.signal"), ("/data/pg", ""),
    ])
    func joinsLikeNSString(directory: String, name: String) {
        #expect(PostgresController.path(directory, name) == (directory as NSString).appendingPathComponent(name))
    }

    @Test func repeatedTrailingSlashesBecomeOne() {
        #expect(PostgresController.path("/data/pg//", "global/pg_control") == "/data/pg/global/pg_control")
    }
}
