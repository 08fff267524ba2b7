import Foundation
import NIOCore
import NIOHTTP1
import StazCore
import Testing
@testable import StazAPI

/// Health checks that arrive whole in a connection's first read are answered without NIO's
/// HTTP codec; every other request goes to the codec. Both must give the same bytes.
struct HealthCheckFastPathTests {
    static func parse(_ text: String) -> SimpleRequest? { SimpleRequest.parse(ByteBuffer(string: text)) }

    @Test(arguments: [
        ("OPTIONS /primary HTTP/1.0\r\n\r\n", HTTPMethod.OPTIONS, "/primary"),
        ("GET /replica?lag=1MB HTTP/1.0\r\nUser-Agent: x\r\n\r\n", .GET, "/replica?lag=1MB"),
        ("HEAD /health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", .HEAD, "/health"),
        ("GET / HTTP/1.1\r\nConnection:   Close  \r\n\r\n", .GET, "/"),
    ])
    func takesWholeSafeRequestsThatClose(_ text: String, _ method: HTTPMethod, _ uri: String) {
        let request = Self.parse(text)
        #expect(request?.head.method == method)
        #expect(request?.head.uri == uri)
    }

    @Test(arguments: [
        "GET /primary HTTP/1.1\r\n\r\n",                                  // keep-alive by default
        "GET /primary HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",        // keep-alive asked for
        "GET /primary HTTP/1.0\r\n",                                      // head not complete
        "GET /primary HTTP/1.0\r\n\r\nGET /replica HTTP/1.0\r\n\r\n",     // pipelined
        "POST /reload HTTP/1.0\r\n\r\n",                                  // unsafe method
        "GET /primary HTTP/1.0\r\nContent-Length: 0\r\n\r\n",             // a body
        "GET /primary HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET /primary HTTP/1.0\r\nUpgrade: h2c\r\nConnection: close\r\n\r\n",
        "GET /primary HTTP/2.0\r\n\r\n",                                  // unknown version
        "GET /primary\r\n\r\n",                                           // HTTP/0.9
        "GET  /primary HTTP/1.0\r\n\r\n",                                 // two spaces
        "GET primary HTTP/1.0\r\n\r\n",                                   // not a path
        "GET /primary HTTP/1.0\n\n",                                      // bare line feeds
        "GET /primary HTTP/1.0\r\nBad Header: x\r\n\r\n",                 // not a token
        "GET /primary HTTP/1.0\r\nNoColon\r\n\r\n",
        "GET /pri\u{7F}mary HTTP/1.0\r\n\r\n",
        "GET /primary HTTP/1.0\r\nX: a\u{01}b\r\n\r\n",
    ])
    func leavesEverythingElseToTheCodec(_ text: String) {
        #expect(Self.parse(text) == nil, "\(text.debugDescription)")
    }

    @Test func refusesOversizedReads() {
        let padded = "GET /primary HTTP/1.0\r\nX-Pad: " + String(repeating: "a", count: SimpleRequest.maxBytes) + "\r\n\r\n"
        #expect(Self.parse(padded) == nil)
    }

    /// The same request answered by the fast path (sent in one piece) and by NIO's codec (sent
    /// in two, so the first read is not a whole request) gives the same bytes.
    @Test(arguments: [
        ("OPTIONS /primary HTTP/1.0\r\n\r\n", 26031),
        ("OPTIONS /replica HTTP/1.0\r\n\r\n", 26034),
        ("GET /replica HTTP/1.0\r\n\r\n", 26035),
        ("GET /patroni HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 26036),
        ("HEAD /health HTTP/1.1\r\nConnection: close\r\n\r\n", 26037),
        ("GET /liveness HTTP/1.0\r\n\r\n", 26038),
        ("GET /no-such-check HTTP/1.0\r\n\r\n", 26039),
    ])
    func answersAsTheCodecDoes(_ request: String, _ port: Int) async throws {
        try await ServerTests.withServer(port: port, snapshot: Fixtures.leader(at: .now)) { (_: APIState, client: RawHTTPClient) throws in
            #expect(client.sendRaw(request))
            let fast = client.readUntilClose(seconds: 5)
            let split = try RawHTTPClient(port: port)
            let cut = request.index(request.endIndex, offsetBy: -2)
            #expect(split.sendRaw(String(request[..<cut])))
            Thread.sleep(forTimeInterval: 0.05)
            #expect(split.sendRaw(String(request[cut...])))
            let codec = split.readUntilClose(seconds: 5)
            #expect(fast.closed && codec.closed)
            #expect(fast.text.hasPrefix("HTTP/1."))
            #expect(fast.text == codec.text)
        }
    }

    @Test("a connection that never sends is closed after the idle timeout")
    func silentConnection() async throws {
        let limits = RESTServerLimits(idleTimeout: .milliseconds(500), requestTimeout: .seconds(60))
        try await ServerTests.withServer(port: 26032, snapshot: Fixtures.leader(at: .now),
                                         limits: limits) { (_: APIState, client: RawHTTPClient) throws in
            #expect(!client.isReadable(milliseconds: 200))
            #expect(client.waitForClose(seconds: 3) == .closed)
        }
    }

    @Test("requests pipelined in the first read are all answered, in order")
    func pipelinedFirstRead() async throws {
        try await ServerTests.withServer(port: 26033, snapshot: Fixtures.leader(at: .now)) { (_: APIState, client: RawHTTPClient) throws in
            #expect(client.sendRaw("GET /primary HTTP/1.1\r\n\r\nGET /replica HTTP/1.1\r\nConnection: close\r\n\r\n"))
            #expect(try client.readResponse().statusCode == 200)
            #expect(try client.readResponse().statusCode == 503)
            #expect(client.waitForClose(seconds: 5) == .closed)
        }
    }
}
