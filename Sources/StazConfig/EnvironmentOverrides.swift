import Foundation
import StazCore

/// Patroni's environment variables (`PATRONI_*`), also accepted as `STAZ_*`; when both are set
/// the `STAZ_` one wins. The variables are turned into a configuration patch that is merged over
/// the YAML, so that they go through exactly the same typing and validation as the file.
struct EnvironmentOverrides {
    let environment: [String: String]

    /// Value of `STAZ_<suffix>`, else `PATRONI_<suffix>`.
    func value(_ suffix: String) -> String? {
        environment["STAZ_" + suffix] ?? environment["PATRONI_" + suffix]
    }

    /// Suffixes (after `STAZ_`/`PATRONI_` + `prefix`) of every variable starting with `prefix`.
    func suffixes(after prefix: String) -> [String] {
        var found = Set<String>()
        for key in environment.keys {
            for base in ["STAZ_", "PATRONI_"] where key.hasPrefix(base + prefix) {
                let suffix = String(key.dropFirst(base.count + prefix.count))
                if !suffix.isEmpty { found.insert(suffix) }
            }
        }
        return found.sorted()
    }

    /// The whole-configuration variable (`STAZ_CONFIGURATION` / `PATRONI_CONFIGURATION`).
    var wholeConfiguration: String? { value("CONFIGURATION") }

    /// The configuration patch the variables describe.
    func patch() -> JSONObject {
        var root = JSONObject()
        for key in ["NAME", "NAMESPACE", "SCOPE"] {
            if let v = value(key) { root[key.lowercased()] = .string(v) }
        }

        var restapi = JSONObject()
        for key in ["LISTEN", "CONNECT_ADDRESS", "CERTFILE", "KEYFILE", "CAFILE", "VERIFY_CLIENT", "ALLOWLIST_INCLUDE_MEMBERS"] {
            if let v = value("RESTAPI_" + key) { restapi[key.lowercased()] = .string(v) }
        }
        if let v = value("RESTAPI_ALLOWLIST") { restapi["allowlist"] = EnvironmentOverrides.list(v) }
        var restAuth = JSONObject()
        for key in ["USERNAME", "PASSWORD"] {
            if let v = value("RESTAPI_" + key) { restAuth[key.lowercased()] = .string(v) }
        }
        if !restAuth.isEmpty { restapi["authentication"] = .object(restAuth) }
        if !restapi.isEmpty { root["restapi"] = .object(restapi) }

        var postgresql = JSONObject()
        for key in ["LISTEN", "CONNECT_ADDRESS", "PROXY_ADDRESS", "DATA_DIR", "CONFIG_DIR", "BIN_DIR", "PGPASS"] {
            if let v = value("POSTGRESQL_" + key) { postgresql[key.lowercased()] = .string(v) }
        }
        var binNames = JSONObject()
        for binary in suffixes(after: "POSTGRESQL_BIN_") {
            if let v = value("POSTGRESQL_BIN_" + binary) { binNames[binary.lowercased()] = .string(v) }
        }
        if !binNames.isEmpty { postgresql["bin_name"] = .object(binNames) }
        var authentication = JSONObject()
        for role in ["SUPERUSER", "REPLICATION", "REWIND"] {
            var credentials = JSONObject()
            for key in ["USERNAME", "PASSWORD", "SSLMODE", "SSLKEY", "SSLPASSWORD", "SSLCERT", "SSLROOTCERT",
                        "SSLCRL", "SSLCRLDIR", "SSLNEGOTIATION", "GSSENCMODE", "CHANNEL_BINDING"] {
                if let v = value(role + "_" + key) { credentials[key.lowercased()] = .string(v) }
            }
            if !credentials.isEmpty { authentication[role.lowercased()] = .object(credentials) }
        }
        if !authentication.isEmpty { postgresql["authentication"] = .object(authentication) }
        if !postgresql.isEmpty { root["postgresql"] = .object(postgresql) }

        for dcs in ["ETCD", "ETCD3"] {
            var section = JSONObject()
            for key in ["HOST", "PORT", "URL", "PROTOCOL", "USERNAME", "PASSWORD", "CACERT", "CERT", "KEY"] {
                if let v = value(dcs + "_" + key) { section[key.lowercased()] = .string(v) }
            }
            if let v = value(dcs + "_HOSTS") { section["hosts"] = EnvironmentOverrides.list(v) }
            if !section.isEmpty { root[dcs.lowercased()] = .object(section) }
        }

        var ctl = JSONObject()
        for key in ["INSECURE", "CACERT", "CERTFILE", "KEYFILE"] {
            if let v = value("CTL_" + key) { ctl[key.lowercased()] = .string(v) }
        }
        var ctlAuth = JSONObject()
        for key in ["USERNAME", "PASSWORD"] {
            if let v = value("CTL_" + key) { ctlAuth[key.lowercased()] = .string(v) }
        }
        if !ctlAuth.isEmpty { ctl["authentication"] = .object(ctlAuth) }
        if !ctl.isEmpty { root["ctl"] = .object(ctl) }

        if let log = logPatch() { root["log"] = .object(log) }
        return root
    }

