import Foundation
import Logging
import NIOCore
@testable import StazAPI
import StazCore
import Synchronization
import Testing

/// Records the configuration changes the REST layer hands over; none may arrive from a body
/// that was refused.
final class ConfigRecordingActions: APIActions {
    let patches = Mutex(0)
    func reload() async {}
    func patchConfig(_ patch: JSONObject) async -> APIResponse {
        patches.withLock { $0 += 1 }
        return .json(200, JSONValue.object(patch))
    }
}

/// What the REST server does with input that would otherwise tie it up: oversized bodies,
/// unfinished or idle connections, too many connections, requests it cannot serve. Real
/// sockets on 127.0.0.1, ports 26020–26039; every wait is bounded.
@Suite("REST API limits over the wire", .serialized)
struct ServerLimitsTests {
    /// `{"pad": "xxx…"}` of `size` bytes: valid JSON, so a truncated or glued copy of it would
    /// reach the router as a (wrong) configuration patch.
    static func paddedJSON(size: Int) -> String {
        let prefix = #"{"pad": ""#, suffix = #""}"#
        return prefix + String(repeating: "x", count: size - prefix.utf8.count - suffix.utf8.count) + suffix
    }

    @Test("a 1.4 MB body with Content-Length is answered 413 and the connection closed")
    func declaredOversizedBody() async throws {
        let actions = ConfigRecordingActions()
        try await ServerTests.withServer(port: 26020, snapshot: Fixtures.leader(at: .now), actions: actions) { (_: APIState, client: RawHTTPClient) throws in
            let body = Self.paddedJSON(size: 1_400_000)
            let head = "PATCH /config HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
            #expect(client.sendRaw(head))
            // The server answers from the head; the client may still send the body (it is read
            // and dropped, so the reply is not lost to a reset).
            client.sendRaw(body)
            let reply = try client.readResponse()
            #expect(reply.statusCode == 413)
            #expect(reply.headers["connection"] == "close")
            #expect(reply.body.contains("1048576"))
            #expect(client.waitForClose(seconds: 5) == .closed)
        }
        #expect(actions.patches.withLock { $0 } == 0)
    }

    @Test("a 1.4 MB chunked body is answered 413 once it passes the limit, and closed")
    func chunkedOversizedBody() async throws {
        let actions = ConfigRecordingActions()
        try await ServerTests.withServer(port: 26021, snapshot: Fixtures.leader(at: .now), actions: actions) { (_: APIState, client: RawHTTPClient) throws in
            let body = Array(Self.paddedJSON(size: 1_400_000).utf8)
            #expect(client.sendRaw("PATCH /config HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"))
            var offset = 0
            while offset < body.count {
                let piece = body[offset..<min(offset + 65536, body.count)]
                // Stop once the server has answered and closed its side.
                guard client.sendRaw(Array(String(piece.count, radix: 16).utf8) + [13, 10] + piece + [13, 10]) else { break }
                offset += piece.count
            }
            client.sendRaw("0\r\n\r\n")
            let reply = try client.readResponse()
            #expect(reply.statusCode == 413)
            #expect(client.waitForClose(seconds: 5) == .closed)
        }
        #expect(actions.patches.withLock { $0 } == 0)
    }

    @Test("a body just under the limit still reaches the handler")
    func bodyUnderTheLimit() async throws {
        let actions = ConfigRecordingActions()
        try await ServerTests.withServer(port: 26022, snapshot: Fixtures.leader(at: .now), actions: actions) { (_: APIState, client: RawHTTPClient) throws in
            let reply = try client.request("PATCH", "/config", body: Self.paddedJSON(size: 1 << 20))
            #expect(reply.statusCode == 200)
            // Same connection, still usable.
            #expect(try client.request("GET", "/patroni").statusCode == 200)
        }
        #expect(actions.patches.withLock { $0 } == 1)
    }
}

/// Answers `PATCH /config` only after `delay`: longer than the request timeout under test.
final class SlowConfigActions: APIActions {
    let delay: Duration
    init(delay: Duration) { self.delay = delay }
    func reload() async {}
    func patchConfig(_ patch: JSONObject) async -> APIResponse {
        try? await Task.sleep(for: delay)
        return .json(200, JSONValue.object(patch))
    }
}

extension ServerLimitsTests {
    /// The limit under test is short; the other is long, so that only the one under test acts.
    static let shortRequestTimeout = RESTServerLimits(idleTimeout: .seconds(60), requestTimeout: .milliseconds(500))
    static let shortIdleTimeout = RESTServerLimits(idleTimeout: .milliseconds(500), requestTimeout: .seconds(60))

