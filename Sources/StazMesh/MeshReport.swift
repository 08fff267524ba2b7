import Foundation
import StazConfig
import StazCore

/// The result of one reconciliation pass, for `GET /mesh`, metrics and logs.
public struct MeshReconcileResult: Sendable, Equatable {
    /// Wall clock (epoch seconds) when the pass ended.
    public var finishedAt: Double
    public var durationSeconds: Double
    /// Nothing left to do and nothing failed (notes may remain: they need a restart or a human).
    public var converged: Bool
    public var applied: [String] = []
    public var errors: [String] = []
    /// Actions still planned after the pass (not converged yet).
    public var pending: [String] = []
    /// What no action can fix (restart pending, a zone without members, a human decision).
    public var notes: [String] = []
    public init(finishedAt: Double, durationSeconds: Double, converged: Bool) {
        self.finishedAt = finishedAt; self.durationSeconds = durationSeconds; self.converged = converged
    }
}

/// What this member knows about the mesh: the configuration, the last observation (leader
/// only) and the last reconciliation.
public struct MeshReport: Sendable, Equatable {
    public var mesh: MeshSection
    /// `leader` (this member reconciles), `replica` (it does not), or `unknown`.
    public var role: String
    public var desired: MeshDesired?
    public var observation: MeshObservation?
    public var result: MeshReconcileResult?

    public init(mesh: MeshSection, role: String, desired: MeshDesired? = nil, observation: MeshObservation? = nil,
                result: MeshReconcileResult? = nil) {
        self.mesh = mesh; self.role = role; self.desired = desired; self.observation = observation; self.result = result
    }

    /// Subscriptions replicating / expected (for metrics and a one-line status).
    public var replicatingCount: Int {
        observation?.databases.flatMap(\.subscriptions).filter { $0.status == "replicating" }.count ?? 0
    }

    /// The `GET /mesh` body. Keys other helpers add (`slots_ready`, `divergence_reports`,
    /// `last_failover`) are merged in by the daemon; DSN passwords are masked.
    public var json: JSONObject {
        var o = JSONObject()
        o["provider"] = .string(mesh.provider.rawValue)
        o["scope"] = .string(mesh.ownScope)
        o["node"] = .string(mesh.nodeName)
        o["role"] = .string(role)
        o["zones"] = .array(mesh.zones.map { zone in
            var z = JSONObject()
            z["scope"] = .string(zone.scope)
            z["node"] = .string(zone.nodeName)
            let dsn = zone.scope == mesh.ownScope
                ? desired?.databases.first?.nodeDSN
                : desired?.databases.first?.subscriptions.first { $0.providerScope == zone.scope }?.providerDSN
            if let dsn { z["dsn"] = .string(MeshDSN.redacted(dsn)) }
            z["dsn_source"] = .string(zone.dsn == nil ? "dcs" : "configuration")
            if let own = zone.ownDCS, zone.scope != mesh.ownScope {
                z["dcs"] = .string((own.api == .v3 ? "etcd3 " : "etcd ") + own.section.endpoints.joined(separator: ","))
            }
            if let desired, zone.dsn == nil {
                // The last pass's read of the zone's keys; unreachable degrades this zone's view only.
                if let error = desired.unreadableZones[zone.scope] {
                    z["dcs_reachable"] = false
                    z["dcs_error"] = .string(error)
                } else {
                    z["dcs_reachable"] = true
                }
                if let reason = desired.waitingZones[zone.scope] { z["endpoint_waiting"] = .string(reason) }
            }
            if zone.scope == mesh.ownScope { z["self"] = true }
            return .object(z)
        })
        o["databases"] = .array(mesh.databases.map { name in .object(databaseJSON(name)) })
        if let observation {
            o["slots"] = .array(observation.outgoingSlots.map { slot in
                var s = JSONObject()
                s["name"] = .string(slot.name)
                s["database"] = .string(slot.database)
                s["active"] = .bool(slot.active)
                // staz's held copy of a subscription slot (HeldSlots), not a subscriber's stream.
                if HeldSlotName.isHeld(slot.name) { s["held"] = true }
                s["consumer"] = slot.consumer.map { .string($0) } ?? .null
                s["confirmed_flush_lsn"] = slot.confirmedFlushLSN.map { .string($0) } ?? .null
                s["lag_bytes"] = slot.lagBytes.map { .int($0) } ?? .null
                s["lag_seconds"] = slot.lagSeconds.map { .double($0) } ?? .null
                return .object(s)
            })
            if let lsn = observation.currentWALLSN { o["wal_lsn"] = .string(lsn) }
        }
        if let result {
            var r = JSONObject()
            r["at"] = .string(Self.isoTimestamp(result.finishedAt))
            r["duration_seconds"] = .double((result.durationSeconds * 1000).rounded() / 1000)
            r["converged"] = .bool(result.converged)
            r["applied"] = .array(result.applied.map { .string($0) })
            r["pending"] = .array(result.pending.map { .string($0) })
            r["errors"] = .array(result.errors.map { .string($0) })
            r["notes"] = .array(result.notes.map { .string($0) })
            o["last_reconcile"] = .object(r)
        }
        return o
    }

