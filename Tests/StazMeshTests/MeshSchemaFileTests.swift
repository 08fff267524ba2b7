import Foundation
import Testing
import StazConfig
@testable import StazMesh

/// `mesh.schema`: read, split and checked by the reconciler; run in one transaction that
/// records its digest.
@Suite struct MeshSchemaFileTests {
    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("staz-schema-\(UUID().uuidString).sql").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aFileIsSplitAndItsDigestFollowsItsContent() throws {
        let path = try write("CREATE TABLE IF NOT EXISTS public.items (id bigint PRIMARY KEY, note text);\n"
                             + "-- a comment; with a semicolon\nCREATE INDEX IF NOT EXISTS items_note ON public.items (note);\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard case .file(let read, let digest, let statements) = MeshSchemaFile.load(path) else {
            Issue.record("not loaded: \(MeshSchemaFile.load(path))")
            return
        }
        #expect(read == path)
        #expect(statements.count == 2)
        #expect(statements[1].hasSuffix("CREATE INDEX IF NOT EXISTS items_note ON public.items (note)"))
        #expect(digest == MeshSchemaFile.digest(try String(contentsOfFile: path, encoding: .utf8)))
        #expect(MeshSchemaFile.digest("SELECT 1") != MeshSchemaFile.digest("SELECT 2"))
        #expect(MeshSchemaFile.digest("") == "cbf29ce484222325-0")
    }

    @Test func transactionControlAndMissingFilesAreRefused() throws {
        let path = try write("BEGIN; CREATE TABLE t (id int); COMMIT;")
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard case .unusable(_, let error) = MeshSchemaFile.load(path) else {
            Issue.record("accepted a file with BEGIN/COMMIT")
            return
        }
        #expect(error.contains("transaction control"))
        guard case .unusable(_, let missing) = MeshSchemaFile.load("/nonexistent/schema.sql") else {
            Issue.record("loaded a missing file")
            return
        }
        #expect(missing.contains("cannot read it"))
    }

    @Test(arguments: [MeshProviderKind.pglogical, .spock])
    func appliedInOneTransactionThatRecordsTheDigest(_ kind: MeshProviderKind) {
        let sql = MeshSQL(provider: .forKind(kind))
        let statements = sql.statements(for: .applySchema(database: "app", path: "/etc/staz/o'k.sql", digest: "abc-3",
                                                          statements: ["CREATE TABLE IF NOT EXISTS t (id int)"]))
        #expect(statements.first == "BEGIN" && statements.last == "COMMIT")
        #expect(statements.contains("CREATE TABLE IF NOT EXISTS t (id int)"))
        #expect(statements.contains("INSERT INTO \"staz\".\"mesh_schema\" (digest, path) VALUES ('abc-3', '/etc/staz/o''k.sql')"))
        #expect(statements.contains("SET LOCAL spock.enable_ddl_replication = off") == (kind == .spock))
        // The user's statements run after the record table exists and before the record.
        let user = statements.firstIndex(of: "CREATE TABLE IF NOT EXISTS t (id int)")!
        #expect(statements.firstIndex { $0.hasPrefix("CREATE TABLE IF NOT EXISTS \"staz\"") }! < user)
        #expect(statements.firstIndex { $0.hasPrefix("DELETE FROM") }! > user)
    }
}
