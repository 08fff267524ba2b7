import NIOCore

/// `GET /metrics`: Prometheus text exposition with Patroni's metric names.
/// (Stub: the security/metrics engineer replaces this file.)
enum MetricsEndpoint {
    static func response(snapshot: NodeSnapshot, now: ContinuousClock.Instant) -> APIResponse {
        APIResponse(status: .ok, contentType: "text/plain; version=0.0.4", body: ByteBuffer(string: ""))
    }
}
