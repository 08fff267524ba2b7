import Testing
@testable import StazPostgres

/// `archive_command` placeholders filled as PostgreSQL's archiver fills them.
@Suite("Archiver command")
struct ArchiverCommandTests {
    @Test(arguments: [
        ("cp %p /archive/%f", "cp /data/pg_wal/000000010000000000000003 /archive/000000010000000000000003"),
        ("test ! -f /a/%f && cp %p /a/%f", "test ! -f /a/000000010000000000000003 && cp /data/pg_wal/000000010000000000000003 /a/000000010000000000000003"),
        ("echo 100%% %r", "echo 100% 000000010000000000000001"),
        ("odd %x and trailing %", "odd %x and trailing %"),
    ])
    func placeholders(template: String, expected: String) {
        #expect(ArchiverCommand.build(template, walDirectory: "/data/pg_wal", fileName: "000000010000000000000003") == expected)
    }
}
