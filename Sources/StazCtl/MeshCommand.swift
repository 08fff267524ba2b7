import ArgumentParser
import Foundation
import Logging
import StazConfig
import StazCore
import StazDCS

/// `stazctl mesh`: per zone of the configuration's `mesh` section, the zone's leader, its node
/// and each subscription's status and lag (from the leaders' `GET /mesh`).
/// `stazctl mesh ddl "SQL"`: DDL through the provider's DDL replication on this zone's leader.
/// `stazctl mesh forget-copy`: drops another zone's node copied into this zone (a seeded zone).
struct MeshCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh",
        abstract: "Show the cross-zone mesh, run replicated DDL, or forget a copied node: "
            + "mesh [ddl \"SQL\" | forget-copy] [--dbname DB]")
    @OptionGroup var globals: GlobalOptions
    @Argument(help: "Nothing (show the mesh), or: ddl \"SQL\", or: forget-copy") var words: [String] = []
    @Option(name: .customLong("dbname"), help: "Database for ddl (default: the mesh's first) or forget-copy (default: all)") var dbname: String?
    @Flag(name: .customLong("force"), help: "forget-copy without asking for confirmation") var force = false
    @Option(name: [.customShort("f"), .customLong("format")], help: "Output format (pretty, json)") var format: String = "pretty"

    func run() async throws {
        if force && words.first != "forget-copy" { throw CtlError("--force applies to stazctl mesh forget-copy only") }
        let config = try globals.configuration(cluster: nil)
        guard let mesh = config.mesh else {
            throw CtlError("no 'mesh' section in the configuration of cluster \(config.scope)")
        }
        switch words.first {
        case nil:
            guard format == "pretty" || format == "json" else {
                throw CtlError("Invalid value for '--format' / '-f': '\(format)' is not one of 'pretty', 'json'.")
            }
            let zones = await MeshCtl.collect(config: config, mesh: mesh)
            if format == "json" {
                var object = JSONObject()
                for zone in zones { object[zone.scope] = zone.status.map { .object($0) } ?? .string(zone.problem ?? "unknown") }
                echo(JSONValue.object(object).pythonJSONString)
            } else {
                CtlIO.current.write(renderMesh(zones))
            }
        case "ddl":
            guard words.count == 2 else { throw CtlError("usage: stazctl mesh ddl \"SQL\" [--dbname DB]") }
            echo(try await MeshCtl.ddl(config: config, mesh: mesh, command: words[1], database: dbname))
        case "forget-copy":
            guard words.count == 1 else { throw CtlError("usage: stazctl mesh forget-copy [--dbname DB] [--force]") }
            try await MeshForgetCopy.run(config: config, mesh: mesh, database: dbname, force: force)
        default:
            throw CtlError("unknown mesh action '\(words[0])' (use: stazctl mesh, stazctl mesh ddl \"SQL\", "
                           + "or stazctl mesh forget-copy)")
        }
    }
}

/// One zone as stazctl found it.
struct MeshZoneView: Equatable {
    var scope: String
    var node: String
    var leader: String?
    /// The leader's `GET /mesh` body.
    var status: JSONObject?
    /// Why there is no status (no leader, REST unreachable).
    var problem: String?
}

enum MeshCtl {
    static func session(_ config: StazConfiguration, scope: String) -> DCSClient {
        let zoneConfig = config.viewingMeshZone(scope)
        var logger = Logger(label: "stazctl")
        logger.logLevel = .critical
        return makeDCSClient(configuration: zoneConfig, memberName: nil, logger: logger)
    }

