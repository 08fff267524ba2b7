import AsyncHTTPClient
import StazConfig
import Testing
@testable import StazDCS

/// Every HTTP client staz makes (etcd, member REST calls, stazctl) skips request tracing: no
/// tracer is installed, so the per-request span attributes would be work for nothing.
@Suite struct HTTPClientConfigurationTests {
    @Test func clientsAreUntraced() {
        #expect(HTTPClient.Configuration().tracing.tracer != nil, "AsyncHTTPClient's default traces (the no-op tracer)")
        #expect(HTTPClient.Configuration.untraced.tracing.tracer == nil)
        let peers = makePeerHTTPClientConfiguration(restapi: RestAPISection(listen: "127.0.0.1:8008", connectAddress: "127.0.0.1:8008"),
                                                    ctl: CtlSection())
        #expect(peers.tracing.tracer == nil)
        #expect(!peers.connectionPool.retryConnectionEstablishment)
    }
}
