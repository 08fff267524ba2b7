import AsyncHTTPClient
import Logging
import NIOCore
import StazConfig

/// `staz --validate-config` checks that the configured etcd answers, as Patroni's validator
/// does ("etcd3.hosts ... is not reachable"). Returns one problem line per unreachable endpoint
/// when none answers, nothing when at least one does.
public func unreachableDCSEndpoints(configuration: StazConfiguration, timeout: TimeAmount = .seconds(2)) async -> [String] {
    guard let (api, section) = configuration.dcs else { return [] }
    let key = api == .v3 ? "etcd3" : "etcd"
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .untraced)
    defer { _ = client.shutdown() }
    var problems: [String] = []
    for endpoint in section.endpoints {
        var request = HTTPClientRequest(url: endpoint + "/version")
        request.method = .GET
        if let response = try? await client.execute(request, timeout: timeout), response.status.code < 500 {
            return []
        }
        problems.append("\(key): \(endpoint) is not reachable")
    }
    return problems
}
