import StazCore

/// The body of `GET /cluster`: Patroni's `cluster_as_json` plus `scope`.
public func clusterJSON(_ cluster: ClusterView, scope: String) -> JSONObject {
    var result = clusterAsJSON(cluster)
    result["scope"] = .string(scope)
    return result
}