    static func collect(config: StazConfiguration, mesh: MeshSection) async -> [MeshZoneView] {
        let rest = PatroniREST(configuration: config)
        var zones: [MeshZoneView] = []
        for zone in mesh.zones {
            var view = MeshZoneView(scope: zone.scope, node: zone.nodeName)
            let dcs = session(config, scope: zone.scope)
            do {
                let cluster: ClusterView
                do { cluster = try await dcs.loadCluster(fresh: true) } catch {
                    throw CtlError("cannot read the zone's keys from its DCS: \(error)")
                }
                if let leader = cluster.leader?.name, let member = cluster.member(named: leader) {
                    view.leader = leader
                    let answer = try await rest.request(member, endpoint: "mesh")
                    if answer.status == 200, let object = (try? JSONValue.parse(answer.body))?.objectValue {
                        view.status = object
                    } else {
                        view.problem = "GET /mesh on \(leader): \(answer.status) \(answer.body.prefix(200))"
                    }
                } else {
                    view.problem = "no leader"
                }
            } catch {
                view.problem = "\(error)"
            }
            await dcs.close()
            zones.append(view)
        }
        await rest.shutdown()
        return zones
    }

    static func ddl(config: StazConfiguration, mesh: MeshSection, command: String, database: String?) async throws -> String {
        let dcs = session(config, scope: mesh.ownScope)
        let cluster: ClusterView
        do { cluster = try await dcs.loadCluster(fresh: true) } catch {
            await dcs.close()
            throw CtlError("\(error)")
        }
        await dcs.close()
        guard let leader = cluster.leader?.name, let member = cluster.member(named: leader) else {
            throw CtlError("zone \(mesh.ownScope) has no leader")
        }
        var body = JSONObject([("command", .string(command))])
        if let database { body["database"] = .string(database) }
        let rest = PatroniREST(configuration: config)
        let answer: RESTResponse
        do {
            answer = try await rest.request(member, method: .POST, endpoint: "mesh/ddl", body: .object(body))
            await rest.shutdown()
        } catch {
            await rest.shutdown()
            throw CtlError("\(error)")
        }
        guard answer.status == 200 else { throw CtlError("\(leader): \(answer.body)") }
        let target = (try? JSONValue.parse(answer.body))?["database"]?.stringValue ?? database ?? mesh.databases[0]
        return "DDL replicated from \(leader) (zone \(mesh.ownScope), database \(target))"
    }
}

/// The `stazctl mesh` tables: one per zone, each subscription this zone receives with its
/// status (from this zone's leader) and lag (from the provider zone's leader, which holds the
/// slot).
func renderMesh(_ zones: [MeshZoneView]) -> String {
    // slot name -> (lag bytes, lag seconds) from every provider's view.
    var lags: [String: (JSONValue, JSONValue)] = [:]
    for zone in zones {
        for slot in zone.status?["slots"]?.arrayValue ?? [] {
            guard let name = slot["name"]?.stringValue else { continue }
            lags[name] = (slot["lag_bytes"] ?? .null, slot["lag_seconds"] ?? .null)
        }
    }
    func lagText(_ value: JSONValue) -> String {
        switch value {
        case .int(let i): return String(i)
        case .double(let d): return String(format: "%.3f", d)
        default: return ""
        }
    }
    var out = ""
    for zone in zones {
        let leader = zone.leader ?? "-"
        let title = " Zone: \(zone.scope) (node \(zone.node), leader \(leader)) "
        guard let status = zone.status else {
            out += PrettyTable(columns: ["Database", "Subscription", "From", "Status", "Lag bytes", "Lag s"],
                               rows: [["", "", "", zone.problem ?? "unknown", "", ""]], title: title).render() + "\n"
            continue
        }
        var rows: [[String]] = []
        for database in status["databases"]?.arrayValue ?? [] {
            let name = database["name"]?.stringValue ?? ""
            let subscriptions = database["subscriptions"]?.arrayValue ?? []
            if subscriptions.isEmpty {
                rows.append([name, "", "", database["extension"] == true ? "no subscriptions" : "extension missing", "", ""])
            }
            for sub in subscriptions {
                let lag = sub["slot_name"]?.stringValue.flatMap { lags[$0] }
                rows.append([name, sub["name"]?.stringValue ?? "", sub["provider_node"]?.stringValue ?? "",
                             sub["status"]?.stringValue ?? "", lag.map { lagText($0.0) } ?? "", lag.map { lagText($0.1) } ?? ""])
            }
        }
        out += PrettyTable(columns: ["Database", "Subscription", "From", "Status", "Lag bytes", "Lag s"], rows: rows,
                           alignments: ["Lag bytes": .right, "Lag s": .right], title: title).render() + "\n"
        for database in status["databases"]?.arrayValue ?? [] { out += renderApplyOutcomes(database) }
        if let last = status["last_reconcile"]?.objectValue {
            let converged = last["converged"] == true
            out += " last reconcile: \(last["at"]?.stringValue ?? "?") \(converged ? "converged" : "NOT converged")\n"
            for key in ["errors", "pending", "notes"] {
                for line in last[key]?.arrayValue ?? [] { out += "   \(key.dropLast()): \(line.stringValue ?? "")\n" }
            }
        } else if let role = status["role"]?.stringValue, role != "leader" {
            out += " (\(role): not reconciling)\n"
        }
        if let value = status["slots_ready"], !value.isNull { out += " slots_ready: \(value.pythonJSONString)\n" }
        for other in status["zones"]?.arrayValue ?? [] where other["dcs_reachable"] == false {
            out += " zone \(other["scope"]?.stringValue ?? "?")'s DCS is unreachable from here (only its part of the mesh waits): "
                + "\(other["dcs_error"]?.stringValue ?? "?")\n"
        }
        out += renderIntegrity(.object(status))
    }
    return out
}