    @Test("a half-sent request is answered 408 and closed after the request timeout")
    func halfSentRequest() async throws {
        try await ServerTests.withServer(port: 26023, snapshot: Fixtures.leader(at: .now),
                                         limits: Self.shortRequestTimeout) { (_: APIState, client: RawHTTPClient) throws in
            // The head never ends: no empty line.
            #expect(client.sendRaw("GET /patroni HTTP/1.1\r\nHost: 127.0.0.1\r\n"))
            let reply = try client.readResponse()  // the client's 5 s receive timeout bounds the wait
            #expect(reply.statusCode == 408)
            #expect(reply.headers["connection"] == "close")
            #expect(client.waitForClose(seconds: 5) == .closed)
        }
    }

    @Test("a request trickled byte by byte is cut off after the request timeout (slowloris)")
    func trickledRequest() async throws {
        try await ServerTests.withServer(port: 26024, snapshot: Fixtures.leader(at: .now),
                                         limits: Self.shortRequestTimeout) { (_: APIState, client: RawHTTPClient) throws in
            let request = Array(("GET /patroni HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: "
                + String(repeating: "a", count: 200) + "\r\n\r\n").utf8)
            // One byte every 20 ms keeps the connection busy for ~4.6 s: each byte is new input,
            // but the time limit runs from the first one.
            var sent = 0
            while sent < request.count, !client.isReadable(milliseconds: 20) {
                guard client.sendRaw([request[sent]]) else { break }
                sent += 1
            }
            #expect(sent < request.count, "the whole trickled request was accepted")
            #expect(try client.readResponse().statusCode == 408)
            #expect(client.waitForClose(seconds: 5) == .closed)
        }
    }

    @Test("an idle keep-alive connection is closed after the idle timeout; requests keep it open")
    func idleKeepAlive() async throws {
        let limits = RESTServerLimits(idleTimeout: .seconds(1), requestTimeout: .seconds(60))
        try await ServerTests.withServer(port: 26025, snapshot: Fixtures.leader(at: .now),
                                         limits: limits) { (_: APIState, client: RawHTTPClient) throws in
            // Requests 0.1 s apart for longer than the idle timeout: each reply restarts it.
            for _ in 0..<15 {
                #expect(try client.request("GET", "/patroni").statusCode == 200)
                Thread.sleep(forTimeInterval: 0.1)
            }
            #expect(client.waitForClose(seconds: 5) == .closed)
        }
    }

    @Test("a reply that takes longer than the request timeout is still sent")
    func slowReplyIsNotCutOff() async throws {
        let limits = RESTServerLimits(idleTimeout: .seconds(3), requestTimeout: .milliseconds(300))
        try await ServerTests.withServer(port: 26026, snapshot: Fixtures.leader(at: .now),
                                         actions: SlowConfigActions(delay: .milliseconds(1000)),
                                         limits: limits) { (_: APIState, client: RawHTTPClient) throws in
            #expect(try client.request("PATCH", "/config", body: #"{"ttl": 30}"#).statusCode == 200)
            #expect(try client.request("GET", "/patroni").statusCode == 200, "still the same open connection")
        }
    }

    @Test("pipelined requests are all answered under short limits")
    func pipelinedRequests() async throws {
        try await ServerTests.withServer(port: 26027, snapshot: Fixtures.leader(at: .now),
                                         limits: Self.shortRequestTimeout) { (_: APIState, client: RawHTTPClient) throws in
            let one = "GET /patroni HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            #expect(client.sendRaw(one + one + one))
            for _ in 0..<3 { #expect(try client.readResponse().statusCode == 200) }
            #expect(try client.request("GET", "/liveness").statusCode == 200)
        }
    }
}

/// Keeps every log line (level and text) for the test to read.
final class CapturingLogHandler: LogHandler, @unchecked Sendable {
    let lines = Mutex<[(Logger.Level, String)]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        lines.withLock { $0.append((level, message.description)) }
    }
    func warnings(containing text: String) -> [String] {
        lines.withLock { $0.filter { $0.0 == .warning && $0.1.contains(text) }.map(\.1) }
    }
}

