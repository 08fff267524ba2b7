import Foundation
import Logging
import NIOSSL
import StazConfig
import StazCore

/// Builds the DCS client for a configuration: `etcd3:` → `EtcdV3Client`, `etcd:` → `EtcdV2Client`
/// (`etcd3` wins when both exist), keys under `configuration.clusterPrefix`.
///
/// `memberName` nil gives a read-only client (stazctl) that never grants leases nor writes
/// member / leader keys. Initial timing comes from `bootstrap.dcs` (`ttl`, `loop_wait`,
/// `retry_timeout`) or Patroni's defaults; the daemon applies the live values with
/// `setTimeouts` once it has read the `config` key.
///
/// A configuration without any etcd section (validation should have refused it) falls back to
/// etcd v3 on `http://127.0.0.1:2379`, logged as an error.
public func makeDCSClient(configuration: StazConfiguration, memberName: String?, logger: Logger) -> DCSClient {
    let defaults = DynamicSettings()
    let bootstrap = configuration.bootstrap.dcs
    let ttl = bootstrap["ttl"]?.doubleValue ?? defaults.ttl
    let loopWait = bootstrap["loop_wait"]?.doubleValue ?? defaults.loopWait
    let retryTimeout = bootstrap["retry_timeout"]?.doubleValue ?? defaults.retryTimeout

    guard let (api, section) = configuration.dcs else {
        logger.error("no etcd or etcd3 section in the configuration; using etcd v3 at http://127.0.0.1:2379")
        return EtcdV3Client(endpoints: ["http://127.0.0.1:2379"], prefix: configuration.clusterPrefix,
                            memberName: memberName, ttl: ttl, loopWait: loopWait, retryTimeout: retryTimeout, logger: logger)
    }
    let endpoints = normalizedEndpoints(section)
    let tls: TLSConfiguration?
    do {
        tls = try makeEtcdTLSConfiguration(section, section: api == .v3 ? "etcd3" : "etcd")
    } catch {
        // Not fatal here (stazctl may only need the config); etcd requests will fail and say so.
        logger.error("etcd TLS settings unusable: \(error)")
        tls = nil
    }
    switch api {
    case .v3:
        return EtcdV3Client(endpoints: endpoints, prefix: configuration.clusterPrefix, memberName: memberName,
                            ttl: ttl, loopWait: loopWait, retryTimeout: retryTimeout,
                            username: section.username, password: section.password, logger: logger, tls: tls)
    case .v2:
        return EtcdV2Client(endpoints: endpoints, prefix: configuration.clusterPrefix, memberName: memberName,
                            ttl: ttl, loopWait: loopWait, retryTimeout: retryTimeout,
                            username: section.username, password: section.password, logger: logger, tls: tls)
    }
}

/// `host:port` entries get the section's scheme; trailing slashes go; an empty list means
/// etcd's default local endpoint.
func normalizedEndpoints(_ section: EtcdSection) -> [String] {
    let endpoints = section.endpoints.compactMap { raw -> String? in
        var endpoint = raw.trimmingCharacters(in: .whitespaces)
        guard !endpoint.isEmpty else { return nil }
        if !endpoint.contains("://") { endpoint = section.protocolScheme + "://" + endpoint }
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        return endpoint
    }
    return endpoints.isEmpty ? [section.protocolScheme + "://127.0.0.1:2379"] : endpoints
}
