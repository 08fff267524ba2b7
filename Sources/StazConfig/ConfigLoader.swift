import Foundation
import StazCore

/// Entry point for reading staz's (Patroni-format) local configuration.
public enum ConfigLoader {
    /// Reads `path` — one YAML file, or a directory whose `*.yml`/`*.yaml` files are merged in
    /// sorted order (later files win, nested mappings merge) — then applies `STAZ_*`/`PATRONI_*`
    /// environment overrides and validates everything. With an empty `path` the configuration
    /// comes from `STAZ_CONFIGURATION`/`PATRONI_CONFIGURATION` (whole YAML, other variables
    /// ignored, as in Patroni) or from the environment variables alone.
    ///
    /// Returns a complete configuration plus warnings (unknown keys, ignored settings), or
    /// throws `ConfigError` listing every problem found.
    public static func load(path: String, environment: [String: String]) throws -> (StazConfiguration, [ConfigWarning]) {
        let raw = try readRaw(path: path, environment: environment)
        return try parse(raw, sourcePath: path.isEmpty ? nil : path, environment: environment)
    }

    /// Parses and validates an already-read configuration tree (no environment overrides applied
    /// except `HOME` for the default pgpass).
    public static func parse(_ raw: JSONObject, sourcePath: String? = nil, environment: [String: String] = [:]) throws -> (StazConfiguration, [ConfigWarning]) {
        let diagnostics = Diagnostics()
        guard var config = ConfigParser.parse(raw, environment: environment, diagnostics: diagnostics),
              diagnostics.issues.isEmpty else {
            throw ConfigError(issues: diagnostics.issues)
        }
        config.sourcePath = sourcePath
        return (config, diagnostics.warnings)
    }

    /// Parses YAML text (no environment overrides).
    public static func parse(yaml: String, environment: [String: String] = [:]) throws -> (StazConfiguration, [ConfigWarning]) {
        try parse(try mapping(fromYAML: yaml, source: "configuration"), environment: environment)
    }

    /// For `staz --validate-config`: the lines to print, errors first (`error: <path>: <reason>`)
    /// then warnings (`warning: <message>`). Empty when the configuration is valid and clean.
    /// Beyond loading, files the daemon opens at start are checked (`fileIssues`).
    public static func validate(path: String, environment: [String: String]) -> [String] {
        do {
            let (config, warnings) = try load(path: path, environment: environment)
            return fileIssues(config).map { "error: \($0.description)" } + warnings.map { "warning: \($0.message)" }
        } catch let error as ConfigError {
            // Warnings are recomputed so that a failing config still shows them.
            var warningLines: [String] = []
            if let raw = try? readRaw(path: path, environment: environment) {
                let diagnostics = Diagnostics()
                _ = ConfigParser.parse(raw, environment: environment, diagnostics: diagnostics)
                warningLines = diagnostics.warnings.map { "warning: \($0.message)" }
            }
            return error.issues.map { "error: \($0.description)" } + warningLines
        } catch {
            return ["error: \(error)"]
        }
    }

    /// Why `file` cannot be read as a regular file, or nil when it can.
    static func unreadableFileReason(_ file: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else { return "does not exist" }
        if isDirectory.boolValue { return "is a directory, not a file" }
        guard let handle = FileHandle(forReadingAtPath: file) else { return "is not readable" }
        try? handle.close()
        return nil
    }

    /// The merged raw tree: file(s) or whole-config variable, with environment overrides applied.
    public static func readRaw(path: String, environment: [String: String]) throws -> JSONObject {
        let overrides = EnvironmentOverrides(environment: environment)
        if path.isEmpty {
            if let whole = overrides.wholeConfiguration {
                return try mapping(fromYAML: whole, source: "STAZ_CONFIGURATION/PATRONI_CONFIGURATION")
            }
            return overrides.patch()
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigError(issues: [ConfigIssue(path: "", message: "configuration file '\(path)' does not exist")])
        }
        var merged = JSONObject()
        if isDirectory.boolValue {
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
                throw ConfigError(issues: [ConfigIssue(path: "", message: "cannot list configuration directory '\(path)': \(error.localizedDescription)")])
            }
            let files = names.filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }.sorted()
            for file in files {
                let full = (path as NSString).appendingPathComponent(file)
                merged = merged.patched(with: try mapping(fromYAML: try readText(full), source: full))
            }
        } else {
            merged = try mapping(fromYAML: try readText(path), source: path)
        }
        return merged.patched(with: overrides.patch())
    }

    private static func readText(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(issues: [ConfigIssue(path: "", message: "cannot read configuration file '\(path)'")])
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// A YAML document that must be a mapping (empty documents are an empty mapping).
    static func mapping(fromYAML yaml: String, source: String) throws -> JSONObject {
        let value: JSONValue
        do { value = try YAMLConversion.parse(yaml) } catch {
            throw ConfigError(issues: [ConfigIssue(path: "", message: "\(source): \(error)")])
        }
        switch value {
        case .object(let object): return object
        case .null: return JSONObject()
        default:
            throw ConfigError(issues: [ConfigIssue(path: "", message: "\(source): expected a YAML mapping at the top level, got \(describeKind(value))")])
        }
    }
}
