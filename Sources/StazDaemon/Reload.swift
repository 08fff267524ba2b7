import Foundation
import StazConfig
import StazCore
import StazPostgres

/// SIGHUP, `POST /reload` and dynamic-configuration changes: re-read what may have changed and
/// apply it to PostgreSQL with a reload. A bad file never replaces the running configuration.
extension HAController {
    /// Called with each successfully reloaded configuration (the REST server's TLS and access rules).
    func onReload(_ hook: @escaping @Sendable (StazConfiguration) -> Void) { reloadHook = hook }

    func reloadLocalConfiguration() async {
        guard let path = config.sourcePath else {
            logger.warning("reload requested, but the configuration was not read from a file")
            return
        }
        do {
            let (fresh, warnings) = try ConfigLoader.load(path: path, environment: ProcessInfo.processInfo.environment)
            for warning in warnings { logger.warning("\(warning)") }
            guard fresh.name == config.name, fresh.scope == config.scope else {
                logger.error("reload refused: 'name' and 'scope' cannot change while staz runs (restart it instead)")
                return
            }
            config = fresh
            // What `/patroni` says about our tags is read by the next switchover check, maybe
            // before the next cycle: changed at once, as Patroni's reload does.
            apiState.update { $0.tags = fresh.tags.publishedTags; $0.noLoadBalance = fresh.tags.noLoadBalance }
            logger.info("Reloaded configuration from \(path)")
            reloadHook?(fresh)
            await applyPostgresConfiguration()
        } catch {
            logger.error("reload failed, keeping the running configuration: \(error)")
        }
        wakeup.signal()
    }

    /// Rewrites the configuration files and reloads a running PostgreSQL, then runs the user's
    /// `on_reload` callback.
    func applyPostgresConfiguration() async {
        guard await rewritePostgresConfiguration() else { return }
        reloadCallbacks.fire(config.postgresql.callbacks["on_reload"], event: "on_reload", role: lastRole)
    }

    /// Rewrites the configuration files and reloads a running PostgreSQL; false when PostgreSQL
    /// is not running, a long action owns it, or the write failed. Housekeeping (dropping a
    /// leftover apply gate) calls this directly: it is not a reload the user asked for.
    @discardableResult
    func rewritePostgresConfiguration() async -> Bool {
        let observation = await postgres.observe()
        guard observation.isRunning, memory.longAction == nil else { return false }
        do {
            let parameters = try await writePostgresConfiguration(recovery: observation.isInRecovery ? recoveryForRunningStandby(observation) : nil)
            try await postgres.reload()
            commandLinePending = await postgres.commandLineParameterChanges(commandLineParameters(parameters))
            if !commandLinePending.isEmpty {
                logger.info("changes of \(commandLinePending.keys.joined(separator: ", ")) need a restart")
            }
            return true
        } catch {
            logger.error("could not apply the PostgreSQL configuration: \(error)")
            return false
        }
    }
}

extension HAController {
    /// Adds the command-line parameters waiting for a restart, and settings raised to pg_control's
    /// values, to PostgreSQL's own pending_restart report (member key, `/patroni`,
    /// `restart --pending`).
    func withCommandLinePending(_ observation: PostgresObservation) -> PostgresObservation {
        guard !commandLinePending.isEmpty || !recoveryFloorPending.isEmpty, observation.isRunning else { return observation }
        var merged = observation
        for (name, reason) in commandLinePending.pairs + recoveryFloorPending.pairs where merged.pendingRestartReason[name] == nil {
            merged.pendingRestartReason[name] = reason
        }
        merged.pendingRestart = true
        return merged
    }
}
