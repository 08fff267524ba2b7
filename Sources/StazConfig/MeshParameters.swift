import Foundation
import StazCore

/// The server settings a mesh needs on EVERY member, primaries and replicas alike (a replica
/// becomes a mesh node the moment it is promoted). They win over the
/// user's parameters, except that lists keep the user's entries and sizes only ever go up.
public enum MeshParameterRules {
    /// Physical member slots / walsenders / pg_basebackup connections budgeted besides the mesh's
    /// own (PostgreSQL's and Patroni's default of 10 for max_wal_senders/max_replication_slots).
    public static let memberBudget: Int64 = 10
    /// Worker processes besides the mesh's (PostgreSQL's default max_worker_processes).
    public static let workerBudget: Int64 = 8
    /// PostgreSQL's default for `output_plugin_libraries` (setting the GUC replaces it).
    public static let defaultOutputPlugins = ["pgoutput", "test_decoding"]

    /// Slots, walsenders and workers for `databases` databases meshed with `peers` other zones:
    /// per database each peer subscribes to us (one logical slot and walsender here, a second
    /// during its initial sync) and we subscribe to each peer (one apply worker, one sync
    /// worker), plus one manager per database and the provider's supervisor. Each outgoing slot
    /// also has a held copy (StazMesh `HeldSlots`).
    public static func sizes(databases: Int, peers: Int) -> (slots: Int64, senders: Int64, workers: Int64) {
        let streams = Int64(databases * peers)
        return (memberBudget + 3 * streams, memberBudget + 2 * streams,
                workerBudget + 1 + Int64(databases) + 2 * streams)
    }

    /// Merges the mesh's requirements into `parameters`. `knownParameters` is what the server
    /// binary accepts (`postgres --describe-config`); `output_plugin_libraries` only exists on
    /// servers with the 2026 output-plugin fix, and an unknown parameter stops PostgreSQL, so it
    /// is set only when the server is known to have it (and removed when known not to).
    public static func apply(to parameters: inout JSONObject, mesh: MeshSection, synchronousMode: Bool,
                             knownParameters: Set<String>?) {
        let provider = mesh.provider
        parameters["wal_level"] = "logical"
        parameters["track_commit_timestamp"] = "on"
        parameters["hot_standby_feedback"] = "on"
        parameters["shared_preload_libraries"] = .string(listIncluding(provider.preloadLibrary, in: parameters["shared_preload_libraries"], defaults: []))
        if knownParameters?.contains("output_plugin_libraries") == true {
            parameters["output_plugin_libraries"] = .string(listIncluding(provider.outputPlugin, in: parameters["output_plugin_libraries"],
                                                                          defaults: defaultOutputPlugins))
        } else if knownParameters != nil {
            parameters["output_plugin_libraries"] = nil
        }
        // Multi-master: the newest commit wins (pglogical's default `apply_remote` would let
        // whichever change arrives last win). Needs track_commit_timestamp.
        parameters[provider.conflictResolutionParameter] = "last_update_wins"
        // With synchronous replication inside the zone, apply commits are made durable. Neither
        // provider's feedback waits for the synchronous standby every time (pglogical maps `on`
        // to a local flush; Spock 5 reports its last received position whenever nothing is
        // waiting for a local flush): held slots on the providers (StazMesh `HeldSlots`) close
        // that gap for both.
        parameters[provider.synchronousCommitParameter] = synchronousMode ? "on" : nil
        for (name, value) in spockApplySettings(provider) { parameters[name] = .string(value) }
        if provider == .spock, parameters[spockRestartDelay.name] == nil {
            parameters[spockRestartDelay.name] = .int(spockRestartDelay.milliseconds)
        }

        let peers = mesh.zones.count - 1
        let needed = sizes(databases: mesh.databases.count, peers: max(0, peers))
        for (name, minimum) in [("max_replication_slots", needed.slots), ("max_wal_senders", needed.senders),
                                ("max_worker_processes", needed.workers)] {
            let current = parameters[name]?.intValue ?? 0
            if current < minimum { parameters[name] = .int(minimum) }
        }
    }

    /// The settings the mesh checks on the running leader: name → wanted value (as
    /// `current_setting` shows it). Lists are checked for the entry, not equality.
    public static func checkedSettings(mesh: MeshSection, synchronousMode: Bool) -> [(name: String, value: String)] {
        var settings: [(String, String)] = [
            ("wal_level", "logical"), ("track_commit_timestamp", "on"),
            ("shared_preload_libraries", mesh.provider.preloadLibrary),
            ("output_plugin_libraries", mesh.provider.outputPlugin),
            (mesh.provider.conflictResolutionParameter, "last_update_wins"),
        ]
        if synchronousMode { settings.append((mesh.provider.synchronousCommitParameter, "on")) }
        settings += spockApplySettings(mesh.provider)
        return settings
    }

    /// Spock's apply worker records the transaction it is in, and when it restarts inside that
    /// same transaction (killed by a disable, its provider gone mid-stream) it replays it in
    /// "exception mode". With Spock's default `transdiscard` that replay rolls back every change
    /// and still moves the origin past the commit, and `sub_disable` does the same when nothing
    /// failed (spock_apply.c, handle_commit): an interrupted transaction is lost. `discard`
    /// replays each change in a subtransaction and keeps every one that succeeds, so only a
    /// change that really fails is skipped; logging only those (`discard`) makes every row of
    /// `spock.exception_log` a skipped change, which the mesh reports. pglogical has no such
    /// mode. The conflicts Spock resolves are kept in `spock.resolutions`
    /// (`save_resolutions`), which the mesh counts; pglogical only logs them.
    public static func spockApplySettings(_ provider: MeshProviderKind) -> [(name: String, value: String)] {
        guard provider == .spock else { return [] }
        return [("spock.exception_behaviour", "discard"), ("spock.exception_logging", "discard"),
                ("spock.save_resolutions", "on")]
    }

    /// Spock restarts a failed apply worker `spock.restart_delay_default` after it stopped (5 s
    /// by default; spock_manager.c). Every worker of a promoted member fails once behind the
    /// apply gate (StazMesh `SpockApplyGate`), so that delay is time the promoted zone applies
    /// nothing from its peers. 1 s still keeps a worker that fails on every start out of a busy
    /// loop. A value the user set is kept; the setting takes effect at the next restart.
    public static let spockRestartDelay = (name: "spock.restart_delay_default", milliseconds: Int64(1000))

    /// Settings checked for containing an entry rather than for equality.
    public static let listSettings: Set<String> = ["shared_preload_libraries", "output_plugin_libraries"]

    /// A comma-separated GUC list with `entry` added when absent (user entries kept, in order).
    /// PostgreSQL's config-file syntax for list GUCs is one quoted, comma-separated string.
    static func listIncluding(_ entry: String, in value: JSONValue?, defaults: [String]) -> String {
        var items: [String]
        switch value {
        case .array(let array)?: items = array.compactMap { YAMLConversion.scalarText($0) }
        case let scalar?: items = splitList(YAMLConversion.scalarText(scalar) ?? "")
        case nil: items = defaults
        }
        if !items.contains(entry) { items.append(entry) }
        return items.joined(separator: ", ")
    }

    /// `'a, "b", c'` → `[a, b, c]`.
    public static func splitList(_ text: String) -> [String] {
        text.split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }.filter { !$0.isEmpty }
    }
}
