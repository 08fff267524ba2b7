import ArgumentParser
import Foundation
import StazConfig
import StazCore

struct EditConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "edit-config", abstract: "Edit cluster configuration")
    @OptionGroup var globals: GlobalOptions
    @Argument var clusterName: String?
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Do not show changes") var quiet = false
    @Option(name: [.customShort("s"), .customLong("set")],
            help: "Set specific configuration value. Can be specified multiple times")
    var kvpairs: [String] = []
    @Option(name: [.customShort("p"), .customLong("pg")],
            help: "Set specific PostgreSQL parameter value. Shorthand for -s postgresql.parameters. Can be specified multiple times")
    var pgkvpairs: [String] = []
    @Option(name: .customLong("apply"), help: "Apply configuration from file. Use - for stdin.") var applyFilename: String?
    @Option(name: .customLong("replace"),
            help: "Apply configuration from file, replacing existing configuration. Use - for stdin.")
    var replaceFilename: String?
    @Flag(help: "Do not ask for confirmation at any point") var force = false

    func run() async throws {
        try await CtlSession.run(globals, cluster: clusterName) { session in
            let view = try await session.load()
            guard let record = view.config else {
                throw CtlError("The config key does not exist in the cluster \(session.clusterName)")
            }
            let beforeEditing = formatConfigForEditing(record.data)
            var afterEditing: String?
            var changed = record.data
            if let replaceFilename {
                changed = try ConfigEditing.applyYAML(JSONObject(), yaml: try readInput(replaceFilename), source: replaceFilename)
                afterEditing = formatConfigForEditing(changed)
            }
            if let applyFilename {
                changed = try ConfigEditing.applyYAML(changed, yaml: try readInput(applyFilename), source: applyFilename)
                afterEditing = formatConfigForEditing(changed)
            }
            if !kvpairs.isEmpty || !pgkvpairs.isEmpty {
                let pairs = kvpairs + pgkvpairs.map { "postgresql.parameters." + $0.drop { $0.isWhitespace } }
                changed = try ConfigEditing.applyChanges(changed, pairs: pairs)
                afterEditing = formatConfigForEditing(changed)
            }
            if afterEditing == nil {
                let edited = try invokeEditor(beforeEditing, clusterName: session.clusterName)
                afterEditing = edited
                let parsed: JSONValue
                do { parsed = try YAMLConversion.parse(edited) } catch { throw CtlError("Can not parse the edited configuration: \(error)") }
                guard case .object(let object) = parsed else {
                    throw CtlError("The edited configuration is not a YAML mapping")
                }
                changed = object
            }

            if ConfigEditing.pythonEqual(.object(record.data), .object(changed)) {
                if !quiet { echo("Not changed") }
                return
            }
            if !quiet {
                for line in unifiedDiffLines(before: beforeEditing, after: afterEditing ?? "") { echo(line) }
            }
            if (applyFilename == "-" || replaceFilename == "-") && !force {
                echo("Use --force option to apply changes")
                return
            }
            try await checkWithMembers(changed, current: record.data, view: view, session: session)
            if try force || confirm("Apply these changes?") {
                guard try await session.dcs.setConfig(.object(changed), version: record.version) else {
                    throw CtlError("Config modification aborted due to concurrent changes")
                }
                echo("Configuration changed")
            }
        }
    }
}

/// Refuses what staz would refuse (`DynamicConfigValidation`), and asks a member (the leader
/// first) to check the PostgreSQL parameter values against its running server
/// (`POST /config/check`); members that cannot (unreachable, Patroni) are skipped with a word.
func checkWithMembers(_ proposed: JSONObject, current: JSONObject, view: ClusterView, session: CtlSession) async throws {
    let issues = DynamicConfigValidation.newIssues(proposed: proposed, current: current, catalog: nil)
    if !issues.isEmpty {
        throw CtlError("Invalid configuration, nothing was changed:\n" + issues.map(\.description).joined(separator: "\n"))
    }
    for member in membersLeaderFirst(view) {
        guard let response = try? await session.rest.request(member, method: .POST, endpoint: "config/check",
                                                             body: .object(proposed)) else { continue }
        switch response.status {
        case 200: return
        case 400: throw CtlError(response.body.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(
                      of: "invalid configuration", with: "Invalid configuration"))
        default: continue
        }
    }
    echo("Warning: no member could check the PostgreSQL parameter values (POST /config/check)")
}

/// patronictl's `format_config_for_editing`: block-style YAML, keys sorted.
func formatConfigForEditing(_ data: JSONObject) -> String {
    pythonYAML(.object(data))
}

/// The contents of FILE, or of stdin for `-`.
func readInput(_ filename: String) throws -> String {
    if filename == "-" {
        return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    }
    guard let text = try? String(contentsOfFile: filename, encoding: .utf8) else {
        throw CtlError("Can not read file \(filename)")
    }
    return text
}

/// Opens the configuration in `$EDITOR` (else `editor`, else `vi`) on a temporary
/// `<cluster>-config-XXXX.yaml` file and returns the saved text.
func invokeEditor(_ text: String, clusterName: String) throws -> String {
    let environment = ProcessInfo.processInfo.environment
    var editor = environment["EDITOR"].flatMap { $0.isEmpty ? nil : $0 }
    if editor == nil { editor = ["editor", "vi"].lazy.compactMap { findExecutable($0) }.first }
    guard let editor else { throw CtlError("EDITOR environment variable is not set. editor or vi are not available") }
    guard let executable = editor.contains("/") ? editor : findExecutable(editor) else {
        throw CtlError("Editor \(editor) not found")
    }
    let directory = environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    let safeName = clusterName.replacingOccurrences(of: "/", with: "_")
    let path = directory + "/" + safeName + "-config-" + UUID().uuidString.prefix(8).lowercased() + ".yaml"
    guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
        throw CtlError("Can not create temporary file \(path)")
    }
    defer { try? FileManager.default.removeItem(atPath: path) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = [path]
    do { try process.run() } catch { throw CtlError("Can not run editor \(editor): \(error)") }
    process.waitUntilExit()
    if process.terminationStatus != 0 { throw CtlError("Editor exited with return code \(process.terminationStatus)") }
    guard let edited = try? String(contentsOfFile: path, encoding: .utf8) else { throw CtlError("Can not read \(path)") }
    return edited
}

/// `shutil.which`: the first executable `name` on PATH.
func findExecutable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}
