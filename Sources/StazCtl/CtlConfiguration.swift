import Foundation
import StazConfig
import StazCore
import Yams

/// Where stazctl finds its configuration and DCS, as patronictl does: `-c` (or
/// `STAZCTL_CONFIG_FILE` / `PATRONICTL_CONFIG_FILE`, else `~/.config/patroni/patronictl.yaml`
/// when it exists), then `-d` (or `DCS_URL`) replacing the DCS section and namespace.
enum CtlConfiguration {
    static func resolve(configFile: String?, dcsURL: String?, environment: [String: String]) throws -> StazConfiguration {
        let explicitPath = configFile ?? environment["STAZCTL_CONFIG_FILE"] ?? environment["PATRONICTL_CONFIG_FILE"]
        let defaultPath = (environment["HOME"] ?? NSHomeDirectory()) + "/.config/patroni/patronictl.yaml"
        var config: StazConfiguration
        if let path = explicitPath {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw CtlError("Provided config file \(path) not existing or no read rights. Check the -c/--config-file parameter")
            }
            config = try load(path: path, environment: environment)
        } else if FileManager.default.isReadableFile(atPath: defaultPath) {
            config = try load(path: defaultPath, environment: environment)
        } else {
            config = minimal(scope: "")
        }
        if let text = dcsURL ?? environment["DCS_URL"] {
            let url = try DCSURL(parsing: text)
            config.etcd = nil; config.etcd3 = nil
            switch url.api {
            case .v2: config.etcd = EtcdSection(endpoints: [url.endpoint])
            case .v3: config.etcd3 = EtcdSection(endpoints: [url.endpoint])
            }
            if let namespace = url.namespace { config.namespace = namespace }
        }
        return config
    }

    /// A full staz/Patroni configuration through `ConfigLoader`; a patronictl-only file (scope
    /// and DCS, no postgresql section) would fail its validation, so fall back to reading just
    /// the keys stazctl needs.
    static func load(path: String, environment: [String: String]) throws -> StazConfiguration {
        do {
            return try ConfigLoader.load(path: path, environment: environment).0
        } catch let fullError {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                  let yaml = try? Yams.load(yaml: text) as? [String: Any] else {
                throw CtlError("Can not read configuration \(path): \(fullError)")
            }
            var config = minimal(scope: (yaml["scope"]).map { "\($0)" } ?? "")
            if let namespace = yaml["namespace"] as? String { config.namespace = namespace }
            config.etcd3 = etcdSection(yaml["etcd3"])
            config.etcd = etcdSection(yaml["etcd"])
            return config
        }
    }

    static func etcdSection(_ raw: Any?) -> EtcdSection? {
        guard let dict = raw as? [String: Any] else { return nil }
        var endpoints: [String] = []
        if let hosts = dict["hosts"] as? [Any] { endpoints = hosts.map { "\($0)" } }
        else if let hosts = dict["hosts"] as? String { endpoints = hosts.split(separator: ",").map { String($0) } }
        else if let host = dict["host"] { endpoints = ["\(host)"] }
        else if let url = dict["url"] as? String { endpoints = [url] }
        var section = EtcdSection(endpoints: endpoints.map { $0.trimmingCharacters(in: .whitespaces) })
        if let proto = dict["protocol"] as? String { section.protocolScheme = proto }
        section.username = dict["username"] as? String
        section.password = dict["password"].map { "\($0)" }
        return section
    }

    static func minimal(scope: String) -> StazConfiguration {
        StazConfiguration(
            scope: scope, name: "stazctl",
            restapi: RestAPISection(listen: "127.0.0.1:8008", connectAddress: "127.0.0.1:8008"),
            postgresql: PostgreSQLSection(listen: "127.0.0.1:5432", connectAddress: "127.0.0.1:5432", dataDir: "",
                                          pgpass: "", superuser: Credentials(username: "postgres"),
                                          replication: Credentials(username: "replicator")))
    }
}