/// Spock's apply outcomes in one database: conflicts resolved and changes skipped (absent with
/// pglogical, which keeps neither).
func renderApplyOutcomes(_ database: JSONValue) -> String {
    var parts: [String] = []
    if let resolved = database["conflicts_resolved"]?.intValue {
        var text = "\(resolved) conflicts resolved"
        if let last = database["last_conflict"]?.stringValue {
            text += " (last: \(last) at \(database["last_conflict_at"]?.stringValue ?? "?"))"
        }
        parts.append(text)
    }
    if let skipped = database["skipped_changes"]?.intValue {
        var text = "\(skipped) changes skipped"
        if skipped > 0, let error = database["last_skipped_error"]?.stringValue {
            text += " (last: \(error) at \(database["last_skipped_at"]?.stringValue ?? "?"))"
        }
        parts.append(text)
    }
    guard !parts.isEmpty else { return "" }
    return " \(database["name"]?.stringValue ?? "?"): \(parts.joined(separator: ", "))\n"
}

/// The integrity check's findings of one zone: the last promotion check per zone, paused
/// subscriptions and the divergence reports, one line each.
func renderIntegrity(_ status: JSONValue) -> String {
    var out = ""
    for (zone, check) in status["last_failover"]?.objectValue?.pairs ?? [] {
        out += " last failover check: zone \(zone) timeline \(check["timeline"]?.intValue.map(String.init) ?? "?")"
            + " at \(check["checked_at"]?.stringValue ?? "?"): \(check["outcome"]?.stringValue ?? "?")\n"
    }
    let paused = (status["paused_subscriptions"]?.arrayValue ?? []).compactMap(\.stringValue)
    if !paused.isEmpty { out += " paused by staz: \(paused.joined(separator: ", "))\n" }
    for report in status["divergence_reports"]?.arrayValue ?? [] {
        func text(_ key: String) -> String { report[key]?.stringValue ?? "?" }
        let bytes = report["bytes"]?.intValue.map { " (\($0) bytes)" } ?? ""
        out += " DIVERGENCE \(text("kind")) \(text("database"))/\(text("subscription")) \(text("provider")) -> \(text("subscriber"))"
            + " \(text("from_lsn"))..\(text("to_lsn"))\(bytes) timeline \(report["timeline"]?.intValue.map(String.init) ?? "?")"
            + " at \(text("detected_at")): \(text("action"))\n"
    }
    return out
}