extension ServerLimitsTests {
    @Test("connections beyond the cap are closed at once, with one warning naming the cap")
    func connectionCap() async throws {
        let capture = CapturingLogHandler()
        let logger = Logger(label: "test.cap") { _ in capture }
        let limits = RESTServerLimits(maxConnections: 2)
        let port = 26028
        try await ServerTests.withServer(port: port, snapshot: Fixtures.leader(at: .now), limits: limits,
                                         logger: logger) { (_: APIState, first: RawHTTPClient) throws in
            let second = try RawHTTPClient(port: port)
            // Both are accepted and counted once they have been answered.
            #expect(try first.request("GET", "/patroni").statusCode == 200)
            #expect(try second.request("GET", "/patroni").statusCode == 200)
            // The kernel completes the handshake; the server closes the connection unanswered.
            for _ in 0..<3 {
                let extra = try RawHTTPClient(port: port)
                extra.sendRaw("GET /patroni HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                #expect(extra.waitForClose(seconds: 5) == .closed)
            }
            // The accepted ones are unaffected.
            #expect(try first.request("GET", "/liveness").statusCode == 200)
            #expect(try second.request("GET", "/liveness").statusCode == 200)
        }
        let warnings = capture.warnings(containing: "max_connections")
        #expect(warnings.count == 1, "one warning per minute, not one per refused connection: \(warnings)")
        #expect(warnings.first?.contains("max_connections: 2") == true)
    }

    @Test("a place freed by a closed connection is given to the next one")
    func capReleasesClosedConnections() async throws {
        let port = 26029
        try await ServerTests.withServer(port: port, snapshot: Fixtures.leader(at: .now),
                                         limits: RESTServerLimits(maxConnections: 1)) { (_: APIState, first: RawHTTPClient) throws in
            #expect(try first.request("GET", "/patroni").statusCode == 200)
            first.close()
            // The server notices the close asynchronously: retry for a bounded time.
            let deadline = Date().addingTimeInterval(5)
            var answered = false
            while !answered && Date() < deadline {
                let next = try RawHTTPClient(port: port)
                answered = (try? next.request("GET", "/patroni").statusCode) == 200
                if !answered { Thread.sleep(forTimeInterval: 0.05) }
            }
            #expect(answered)
        }
    }

    @Test func capIsKeptUnderHalfTheOpenFileLimit() {
        let wanted = RESTServerLimits(maxConnections: 5000)
        let (fitted, warning) = wanted.fitted(toOpenFileLimit: 1024)
        #expect(fitted.maxConnections == 512)
        #expect(warning?.contains("restapi.max_connections 5000 lowered to 512") == true)
        #expect(wanted.fitted(toOpenFileLimit: 100_000).0 == wanted)
        #expect(wanted.fitted(toOpenFileLimit: nil).1 == nil)
        #expect(RESTServerLimits().fitted(toOpenFileLimit: 1024).1 == nil, "the default fits Debian's default limit")
    }
}

extension ServerLimitsTests {
    /// Requests the server cannot serve get an answer and a close at once, well within the
    /// default time limits (which would otherwise be what ends them).
    @Test("CONNECT, HTTP/0.9 and malformed requests are answered and closed, never left hanging", arguments: [
        ("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "HTTP/1.1 501"),
        ("CONNECT example.com:443 HTTP/1.1\r\n\r\n", "HTTP/1.1 501"),
        ("GET /\r\n", "HTTP/1.1 400"),
        ("GET /patroni\r\n\r\n", "HTTP/1.1 400"),
        ("POST /reload\r\n", "HTTP/1.1 400"),
        // The parser stops after a request asking for an upgrade: answered, then closed.
        ("GET /patroni HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", "HTTP/1.1 200"),
        // A parse error: NIO answers 400; the connection must not stay open behind it.
        ("GET /patroni HTTP/1.1\r\nHost x\r\n\r\n", "HTTP/1.1 400"),
        ("GET /patroni HTTP/2.0\r\nHost: x\r\n\r\n", "HTTP/1.1 400"),
        // Control: an empty line before a request is allowed, and Connection: close closes.
        ("\r\nGET /patroni HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 200"),
    ])
    func unservableRequests(request: String, statusLine: String) async throws {
        try await ServerTests.withServer(port: 26030, snapshot: Fixtures.leader(at: .now)) { (_: APIState, client: RawHTTPClient) throws in
            #expect(client.sendRaw(request))
            let (text, closed) = client.readUntilClose(seconds: 3)
            #expect(text.hasPrefix(statusLine), "got: \(text.debugDescription)")
            #expect(closed, "connection left open after: \(text.debugDescription)")
        }
    }
}

extension ServerLimitsTests {
    @Test func requestLineCheck() {
        func verdict(_ pieces: String...) -> RequestLineCheck.Verdict {
            var check = RequestLineCheck()
            var last = RequestLineCheck.Verdict.undecided
            for piece in pieces { last = check.feed(ByteBuffer(string: piece)) }
            return last
        }
        #expect(verdict("GET / HTTP/1.1\r\n") == .http1)
        #expect(verdict("GET /\r\n") == .noVersion)
        #expect(verdict("GET /patroni\n") == .noVersion)
        #expect(verdict("\r\n\r\nGET /\r\n") == .noVersion)
        #expect(verdict("\r\nGET /patroni HTTP/1.0\r\n") == .http1)
        #expect(verdict("G", "ET /pat", "roni HT", "TP/1.1\r", "\n") == .http1, "trickled")
        #expect(verdict("GET /", "\r\n") == .noVersion, "trickled")
        #expect(verdict("GET /patroni HTTP/1.1") == .undecided)
        #expect(verdict("GET /" + String(repeating: "a", count: 9000)) == .http1, "long lines are left to the parser")
    }
}
