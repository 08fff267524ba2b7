import AsyncHTTPClient
import Foundation
import Logging
import ServiceLifecycle
import StazAPI
import StazConfig
import StazCore
import StazDCS
import StazPostgres
import StazWatchdog

/// The whole `staz` process as one ServiceLifecycle service: DCS client, lease keeper, HA loop
/// and REST server, with SIGTERM → graceful shutdown and SIGHUP → reload.
public final class StazDaemon: Service, Sendable {
    let config: StazConfiguration
    let logger: Logger

    public init(config: StazConfiguration, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    public func run() async throws {
        // Peers are probed with the same TLS settings stazctl uses (restapi.cafile, ctl.*).
        let http = HTTPClient(eventLoopGroupProvider: .singleton,
                              configuration: makePeerHTTPClientConfiguration(restapi: config.restapi, ctl: config.ctl))
        let dcs = makeDCSClient(configuration: config, memberName: config.name, logger: logger)
        // Both clients are closed however serve ends: an HTTPClient dropped without shutdown
        // aborts the process, which would lose the reason (a duplicate name, a busy port).
        let outcome: Result<Void, Error>
        do {
            try await serve(http: http, dcs: dcs)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await dcs.close()
        try? await http.shutdown()
        try outcome.get()
    }

    private func serve(http: HTTPClient, dcs: DCSClient) async throws {
        let cluster = await waitForDCS(dcs)
        try await refuseDuplicateName(cluster: cluster, http: http)

        let (settings, warnings) = DynamicSettings.resolve(dcsConfig: cluster.config?.data, bootstrapDCS: config.bootstrap.dcs, local: config)
        for warning in warnings { logger.warning("\(warning)") }
        await dcs.setTimeouts(ttl: settings.ttl, loopWait: settings.loopWait, retryTimeout: settings.retryTimeout)

        var snapshot = NodeSnapshot(scope: config.scope, name: config.name)
        snapshot.tags = config.tags.publishedTags
        snapshot.noLoadBalance = config.tags.noLoadBalance
        let apiState = APIState(snapshot)
        let postgres = PostgresController(section: config.postgresql, scope: config.scope, memberName: config.name, logger: logger)
        let dataDir = config.postgresql.dataDir
        let keeperLogger = logger
        let guardFeeder = FenceGuardFeeder(dataDirectory: dataDir, logger: logger)
        let watchdog = Watchdog(section: config.watchdog, ttl: settings.ttl, loopWait: settings.loopWait, logger: logger)
        let keeper = LeaseKeeper(dcs: dcs, ttl: settings.ttl, loopWait: settings.loopWait, watchdog: watchdog, logger: logger,
                                 onLeaseChange: { validUntil in apiState.update { $0.leaseValidUntil = validUntil } },
                                 fence: {
                                     Fence.stopPostmasterImmediately(dataDir: dataDir, logger: keeperLogger)
                                     guardFeeder.fenceNow()
                                 })
        // Before the first refresh: a guard left by a previous staz process (it died while
        // leading) hands its deadline over to our keeper, and ours replaces it (FenceGuard.swift).
        let previousGuard = guardFeeder.previousGuard()
        if let previousGuard { await keeper.inheritFence(at: previousGuard.deadline) }
        await keeper.observeFenceDeadline { guardFeeder.deadlineChanged($0) }
        if let previousGuard { await guardFeeder.retire(previousGuard.state) }
        let ha = HAController(config: config, dcs: dcs, postgres: postgres, keeper: keeper, watchdog: watchdog, apiState: apiState,
                              http: http, settings: settings, logger: logger)
        // The cross-zone mesh (config `mesh`): its own task, never part of the HA loop.
        let mesh = config.mesh == nil ? nil : MeshRuntime(config: config, ha: ha, apiState: apiState, logger: logger)
        let server = try RESTServer(listen: config.restapi.listen, state: apiState, actions: DaemonActions(ha: ha, mesh: mesh),
                                clusterProvider: { try await dcs.loadCluster(fresh: true) }, logger: logger,
                                    security: RESTSecurity(restapi: config.restapi),
                                    limits: RESTServerLimits(restapi: config.restapi))
        try await server.start()
        let securityLogger = logger
        await ha.onReload { fresh in
            watchdog.reload(fresh.watchdog)
            mesh?.reload(fresh)
            server.updateLimits(RESTServerLimits(restapi: fresh.restapi))
            do { try server.updateSecurity(RESTSecurity(restapi: fresh.restapi)) } catch {
                securityLogger.error("REST API security settings not reloaded: \(error)")
            }
        }
        let hangup = Daemon.onSIGHUP { Task { await ha.reloadLocalConfiguration() } }
        defer { hangup.cancel() }

        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await keeper.run() }
                group.addTask { await ha.run() }
                if let mesh { group.addTask { await mesh.run() } }
                await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            Task { await ha.shutdown() }
        }
        await ha.shutdown()
        // A paused cluster's PostgreSQL is left running on purpose: no guard may fence it later.
        if await ha.settings.pause { guardFeeder.standDown() }
        await server.shutdown()
    }

    /// Patroni loops until the DCS answers ("waiting on etcd"), then starts.
    func waitForDCS(_ dcs: DCSClient) async -> ClusterView {
        while true {
            do { return try await dcs.loadCluster(fresh: true) } catch {
                logger.error("Can not get cluster from dcs: \(error)")
            }
            try? await Task.sleep(for: .seconds(2))
        }
    }

    /// Two daemons with one name would fight over one member key: refuse to start when a member
    /// with our name answers `/liveness` (Patroni does the same).
    func refuseDuplicateName(cluster: ClusterView, http: HTTPClient) async throws {
        guard let existing = cluster.member(named: config.name), let api = existing.apiURL else { return }
        let url = api.replacingOccurrences(of: "/patroni", with: "/liveness")
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        if let response = try? await http.execute(request, timeout: .seconds(3)), response.status == .ok {
            logger.critical("Can't start; there is already a node named '\(config.name)' running")
            throw StazDaemonError.duplicateName(config.name)
        }
    }
}

public enum StazDaemonError: Error, CustomStringConvertible {
    case duplicateName(String)
    public var description: String {
        switch self {
        case .duplicateName(let name): return "Can't start; there is already a node named '\(name)' running"
        }
    }
}

enum Daemon {
    /// SIGHUP → `handler`, as Patroni reloads its configuration on SIGHUP.
    static func onSIGHUP(_ handler: @escaping @Sendable () -> Void) -> DispatchSourceSignal {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler(handler: handler)
        source.resume()
        return source
    }
}

extension HAController {
    nonisolated func requestWakeup() { wakeup.signal() }
}
