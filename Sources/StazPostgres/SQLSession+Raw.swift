import Foundation
import Logging
import PostgresNIO
import StazConcurrency

/// One statement's answer as the server sent it, for callers that render arbitrary queries
/// (`stazctl query`): cells in PostgreSQL's binary format with their type OIDs.
public struct RawResult: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        public var name: String
        public var typeOID: UInt32
        public init(name: String, typeOID: UInt32) { self.name = name; self.typeOID = typeOID }
    }
    /// nil when the statement returns no rows at all (a CREATE, a SET).
    public var columns: [Column]?
    public var rows: [[[UInt8]?]]
    public init(columns: [Column]?, rows: [[[UInt8]?]]) { self.columns = columns; self.rows = rows }
}

extension SQLSession {
    /// Runs one statement of any kind and returns its answer undecoded, bounded by `timeout`.
    public func rawQuery(_ sql: String, timeout: Double) async throws -> RawResult {
        let quiet = Logger(label: "staz.postgres.nio", factory: { _ in SwiftLogNoOpLogHandler() })
        let connection = self.connection
        do {
            return try await withDeadline(.seconds(timeout), what: "query", onTimeout: { closeNow(connection) }) {
                let sequence = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: quiet)
                var rows: [[[UInt8]?]] = []
                var columns: [RawResult.Column]?
                for try await row in sequence {
                    if columns == nil {
                        columns = row.map { RawResult.Column(name: $0.columnName, typeOID: $0.dataType.rawValue) }
                    }
                    rows.append(row.map { cell in cell.bytes.map { Array($0.readableBytesView) } })
                }
                if columns == nil, let described = Self.describedColumns(of: sequence), !described.isEmpty {
                    columns = described
                }
                return RawResult(columns: columns, rows: rows)
            }
        } catch {
            throw Self.failure(error)
        }
    }

    /// Why a connection could not be made, worded as libpq words it (what psycopg, and so
    /// patronictl, print): `connection to server at "HOST", port N failed: REASON`.
    public static func connectFailureText(_ error: Error, target: Target) -> String {
        let place = target.unixSocket.map { "on socket \"\($0)\"" } ?? "at \"\(target.host)\", port \(target.port)"
        var reason: String
        if let failure = error as? Failure {
            reason = failure.sqlState != nil ? "FATAL:  " + failure.message : failure.message
        } else {
            reason = "\(error)"
        }
        if reason.contains("connection refused") || reason.contains("Connection refused") {
            reason = "Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?"
        }
        return "connection to server \(place) failed: \(reason)"
    }

    /// The columns a result describes, also when it has no rows. PostgresNIO keeps the row
    /// description private; it is read by reflection, and a result with rows names its columns
    /// anyway, so a PostgresNIO that moved it only loses the header of empty results.
    private static func describedColumns(of sequence: PostgresRowSequence) -> [RawResult.Column]? {
        guard let described = Mirror(reflecting: sequence).children.first(where: { $0.label == "_columns" })?.value,
              let items = described as? [Any] else { return nil }
        var columns: [RawResult.Column] = []
        for item in items {
            let fields = Dictionary(Mirror(reflecting: item).children.compactMap { child in child.label.map { ($0, child.value) } },
                                    uniquingKeysWith: { first, _ in first })
            guard let name = fields["name"] as? String, let type = fields["dataType"] as? PostgresDataType else { return nil }
            columns.append(RawResult.Column(name: name, typeOID: type.rawValue))
        }
        return columns
    }
}
