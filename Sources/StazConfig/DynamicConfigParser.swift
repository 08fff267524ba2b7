import Foundation
import StazCore

/// Reads a dynamic configuration object (DCS `config` key or `bootstrap.dcs`) into
/// `DynamicSettings`. Bad values are reported against `path` and leave the default in place.
enum DynamicConfigParser {
    /// `strict` (a configuration being checked before use, such as `bootstrap.dcs`): timing values
    /// below the minimums the daemon enforces, or a `loop_wait` longer than `ttl`, are errors
    /// instead of being adjusted later; a breach of `loop_wait + 2 * retry_timeout <= ttl`, which
    /// Patroni also repairs at run time, is a warning saying what will be used.
    static func parse(_ object: JSONObject, path: String, diagnostics: Diagnostics, strict: Bool) -> DynamicSettings {
        var settings = DynamicSettings()
        settings.source = object
        let reader = SectionReader(path: path, object: object, diagnostics: diagnostics)
        let issuesBeforeTiming = diagnostics.issues.count
        func timing(_ key: String, minimum: Double) -> Double? {
            strict ? reader.number(key, min: minimum) : reader.number(key, exclusiveMin: 0)
        }
        if let v = timing("ttl", minimum: DynamicSettings.minimumTTL) { settings.ttl = v }
        if let v = timing("loop_wait", minimum: DynamicSettings.minimumLoopWait) { settings.loopWait = v }
        if let v = timing("retry_timeout", minimum: DynamicSettings.minimumRetryTimeout) { settings.retryTimeout = v }
        if strict && diagnostics.issues.count == issuesBeforeTiming {
            checkTimingRule(settings, reader: reader)
        }
        if let v = reader.int("maximum_lag_on_failover", min: 0) { settings.maximumLagOnFailover = Int64(v) }
        if let v = reader.int("maximum_lag_on_syncnode", min: -1) { settings.maximumLagOnSyncNode = Int64(v) }
        if let v = reader.int("max_timelines_history", min: 0) { settings.maxTimelinesHistory = v }
        for key in ["primary_start_timeout", "master_start_timeout"] where reader.has(key) {
            if let v = reader.number(key, min: 0) { settings.primaryStartTimeout = v }
            break
        }
        for key in ["primary_stop_timeout", "master_stop_timeout"] where reader.has(key) {
            if let v = reader.number(key, min: 0) { settings.primaryStopTimeout = v }
            break
        }
        reader.accept("master_start_timeout", "master_stop_timeout", "primary_race_backoff")
        if let v = reader.bool("check_timeline") { settings.checkTimeline = v }
        if let v = reader.bool("pause") { settings.pause = v }
        if let v = reader.bool("synchronous_mode_strict") { settings.synchronousModeStrict = v }
        if let v = reader.bool("failsafe_mode") { settings.failsafeMode = v }
        if let raw = reader.raw("synchronous_mode") {
            if let mode = synchronousMode(raw) { settings.synchronousMode = mode } else {
                reader.typeError("synchronous_mode", expected: "on, off, true, false or quorum", got: raw)
            }
        }
        if let v = reader.int("synchronous_node_count", min: 1) { settings.synchronousNodeCount = v }
        if let raw = reader.raw("member_slots_ttl") {
            if let seconds = parseDuration(raw), seconds >= 0 { settings.memberSlotsTTL = seconds } else {
                reader.typeError("member_slots_ttl", expected: "a non-negative duration (e.g. 1800, 30min, 1h)", got: raw)
            }
        }
        if let postgresql = reader.section("postgresql") {
            if let v = postgresql.bool("use_pg_rewind") { settings.usePgRewind = v }
            if let v = postgresql.bool("use_slots") { settings.useSlots = v }
            if let v = postgresql.mapping("parameters") { settings.parameters = v }
            settings.pgHBA = postgresql.stringList("pg_hba")
            // Any other postgresql.* key may come from the dynamic configuration.
        }
        if let raw = reader.raw("ignore_slots") { settings.ignoreSlots = ignoreSlots(raw, path: reader.keyPath("ignore_slots"), diagnostics: diagnostics) }
        for key in ["slots", "permanent_slots", "permanent_replication_slots"] where reader.has(key) {
            if let slots = reader.mapping(key) { settings.permanentSlots = permanentSlots(slots, path: reader.keyPath(key), diagnostics: diagnostics) }
            break
        }
        reader.accept("slots", "permanent_slots", "permanent_replication_slots")
        if let standby = reader.section("standby_cluster") {
            settings.standbyCluster = standbyCluster(standby)
        }
        // Patroni's `is_synchronous_mode`: a standby cluster's leader is not a primary, so
        // nothing is synchronous there (its own `/sync` would name standbys of a standby).
        if settings.standbyCluster != nil { settings.synchronousMode = "off" }
        reader.finish()
        return settings
    }

