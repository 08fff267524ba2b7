import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import StazAPI
import StazConfig
import StazCore
import StazConcurrency
import StazDaemon
import StazDCS
import StazFence

/// `staz CONFIG` runs the daemon; `staz --validate-config CONFIG` checks a configuration.
@main
struct Staz: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "staz",
        abstract: "Patroni-compatible PostgreSQL high-availability daemon.",
        version: "staz \(StazVersion.staz) (Patroni \(StazVersion.patroniCompatible) compatible)")

    @Flag(name: .long, help: "Check the configuration, print every problem, and exit.")
    var validateConfig = false

    @Argument(help: "Configuration file (Patroni YAML) or directory of *.yml files.")
    var configFile: String?

    /// Internal: staz starts itself this way as the fencing guard of a data directory.
    @Option(name: .customLong("fence-guard"), help: .hidden)
    var fenceGuardDataDirectory: String?

    func run() async throws {
        if let fenceGuardDataDirectory {
            // The guard without its own executable next to staz (FenceGuardCommandLine).
            throw ExitCode(FenceGuard.run(dataDirectory: fenceGuardDataDirectory))
        }
        let environment = ProcessInfo.processInfo.environment
        guard let path = configFile ?? environment["STAZ_CONFIG_FILE"] ?? environment["PATRONI_CONFIG_FILE"] else {
            throw ValidationError("a configuration file is required: staz CONFIG")
        }
        if validateConfig {
            var lines = ConfigLoader.validate(path: path, environment: environment)
            if let (config, _) = try? ConfigLoader.load(path: path, environment: environment) {
                // The TLS context the REST server builds at start; only once every file is
                // readable (missing ones are already reported, by key).
                if !lines.contains(where: { $0.hasPrefix("error: restapi.") }),
                   let problem = RESTTLSSettings.problem(restapi: config.restapi) {
                    lines.insert("error: " + problem, at: 0)
                }
                lines = await unreachableDCSEndpoints(configuration: config).map { "error: " + $0 } + lines
            }
            for line in lines { print(line) }
            if lines.contains(where: { $0.hasPrefix("error") }) { throw ExitCode(1) }
            return
        }
        let config: StazConfiguration
        let warnings: [ConfigWarning]
        do {
            (config, warnings) = try ConfigLoader.load(path: path, environment: environment)
        } catch {
            FileHandle.standardError.write("staz: invalid configuration \(path):\n\(error)\n".data(using: .utf8)!)
            throw ExitCode(1)
        }
        LogOutput.bootstrap(config.log)
        let logger = Logger(label: "staz")
        for warning in warnings { logger.warning("\(warning)") }

        if !TasksOnEventLoops.install() {
            logger.info("Swift's tasks stay on their own thread pool: this runtime has no hook to move them onto the event loops")
        }
        let daemon = StazDaemon(config: config, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: daemon, successTerminationBehavior: .gracefullyShutdownGroup,
                             failureTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
    }
}


