import ArgumentParser
import Foundation
import StazCore

struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove cluster from DCS")
    @OptionGroup var globals: GlobalOptions
    @Argument var clusterName: String
    @Option(name: [.customShort("f"), .customLong("format")], help: "Output format") var format: String = "pretty"

    func run() async throws {
        guard let fmt = OutputFormat(rawValue: format), fmt != .topology else {
            throw CtlError("Invalid value for '--format' / '-f': '\(format)' is not one of 'pretty', 'tsv', 'json', 'yaml', 'yml'.")
        }
        try await CtlSession.run(globals, cluster: clusterName) { session in
            let view = try await session.load()
            CtlIO.current.write(renderClusterList(view, name: clusterName, format: fmt))
            try confirmClusterRemoval(view, clusterName: clusterName)
            do {
                try await session.dcs.deleteCluster()
            } catch {
                throw CtlError("\(error)")
            }
        }
    }
}

/// patronictl's three questions before `remove`: the cluster name, the sentence
/// "Yes I am aware", and (when the cluster has a leader) the leader's name.
func confirmClusterRemoval(_ view: ClusterView, clusterName: String) throws {
    if try prompt("Please confirm the cluster name to remove") != clusterName {
        throw CtlError("Cluster names specified do not match")
    }
    let sentence = "Yes I am aware"
    if try prompt("You are about to remove all information in DCS for \(clusterName), please type: \"\(sentence)\"") != sentence {
        throw CtlError("You did not exactly type \"\(sentence)\"")
    }
    if let leader = view.leader?.name, !leader.isEmpty,
       try prompt("This cluster currently is healthy. Please specify the leader name to continue") != leader {
        throw CtlError("You did not specify the current leader of the cluster")
    }
}
