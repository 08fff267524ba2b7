import Foundation
import Logging
import StazConfig
import StazCore
import StazMesh
import StazPostgres

/// `stazctl mesh forget-copy`: on the leader of a zone seeded from another zone's copy, drops
/// the copied node, subscriptions and replication origins (StazMesh `CopiedNodeCleanup` says
/// when that is safe), so that the zone can join the mesh under its own node.
enum MeshForgetCopy {
    static let timeout = 30.0

    static func run(config: StazConfiguration, mesh: MeshSection, database: String?, force: Bool) async throws {
        let databases = try database.map { name in
            guard mesh.databases.contains(name) else { throw CtlError("database '\(name)' is not in mesh.databases") }
            return [name]
        } ?? mesh.databases
        let dcs = MeshCtl.session(config, scope: mesh.ownScope)
        let cluster: ClusterView
        do { cluster = try await dcs.loadCluster(fresh: true) } catch {
            await dcs.close()
            throw CtlError("cannot read zone \(mesh.ownScope)'s keys: \(error)")
        }
        await dcs.close()
        guard let leader = cluster.leader?.name, let member = cluster.member(named: leader),
              let address = member.connHostPort else {
            throw CtlError("zone \(mesh.ownScope) has no leader")
        }
        let cleanup = CopiedNodeCleanup(mesh: mesh)
        let quiet = Logger(label: "stazctl.mesh", factory: { _ in SwiftLogNoOpLogHandler() })
        for name in databases {
            let section = config.postgresql
            let target = SQLSession.Target(host: address.host, port: address.port, user: section.superuser.username,
                                           password: section.superuser.password, database: name,
                                           security: .superuser(of: section))
            let session: SQLSession
            do { session = try await SQLSession.open(target, timeout: 5, logger: quiet) } catch {
                throw CtlError("\(name) on \(leader): \(error)")
            }
            defer { session.close() }
            let seen = try await inspect(session, cleanup)
            switch cleanup.verdict(database: name, scope: mesh.ownScope, seen) {
            case .nothingToForget(let message):
                echo(message)
            case .refused(let message):
                throw CtlError(message)
            case .forget(let node, let statements):
                let what = "the \(cleanup.provider.extensionName) extension in database \(name) on \(leader) "
                    + "(\(cleanup.sourceDescription(of: node)), \(seen.subscriptionSlots.count) subscription(s))"
                if !force, !(try confirm("Are you sure you want to drop \(what)?")) {
                    throw CtlError("Aborted: nothing dropped in \(name)")
                }
                for statement in statements {
                    do { _ = try await session.query(statement, timeout: timeout) } catch {
                        throw CtlError("\(name): \(statement): \(error) (nothing was dropped: the transaction rolled back)")
                    }
                }
                echo("\(name): forgot \(cleanup.sourceDescription(of: node)) and \(seen.origins.count) replication origin(s); "
                     + "its slots on the other zones are untouched")
            }
        }
    }

    static func inspect(_ session: SQLSession, _ cleanup: CopiedNodeCleanup) async throws -> CopiedNodeCleanup.Inspection {
        do {
            let server = try await session.query(cleanup.serverQuery, timeout: timeout).first ?? [:]
            var seen = CopiedNodeCleanup.Inspection(inRecovery: (server["in_recovery"] ?? nil) == "true",
                                                    preloadLibraries: (server["preload"] ?? nil) ?? "",
                                                    extensionInstalled: (server["installed"] ?? nil) == "true")
            guard seen.extensionInstalled, !seen.inRecovery else { return seen }
            seen.localNode = try await session.query(cleanup.localNodeQuery, timeout: timeout).first?["node_name"] ?? nil
            for row in try await session.query(cleanup.subscriptionsQuery, timeout: timeout) {
                guard let slot = row["slot_name"] ?? nil else { continue }
                seen.subscriptionSlots.append(slot)
                if (row["has_origin"] ?? nil) == "true" { seen.origins.append(slot) }
            }
            return seen
        } catch {
            throw CtlError("\(session.target.database): \(error)")
        }
    }
}
