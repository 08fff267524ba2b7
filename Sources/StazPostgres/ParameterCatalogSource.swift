import Foundation
import StazConfig
import Synchronization

extension PostgresController {
    /// GUC names the server binary knows (`postgres --describe-config`; needs no running server
    /// and no data directory), cached per binary. nil when it cannot be run.
    public func serverParameterNames() async -> Set<String>? {
        guard let catalog = await describedCatalog() else { return nil }
        return Set(catalog.definitions.keys)
    }

    /// What the server accepts for each parameter: from `pg_settings` when it is running (and
    /// remembered for when it is not), else from the binary's `--describe-config`.
    public func parameterCatalog() async -> ParameterCatalog? {
        let executable = binary("postgres")
        if isRunning(), let rows = try? await queryLocal(
            "SELECT name, vartype, unit, min_val, max_val, enumvals::text AS enumvals FROM pg_catalog.pg_settings") {
            let catalog = ParameterCatalog(rows.compactMap(ParameterCatalog.definition(settingsRow:)), complete: true)
            if !catalog.definitions.isEmpty {
                ParameterCatalogCache.settings.withLock { $0[executable] = catalog }
                return catalog
            }
        }
        if let remembered = ParameterCatalogCache.settings.withLock({ $0[executable] }) { return remembered }
        return await describedCatalog()
    }

    private func describedCatalog() async -> ParameterCatalog? {
        let executable = binary("postgres")
        if let cached = ParameterCatalogCache.described.withLock({ $0[executable] }) { return cached }
        guard let result = try? await ProcessRunner.run(executable, ["--describe-config"], timeout: 10),
              result.succeeded else { return nil }
        let catalog = ParameterCatalog.fromDescribeConfig(result.stdout)
        guard !catalog.definitions.isEmpty else { return nil }
        ParameterCatalogCache.described.withLock { $0[executable] = catalog }
        return catalog
    }
}

/// Per server binary: a server's catalog does not change while its binary stays the same
/// (extension parameters aside, which are accepted by name anyway).
enum ParameterCatalogCache {
    static let described = Mutex<[String: ParameterCatalog]>([:])
    static let settings = Mutex<[String: ParameterCatalog]>([:])
}