    /// `standby_cluster`, active when it names a host, a port or a restore_command (Patroni's
    /// `is_standby_cluster`); nil when inactive. Every key is Patroni's; any other is refused,
    /// since a misspelt `primary_slot_name` would silently stream without the slot.
    private static func standbyCluster(_ reader: SectionReader) -> StandbyClusterSettings? {
        var standby = StandbyClusterSettings()
        standby.host = reader.string("host")
        standby.port = reader.int("port", min: 1, max: 65535)
        standby.primarySlotName = reader.string("primary_slot_name")
        standby.createReplicaMethods = reader.stringList("create_replica_methods")
        standby.restoreCommand = reader.string("restore_command")
        standby.archiveCleanupCommand = reader.string("archive_cleanup_command")
        standby.recoveryMinApplyDelay = reader.string("recovery_min_apply_delay")
        reader.finishRejectingUnknownKeys("not a standby_cluster setting; misspelt?")
        for key in ["host", "restore_command"] where reader.object[key]?.stringValue == "" {
            reader.diagnostics.error(reader.keyPath(key), "must not be empty")
        }
        let active = standby.host.map { !$0.isEmpty } == true || standby.port != nil
            || standby.restoreCommand.map { !$0.isEmpty } == true
        return active ? standby : nil
    }

    /// The relations between `ttl`, `loop_wait` and `retry_timeout` (each already at least its
    /// minimum). Values not given are the defaults, as they will be in force.
    private static func checkTimingRule(_ settings: DynamicSettings, reader: SectionReader) {
        let (ttl, loopWait) = (formatNumber(settings.ttl), formatNumber(settings.loopWait))
        if settings.loopWait > settings.ttl {
            reader.diagnostics.error(reader.keyPath("loop_wait"),
                "loop_wait=\(loopWait) is greater than ttl=\(ttl): the leader key would expire between two cycles")
            return
        }
        var adjusted = settings
        for warning in adjusted.applyTimingRule() {
            reader.diagnostics.warn(reader.keyPath(warning.path), "\(reader.path): \(warning.message)")
        }
    }

    /// `synchronous_mode`: booleans (YAML `on` is already a boolean) or the strings on/off/quorum.
    static func synchronousMode(_ value: JSONValue) -> String? {
        if case .string(let s) = value, s.lowercased() == "quorum" { return "quorum" }
        switch value {
        case .bool, .string, .int: return value.boolValue.map { $0 ? "on" : "off" }
        default: return nil
        }
    }

    /// Seconds from a number or a string with Patroni's units (`ms`, `s`, `min`, `h`, `d`).
    static func parseDuration(_ value: JSONValue) -> Double? {
        switch value {
        case .int, .double: return value.doubleValue
        case .string(let text):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            let digits = trimmed.prefix { $0.isNumber || $0 == "." || $0 == "-" }
            guard let number = Double(digits) else { return nil }
            let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
            let factors: [String: Double] = ["": 1, "ms": 0.001, "s": 1, "min": 60, "h": 3600, "d": 86400]
            return factors[unit].map { number * $0 }
        default: return nil
        }
    }

    private static func ignoreSlots(_ value: JSONValue, path: String, diagnostics: Diagnostics) -> [JSONObject] {
        guard case .array(let items) = value else {
            diagnostics.error(path, "expected a list of slot matchers, got \(describeKind(value))"); return []
        }
        var matchers: [JSONObject] = []
        for (index, item) in items.enumerated() {
            guard case .object(let matcher) = item else {
                diagnostics.error(path + "[\(index)]", "expected a mapping with name/type/database/plugin, got \(describeKind(item))"); continue
            }
            for key in matcher.keys where !["name", "type", "database", "plugin"].contains(key) {
                diagnostics.warn(.unknownKey(path + "[\(index)].\(key)"))
            }
            matchers.append(matcher)
        }
        return matchers
    }

    private static func permanentSlots(_ slots: JSONObject, path: String, diagnostics: Diagnostics) -> JSONObject {
        var result = JSONObject()
        for (name, value) in slots.pairs {
            let slotPath = path + "." + name
            guard PermanentSlot.isValidName(name) else {
                diagnostics.error(slotPath, "invalid slot name: only lower case letters, digits and underscores, at most 63 characters")
                continue
            }
            switch value {
            // Patroni treats any false-like value (null, 0, "", false, empty) as a physical slot.
            case .null, .int(0), .bool(false), .string(""), .array([]):
                result[name] = .object(JSONObject([("type", "physical")]))
            case .object(let slot) where slot.isEmpty:
                result[name] = .object(JSONObject([("type", "physical")]))
            case .object(let slot):
                // Patroni: without a type, a slot naming a database and a plugin is logical.
                let namesDatabaseAndPlugin = slot["database"]?.stringValue != nil && slot["plugin"]?.stringValue != nil
                let type = slot["type"]?.stringValue ?? (namesDatabaseAndPlugin ? "logical" : "physical")
                guard type == "physical" || type == "logical" else {
                    diagnostics.error(slotPath + ".type", "expected physical or logical, got '\(type)'"); continue
                }
                if type == "logical" {
                    let missing = ["database", "plugin"].filter { slot[$0]?.stringValue == nil }
                    if !missing.isEmpty {
                        for key in missing { diagnostics.error(slotPath + "." + key, "missing required key (logical slot)") }
                        continue
                    }
                }
                var typed = slot
                typed["type"] = .string(type)
                result[name] = .object(typed)
            default:
                diagnostics.error(slotPath, "expected a mapping (type, database, plugin), got \(describeKind(value))")
            }
        }
        return result
    }
}