    /// `log`: Patroni reads every key from `PATRONI_LOG_<KEY>`; a format without `%(field)`
    /// is a YAML list (`message, {levelname: level}`), static_fields and loggers are YAML
    /// mappings with or without braces. Numbers and booleans stay text for the parser to read.
    private func logPatch() -> JSONObject? {
        var log = JSONObject()
        if let v = value("LOG_LEVEL") ?? value("LOGLEVEL") { log["level"] = .string(v) }
        for key in ["TYPE", "TRACEBACK_LEVEL", "DATEFORMAT", "MAX_QUEUE_SIZE", "DIR", "MODE", "FILE_NUM", "FILE_SIZE",
                    "DEDUPLICATE_HEARTBEAT_LOGS"] {
            if let v = value("LOG_" + key), !v.isEmpty { log[key.lowercased()] = .string(v) }
        }
        if let v = value("LOG_FORMAT"), !v.isEmpty {
            let isFormatString = v.range(of: #"%\(\w+\)"#, options: .regularExpression) != nil
            log["format"] = isFormatString ? .string(v) : EnvironmentOverrides.yaml(v, opening: "[", closing: "]", unless: ["-", "["])
        }
        for key in ["STATIC_FIELDS", "LOGGERS"] {
            if let v = value("LOG_" + key), !v.isEmpty {
                log[key.lowercased()] = EnvironmentOverrides.yaml(v, opening: "{", closing: "}", unless: ["{"])
            }
        }
        return log.isEmpty ? nil : log
    }

    /// `text` as YAML, wrapped in `opening`/`closing` unless it starts with one of `unless`;
    /// the text itself when it is not YAML, for the parser to report by key.
    static func yaml(_ text: String, opening: String, closing: String, unless: [String]) -> JSONValue {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let source = unless.contains(where: { trimmed.hasPrefix($0) }) ? trimmed : opening + trimmed + closing
        return (try? YAMLConversion.parse(source)) ?? .string(text)
    }

    /// A list variable: YAML flow (`[a, b]`, `'h1:2379','h2:2379'`) or plain comma syntax.
    static func list(_ text: String) -> JSONValue {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let flow = trimmed.hasPrefix("[") ? trimmed : "[" + trimmed + "]"
        if let parsed = try? YAMLConversion.parse(flow), case .array(let items) = parsed,
           items.allSatisfy({ YAMLConversion.scalarText($0) != nil }) {
            return .array(items.map { .string(YAMLConversion.scalarText($0)!) })
        }
        let items = trimmed.split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        }.filter { !$0.isEmpty }
        return .array(items.map { .string($0) })
    }
}
