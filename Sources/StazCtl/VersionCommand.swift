import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import StazCore

struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", abstract: "Output version of stazctl command or a running staz/Patroni instance")
    @OptionGroup var globals: GlobalOptions
    @Argument var clusterName: String?
    @Argument var memberNames: [String] = []

    func run() async throws {
        print("stazctl version \(StazVersion.staz) (patronictl \(StazVersion.patroniCompatible) compatible)")
        guard let clusterName else { return }
        print("")
        let (config, view) = try await globals.loadCluster(clusterName)
        let rest = PatroniREST(configuration: config)
        for member in view.members where member.apiURL != nil && (memberNames.isEmpty || memberNames.contains(member.name)) {
            do {
                let response = try await rest.request(member)
                let status = try JSONValue.parse(response.body)
                let version = status["patroni"]?["version"]?.stringValue ?? "None"
                let pg = status["server_version"]?.intValue.map { " PostgreSQL " + formatPostgresVersion($0) } ?? ""
                print("\(member.name): Patroni \(version)\(pg)")
            } catch {
                print("\(member.name): failed to get version: \(error)")
            }
        }
        await rest.shutdown()
    }
}

/// 90624 → 9.6.24, 140008 → 14.8 (patronictl's `format_pg_version`).
public func formatPostgresVersion(_ version: Int64) -> String {
    version < 100000 ? "\(version / 10000).\(version / 100 % 100).\(version % 100)" : "\(version / 10000).\(version % 100)"
}