    func databaseJSON(_ name: String) -> JSONObject {
        var d = JSONObject()
        d["name"] = .string(name)
        guard let observed = observation?.database(name) else { return d }
        d["exists"] = .bool(observed.exists)
        d["extension"] = .bool(observed.extensionInstalled)
        if let local = observed.localNode {
            d["node"] = .string(local.name)
            d["node_dsn"] = .string(MeshDSN.redacted(local.dsn))
        }
        d["replication_sets"] = .array(observed.replicationSets.map { .string($0) })
        d["tables"] = .int(Int64(observed.tables.count))
        d["tables_replicated"] = .int(Int64(observed.tables.filter { !$0.sets.isEmpty }.count))
        if let file = desired?.databases.first(where: { $0.database == name })?.schemaFile {
            var schema = JSONObject()
            schema["path"] = .string(file.path)
            schema["applied_digest"] = observed.schemaDigest.map { .string($0) } ?? .null
            schema["applied_at"] = observed.schemaAppliedAt.map { .string($0) } ?? .null
            switch file {
            case .file(_, let digest, _):
                schema["file_digest"] = .string(digest)
                schema["current"] = .bool(observed.schemaDigest == digest)
            case .unusable(_, let error):
                schema["error"] = .string(error)
            }
            d["schema"] = .object(schema)
        }
        if let skipped = observed.skippedChanges {
            d["skipped_changes"] = .int(Int64(skipped.count))
            if let at = skipped.latestAt { d["last_skipped_at"] = .string(at) }
            if let error = skipped.latest { d["last_skipped_error"] = .string(error) }
        }
        if let conflicts = observed.resolvedConflicts {
            d["conflicts_resolved"] = .int(Int64(conflicts.count))
            if let at = conflicts.latestAt { d["last_conflict_at"] = .string(at) }
            if let latest = conflicts.latest { d["last_conflict"] = .string(latest) }
            if let since = observed.conflictsCountedSince { d["conflicts_counted_since"] = .string(since) }
        }
        d["subscriptions"] = .array(observed.subscriptions.map { sub in
            var s = JSONObject()
            s["name"] = .string(sub.name)
            s["provider_node"] = .string(sub.providerNode)
            s["status"] = .string(sub.status)
            s["enabled"] = .bool(sub.enabled)
            s["slot_name"] = .string(sub.slotName)
            s["origin"] = sub.originName.map { .string($0) } ?? .null
            s["remote_lsn"] = sub.remoteLSN.map { .string($0) } ?? .null
            s["interface"] = .string(sub.interfaceName)
            s["provider_dsn"] = .string(MeshDSN.redacted(sub.providerDSN))
            s["replication_sets"] = .array(sub.replicationSets.map { .string($0) })
            s["forward_origins"] = .array(sub.forwardOrigins.map { .string($0) })
            return .object(s)
        })
        return d
    }

    static func isoTimestamp(_ epoch: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: epoch))
    }
}
