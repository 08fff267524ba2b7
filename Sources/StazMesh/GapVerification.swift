import StazCore

// Exact gap reports. After our own promotion, a subscription whose origin is behind what its
// provider's slot confirmed *may* have skipped commits: the range (origin, confirmed] of the
// provider's WAL. The apply worker also confirms positions of WAL without transactions
// (keepalives), so most such ranges hold nothing of ours, and a report the operator must check
// by hand each time is noise. Only the provider can tell, from its own WAL: the subscriber
// asks through its ledger (report `verification: pending`), the provider zone's leader reads the
// range with pg_walinspect and answers through its ledger (`verified_ranges`), and the
// subscriber then drops the report (no commit there) or completes it with the commits' count
// and transaction ids. Both sides go through the DCS, as the held slots do, so neither zone
// needs a connection to the other's server.

/// The outcome of reading one range of a provider's WAL.
public enum RangeVerification: Sendable, Equatable {
    /// Commits of locally made transactions touching the subscription's database, by xid.
    case commits([String])
    /// The range could not be read (WAL already removed, pg_walinspect missing, ...).
    case unreadable(String)

    var json: JSONValue {
        switch self {
        case .commits(let xids): return .object(JSONObject([("xids", .array(xids.map { .string($0) }))]))
        case .unreadable(let reason): return .object(JSONObject([("error", .string(reason))]))
        }
    }

    init?(json: JSONValue) {
        guard let o = json.objectValue else { return nil }
        if let xids = o["xids"]?.arrayValue { self = .commits(xids.compactMap(\.stringValue)); return }
        guard let error = o["error"]?.stringValue else { return nil }
        self = .unreadable(error)
    }
}

/// A range a subscriber zone asked this (provider) zone to read.
public struct RangeCheck: Sendable, Equatable {
    public var key: String
    public var database: String
    public var fromLSN: LSN
    public var toLSN: LSN
}

public enum GapVerification {
    /// How long a subscriber waits for its provider's answer before keeping the report as
    /// unverified.
    public static let answerWait: Double = 120

    /// The key both zones use for one report's range.
    static func key(_ report: DivergenceReport) -> String {
        [report.subscriber, report.database, report.subscription, String(report.timeline),
         report.fromLSN.description, report.toLSN.description].joined(separator: "|")
    }

    /// Provider side: the ranges peers' reports ask this zone (`ownNode`) to read that it has
    /// not answered yet (`answered`: its own ledger's `verifiedRanges`).
    public static func pendingChecks(peerLedgers: [String: MeshLedger], ownNode: String,
                                     answered: [String: RangeVerification]) -> [RangeCheck] {
        var checks: [RangeCheck] = []
        for (_, ledger) in peerLedgers.sorted(by: { $0.key < $1.key }) {
            for report in ledger.divergence where report.kind == .possibleSubscriberGap
                && report.provider == ownNode && report.verification == .pending {
                let key = key(report)
                guard answered[key] == nil, !checks.contains(where: { $0.key == key }) else { continue }
                checks.append(RangeCheck(key: key, database: report.database, fromLSN: report.fromLSN, toLSN: report.toLSN))
            }
        }
        return checks
    }

    /// Provider side: the answers to keep publishing (those still asked for) plus new ones.
    public static func answers(current: [String: RangeVerification], new: [String: RangeVerification],
                               peerLedgers: [String: MeshLedger], ownNode: String) -> [String: RangeVerification] {
        let asked = Set(peerLedgers.values.flatMap { ledger in
            ledger.divergence.filter { $0.provider == ownNode && $0.verification == .pending }.map(key)
        })
        return current.merging(new) { _, fresh in fresh }.filter { asked.contains($0.key) }
    }

