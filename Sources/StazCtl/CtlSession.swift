import Logging
import StazConfig
import StazCore
import StazDCS

/// What a state-changing command works with: the configuration, a DCS client (read-only:
/// no lease, no member key) and the REST client for members' APIs. Always `close()` it.
final class CtlSession: @unchecked Sendable {
    let config: StazConfiguration
    let dcs: DCSClient
    let rest: PatroniREST
    var clusterName: String { config.scope }

    init(globals: GlobalOptions, cluster: String?) throws {
        config = try globals.configuration(cluster: cluster)
        var logger = Logger(label: "stazctl")
        logger.logLevel = .critical
        dcs = makeDCSClient(configuration: config, memberName: nil, logger: logger)
        rest = PatroniREST(configuration: config)
    }

    /// A linearizable read of the whole cluster.
    func load() async throws -> ClusterView {
        do {
            return try await dcs.loadCluster(fresh: true)
        } catch {
            throw CtlError("\(error)")
        }
    }

    func close() async {
        await dcs.close()
        await rest.shutdown()
    }

    /// Runs `body` with a session that is closed afterwards, also on errors.
    static func run<T>(_ globals: GlobalOptions, cluster: String?,
                       _ body: (CtlSession) async throws -> T) async throws -> T {
        let session = try CtlSession(globals: globals, cluster: cluster)
        do {
            let result = try await body(session)
            await session.close()
            return result
        } catch {
            await session.close()
            throw error
        }
    }
}
