import Foundation
import StazCore

/// `mesh.schema`: the SQL file that creates the replicated tables in every zone before its
/// database joins the mesh (subscriptions copy no data and no structure). Each zone's leader
/// runs it in each mesh database, in one transaction that also records the file's digest in
/// `staz.mesh_schema`; it runs again only when the content changes. The record lives in the
/// database, so it follows the data: a promoted replica, a restored backup.
public enum MeshSchemaFile: Sendable, Equatable {
    case file(path: String, digest: String, statements: [String])
    /// Configured but not usable now: unreadable (it was readable when the configuration was
    /// checked), or it manages transactions itself.
    case unusable(path: String, error: String)

    /// Reads and splits the file (I/O: called by the reconciler, never by the planner).
    public static func load(_ path: String) -> MeshSchemaFile {
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let statements = SQLScript(text).statements
            if let control = statements.first(where: SQLScript.controlsTransactions) {
                return .unusable(path: path, error: "it runs in one transaction staz opens, so it must not contain "
                                 + "transaction control (found: \(control.prefix(40)))")
            }
            return .file(path: path, digest: digest(text), statements: statements)
        } catch {
            return .unusable(path: path, error: "cannot read it: \(error.localizedDescription)")
        }
    }

    /// FNV-1a (64 bits) of the text and its length: it only tells one version of the file from
    /// the next, nobody forges it.
    public static func digest(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var length = 0
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
            length += 1
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex + "-" + String(length)
    }

    public var path: String {
        switch self {
        case .file(let path, _, _), .unusable(let path, _): return path
        }
    }

    /// Where staz records what it applied (not in any replicated schema: each zone has its own).
    public static let recordSchema = "staz"
    public static let recordTable = "mesh_schema"

    /// Whether the record table exists (a query on a missing table would fail).
    public static let recordPresentQuery =
        "SELECT (pg_catalog.to_regclass('\(recordSchema).\(recordTable)') IS NOT NULL)::text AS present"
    public static let recordQuery =
        "SELECT digest, applied_at::text AS applied_at FROM \(recordSchema).\(recordTable) ORDER BY applied_at DESC LIMIT 1"
}