    /// Subscriber side: completes our pending reports from the providers' answers. A range
    /// without commits of ours is no gap: its report goes. Returns the ledger and what to log.
    public static func settle(_ ledger: MeshLedger, providerLedgers: [String: MeshLedger],
                              clock: Double) -> (MeshLedger, [String]) {
        var settled = ledger
        var lines: [String] = []
        settled.divergence = ledger.divergence.compactMap { report in
            guard report.verification == .pending else { return report }
            var report = report
            switch providerLedgers[report.provider]?.verifiedRanges[key(report)] {
            case .commits(let xids) where xids.isEmpty:
                lines.append("\(report.provider) read \(report.fromLSN)..\(report.toLSN) of its WAL for \(report.database)/\(report.subscription): no commit there, no gap")
                return nil
            case .commits(let xids):
                report.verification = .verified(xids)
                report.action = "\(xids.count) commit(s) of \(report.provider) in this range (xids \(xids.prefix(20).joined(separator: ", "))\(xids.count > 20 ? ", ..." : "")) were applied by our old primary only and will not be sent again: repair them from \(report.provider)"
                lines.append("GAP \(report.database)/\(report.subscription): \(report.action)")
            case .unreadable(let reason):
                report.verification = .unverifiable(reason)
                report.action = "\(report.provider) could not read the range (\(reason)): if it holds commits, repair them from \(report.provider)"
                lines.append("possible gap \(report.database)/\(report.subscription) \(report.fromLSN)..\(report.toLSN) not verified: \(reason)")
            case nil:
                guard clock - (report.requestedAt ?? clock) > answerWait else { return report }
                report.verification = .unverifiable("\(report.provider) did not answer within \(Int(answerWait)) s")
                report.action = "unverified: if the range holds commits, repair them from \(report.provider)"
                lines.append("possible gap \(report.database)/\(report.subscription) \(report.fromLSN)..\(report.toLSN) not verified: \(report.provider) did not answer")
            }
            return report
        }
        for (zone, var check) in ledger.lastFailover where check.outcome == FailoverCheck.verifyingGap {
            let pending = settled.divergence.contains { $0.subscriber == zone && $0.verification == .pending }
            guard !pending else { continue }
            let gaps = settled.divergence.contains { $0.subscriber == zone && $0.kind == .possibleSubscriberGap && $0.timeline == check.timeline }
            check.outcome = gaps ? "divergence recorded" : "clean"
            settled.lastFailover[zone] = check
        }
        return (settled, lines)
    }

    /// Provider side, run in the maintenance database (where staz creates pg_walinspect): the
    /// commits in (from, to] of transactions made here (no replication origin). A commit's
    /// record ends at the position a subscriber's origin records. Transactions interleave in
    /// the WAL, so a transaction committed in the range may have written before it: one is
    /// left out only when its writes in the range prove it wrote to other databases alone.
    public static func query(database: String, from: LSN, to: LSN) -> String {
        let fromText = sqlText(from.description), toText = sqlText(to.description)
        return """
            WITH records AS (
              SELECT xid, end_lsn, resource_manager, record_type, description, block_ref
              FROM pg_get_wal_records_info(\(fromText)::pg_lsn, \(toText)::pg_lsn)),
            here AS (SELECT '% rel %/' || oid || '/%' AS pattern FROM pg_catalog.pg_database WHERE datname = \(sqlText(database)))
            SELECT c.xid::text AS xid FROM records c
            WHERE c.resource_manager = 'Transaction' AND c.record_type IN ('COMMIT', 'COMMIT_PREPARED')
              AND c.end_lsn > \(fromText)::pg_lsn AND c.end_lsn <= \(toText)::pg_lsn
              AND c.description NOT LIKE '%origin: %'
              AND NOT (EXISTS (SELECT 1 FROM records w WHERE w.xid = c.xid AND w.block_ref LIKE '% rel %')
                       AND NOT EXISTS (SELECT 1 FROM records w, here WHERE w.xid = c.xid AND w.block_ref LIKE here.pattern))
            ORDER BY c.end_lsn
            """
    }

    public static let createExtension = "CREATE EXTENSION IF NOT EXISTS pg_walinspect"

    private static func sqlText(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
}

extension FailoverCheck {
    /// The outcome while a possible gap waits for its provider's answer.
    public static let verifyingGap = "verifying possible gap"
}
