import ArgumentParser
import Foundation
import Logging
import StazConfig
import StazCore
import StazDCS

/// `-c`, `-d`, `-k`: accepted before the subcommand (patronictl style) or after it.
public struct GlobalOptions: ParsableArguments {
    @Option(name: [.customShort("c"), .customLong("config-file")], help: "Configuration file")
    public var configFile: String?
    @Option(name: [.customShort("d"), .customLong("dcs-url"), .customLong("dcs")], help: "The DCS connect url")
    public var dcsURL: String?
    @Flag(name: [.customShort("k"), .customLong("insecure")], help: "Allow connections to SSL sites without certs")
    public var insecure = false
    public init() {}

    /// Configuration with `scope` set to the requested cluster (or the configured scope), and that
    /// cluster's etcd when it is a mesh zone whose entry names one.
    func configuration(cluster: String?) throws -> StazConfiguration {
        var config = try CtlConfiguration.resolve(configFile: configFile, dcsURL: dcsURL,
                                                  environment: ProcessInfo.processInfo.environment)
        if let cluster {
            // Another zone of the mesh on its own etcd is read there, unless --dcs-url says where.
            if dcsURL == nil { config = config.viewingMeshZone(cluster) } else { config.scope = cluster }
        }
        // `-k` adds to (never clears) `ctl.insecure`, as in patronictl.
        config.ctl.insecure = config.ctl.insecure || insecure
        guard !config.scope.isEmpty else { throw CtlError("No cluster name given and no scope in the configuration") }
        guard config.dcs != nil else { throw CtlError("Can not find suitable configuration of distributed configuration store") }
        return config
    }

    /// One linearizable read of the whole cluster.
    func loadCluster(_ cluster: String?) async throws -> (StazConfiguration, ClusterView) {
        let config = try configuration(cluster: cluster)
        var logger = Logger(label: "stazctl")
        logger.logLevel = .critical
        let client = makeDCSClient(configuration: config, memberName: nil, logger: logger)
        do {
            let view = try await client.loadCluster(fresh: true)
            await client.close()
            return (config, view)
        } catch {
            await client.close()
            throw CtlError("\(error)")
        }
    }
}

public struct StazCtlCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "stazctl",
        abstract: "Command-line interface for interacting with staz (patronictl compatible).",
        subcommands: [ListCommand.self, TopologyCommand.self, HistoryCommand.self, ShowConfigCommand.self,
                      DSNCommand.self, VersionCommand.self, SwitchoverCommand.self, FailoverCommand.self,
                      RestartCommand.self, ReloadCommand.self, ReinitCommand.self, PauseCommand.self,
                      ResumeCommand.self, EditConfigCommand.self, FlushCommand.self, QueryCommand.self,
                      RemoveCommand.self, DemoteClusterCommand.self, PromoteClusterCommand.self, MeshCommand.self])
    public init() {}
}

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the Patroni members for a given Patroni")
    @OptionGroup var globals: GlobalOptions
    @Argument var clusterNames: [String] = []
    @Flag(name: [.customShort("e"), .long], help: "Show some extra information") var extended = false
    @Flag(name: [.customShort("t"), .customLong("timestamp")], help: "Print timestamp") var timestamp = false
    @Option(name: [.customShort("f"), .customLong("format")], help: "Output format (pretty, tsv, json, yaml)")
    var format: String = "pretty"
    @Option(name: [.customShort("w"), .long], help: "Auto update the screen every X seconds") var watch: Double?
    @Flag(name: [.customShort("W")], help: "Auto update the screen every 2 seconds") var watchEvery2 = false

    func run() async throws {
        guard let fmt = OutputFormat(rawValue: format), fmt != .topology else {
            throw CtlError("Invalid value for '--format' / '-f': '\(format)' is not one of 'pretty', 'tsv', 'json', 'yaml', 'yml'.")
        }
        try await runList(globals: globals, clusterNames: clusterNames, extended: extended, timestamp: timestamp,
                          format: fmt, watch: watch, watchEvery2: watchEvery2)
    }
}

struct TopologyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "topology", abstract: "Prints ASCII topology for given cluster")
    @OptionGroup var globals: GlobalOptions
    @Argument var clusterNames: [String] = []
    @Option(name: [.customShort("w"), .long], help: "Auto update the screen every X seconds") var watch: Double?
    @Flag(name: [.customShort("W")], help: "Auto update the screen every 2 seconds") var watchEvery2 = false

    func run() async throws {
        try await runList(globals: globals, clusterNames: clusterNames, extended: false, timestamp: false,
                          format: .topology, watch: watch, watchEvery2: watchEvery2)
    }
}

/// `list`/`topology`, optionally repeated every `watch` seconds (screen cleared like click).
func runList(globals: GlobalOptions, clusterNames: [String], extended: Bool, timestamp: Bool,
             format: OutputFormat, watch: Double?, watchEvery2: Bool) async throws {
    let interval = watch ?? (watchEvery2 ? 2 : nil)
    let names: [String?] = clusterNames.isEmpty ? [nil] : clusterNames.map { $0 }
    repeat {
        var text = interval != nil ? "\u{1B}[2J\u{1B}[1;1H" : ""
        if timestamp {
            let formatter = DateFormatter()
            formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
            text += formatter.string(from: Date()) + "\n"
        }
        for name in names {
            let (config, view) = try await globals.loadCluster(name)
            text += renderClusterList(view, name: config.scope, extended: extended, format: format)
        }
        print(text, terminator: "")
        if let interval { try await Task.sleep(for: .seconds(interval)) }
    } while interval != nil
}

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "Show the history of failovers/switchovers")
    @OptionGroup var globals: GlobalOptions
    @Argument var clusterName: String?
    @Option(name: [.customShort("f"), .customLong("format")], help: "Output format (pretty, tsv, json, yaml)")
    var format: String = "pretty"

    func run() async throws {
        guard let fmt = OutputFormat(rawValue: format), fmt != .topology else {
            throw CtlError("Invalid value for '--format' / '-f': '\(format)' is not one of 'pretty', 'tsv', 'json', 'yaml', 'yml'.")
        }
        let (_, view) = try await globals.loadCluster(clusterName)
        print(renderHistory(view, format: fmt), terminator: "")
    }
}

struct ShowConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show-config", abstract: "Show cluster configuration")
    @OptionGroup var globals: GlobalOptions
    @Argument var clusterName: String?

    func run() async throws {
        let (_, view) = try await globals.loadCluster(clusterName)
        print(renderShowConfig(view), terminator: "")
    }
}

struct DSNCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dsn", abstract: "Generate a dsn for the provided member, defaults to a dsn of the leader")
    @OptionGroup var globals: GlobalOptions
    @Argument var clusterName: String?
    @Option(name: [.customShort("r"), .long], help: "Give a dsn of any member with this role") var role: String?
    @Option(name: [.customShort("m"), .long], help: "Generate a dsn for this member") var member: String?

    func run() async throws {
        let parsedRole = try role.map { text -> MemberRoleFilter in
            guard let r = MemberRoleFilter(rawValue: text) else {
                throw CtlError("Invalid value for '--role' / '-r': '\(text)' is not one of 'leader', 'primary', 'standby-leader', 'replica', 'standby', 'any'.")
            }
            return r
        }
        let (_, view) = try await globals.loadCluster(clusterName)
        print(try renderDSN(view, role: parsedRole, member: member))
    }
}
