import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOSSL
import StazConcurrency
import StazCore

enum EtcdHTTPMethod: String, Sendable { case get = "GET", put = "PUT", post = "POST", delete = "DELETE" }

/// One HTTP request to etcd, relative to an endpoint (`path` includes any query string).
struct EtcdRequest: Sendable {
    var method: EtcdHTTPMethod
    var path: String
    var body: Data? = nil
    var contentType: String? = nil

    static func json(_ path: String, _ body: JSONValue) -> EtcdRequest {
        EtcdRequest(method: .post, path: path, body: Data(body.compactString.utf8), contentType: "application/json")
    }
}

/// A fully read etcd answer.
struct EtcdHTTPResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: Data

    func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The body as JSON; etcd answers JSON for every API staz uses.
    func json() throws -> JSONValue {
        do { return try JSONValue.parse(body) } catch {
            throw DCSError.protocolError("unparsable etcd answer (HTTP \(status)): \(bodyText.prefix(200))")
        }
    }
}

/// How requests authenticate: etcd v2 takes HTTP basic auth, etcd v3 a token from
/// `/v3/auth/authenticate` in the `Authorization` header.
enum EtcdAuthentication: Sendable {
    case none
    case basic(username: String, password: String)
    case v3Token(username: String, password: String)
}

/// Why one attempt against one endpoint failed (moves us to the next endpoint).
enum EtcdAttemptFailure: Error, CustomStringConvertible {
    case timedOut(Duration)
    case serverUnavailable(Int, String)

    var description: String {
        switch self {
        case .timedOut(let d): return "no answer within \(d.secondsValue) s"
        case .serverUnavailable(let status, let body): return "HTTP \(status): \(body.prefix(200))"
        }
    }
}

/// HTTP access to a set of etcd endpoints with failover: one operation tries the current
/// endpoint and, on a connection error, timeout or 5xx, moves on to the next, until
/// `retryTimeout` is used up. Owns the single `HTTPClient` of a DCS client object.
actor EtcdTransport {
    let http: HTTPClient
    let endpoints: [String]
    private let authentication: EtcdAuthentication
    private let logger: Logger
    private var currentIndex = 0
    private var timeouts: DCSTimeouts
    private var token: String?

    /// `tls` carries the section's `cacert`/`cert`/`key` for https endpoints (nil: system roots).
    init(endpoints: [String], authentication: EtcdAuthentication, timeouts: DCSTimeouts, logger: Logger,
         tls: TLSConfiguration? = nil) {
        precondition(!endpoints.isEmpty, "EtcdTransport needs at least one endpoint")
        self.endpoints = endpoints
        self.authentication = authentication
        self.timeouts = timeouts
        self.logger = logger
        var configuration = HTTPClient.Configuration.untraced
        configuration.timeout = .init(connect: .seconds(2))
        configuration.redirectConfiguration = .disallow
        if let tls { configuration.tlsConfiguration = tls }
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func setTimeouts(_ timeouts: DCSTimeouts) { self.timeouts = timeouts }

    /// Index of the endpoint requests currently go to (changes on failover).
    var endpointIndex: Int { currentIndex }

    /// One operation, retried over the endpoints within `retryTimeout`. Any HTTP answer below 500
    /// is returned for the caller to interpret. Throws `DCSError.unreachable` when time runs out.
    func perform(_ request: EtcdRequest) async throws -> EtcdHTTPResponse {
        let deadline = ContinuousClock.now + timeouts.retryDuration
        var lastProblem = "no endpoint could be tried"
        var failures = 0
        var reauthenticated = false
        while true {
            let remaining = deadline - .now
            if remaining <= .zero { break }
            let index = currentIndex
            let endpoint = endpoints[index]
            let attemptTimeout = min(timeouts.perRequestDuration, remaining)
            do {
                let authorization = try await authorizationHeader(endpoint: endpoint, timeout: attemptTimeout)
                let response = try await Self.exchange(http, request, endpoint: endpoint,
                                                       authorization: authorization, timeout: attemptTimeout)
                if response.status == 401, case .v3Token = authentication, !reauthenticated {
                    // Tokens expire (simple tokens after 5 min idle): fetch a new one once.
                    token = nil
                    reauthenticated = true
                    continue
                }
                if response.status >= 500 { throw EtcdAttemptFailure.serverUnavailable(response.status, response.bodyText) }
                return response
            } catch let error as DCSError {
                throw error
            } catch {
                if Task.isCancelled { throw CancellationError() }
                lastProblem = "\(endpoint)\(request.path.prefix { $0 != "?" }): \(error)"
                logger.debug("etcd request failed", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
                moveOff(index)
                failures += 1
                if failures % endpoints.count == 0 {
                    // Every endpoint failed once: pause briefly instead of spinning.
                    try await Task.sleep(for: min(.milliseconds(200), max(.zero, deadline - .now)))
                }
            }
        }
        throw DCSError.unreachable(lastProblem)
    }

    /// One attempt on the current endpoint with its own timeout (etcd v2 long polls). A failure
    /// moves the next request to another endpoint; `EtcdAttemptFailure.timedOut` means the
    /// timeout elapsed.
    func performOnce(_ request: EtcdRequest, timeout: Duration) async throws -> EtcdHTTPResponse {
        let index = currentIndex
        let endpoint = endpoints[index]
        do {
            let authorization = try await authorizationHeader(endpoint: endpoint, timeout: timeouts.perRequestDuration)
            return try await Self.exchange(http, request, endpoint: endpoint, authorization: authorization, timeout: timeout)
        } catch EtcdAttemptFailure.timedOut(let d) {
            throw EtcdAttemptFailure.timedOut(d)
        } catch {
            if !Task.isCancelled { moveOff(index) }
            throw error
        }
    }

    /// Starts a streaming request (the v3 watch) on the current endpoint: the answer head must
    /// come within the per-request timeout, the body then streams for as long as it lasts.
    /// Returns the answer and the endpoint index it came from.
    func openStream(_ request: EtcdRequest) async throws -> (HTTPClientResponse, Int) {
        let index = currentIndex
        let endpoint = endpoints[index]
        do {
            let authorization = try await authorizationHeader(endpoint: endpoint, timeout: timeouts.perRequestDuration)
            let response = try await http.execute(Self.makeRequest(request, endpoint: endpoint, authorization: authorization),
                                                  timeout: timeouts.perRequestDuration.nioTimeAmount)
            guard response.status.code == 200 else {
                let body = try? await response.body.collect(upTo: 1 << 16)
                let text = body.map { String(buffer: $0) } ?? ""
                if response.status.code == 401 { token = nil }
                throw EtcdAttemptFailure.serverUnavailable(Int(response.status.code), text)
            }
            return (response, index)
        } catch {
            if !Task.isCancelled { moveOff(index) }
            throw error
        }
    }

    func shutdown() async {
        try? await http.shutdown()
    }

    /// After a failure on `index`, use the next endpoint (unless someone already moved on).
    private func moveOff(_ index: Int) {
        guard index == currentIndex, endpoints.count > 1 else { return }
        currentIndex = (index + 1) % endpoints.count
        logger.info("switching etcd endpoint", metadata: ["endpoint": "\(endpoints[currentIndex])"])
    }

    private func authorizationHeader(endpoint: String, timeout: Duration) async throws -> String? {
        switch authentication {
        case .none:
            return nil
        case .basic(let username, let password):
            return "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        case .v3Token(let username, let password):
            if let token { return token }
            let body: JSONValue = ["name": .string(username), "password": .string(password)]
            let response = try await Self.exchange(http, .json("/v3/auth/authenticate", body), endpoint: endpoint,
                                                   authorization: nil, timeout: timeout)
            if response.status >= 500 { throw EtcdAttemptFailure.serverUnavailable(response.status, response.bodyText) }
            guard response.status == 200, let newToken = try response.json()["token"]?.stringValue else {
                throw DCSError.protocolError("etcd authentication as '\(username)' failed: \(response.bodyText.prefix(200))")
            }
            token = newToken
            return newToken
        }
    }

    private static func makeRequest(_ request: EtcdRequest, endpoint: String, authorization: String?) -> HTTPClientRequest {
        var http = HTTPClientRequest(url: endpoint + request.path)
        switch request.method {
        case .get: http.method = .GET
        case .put: http.method = .PUT
        case .post: http.method = .POST
        case .delete: http.method = .DELETE
        }
        if let body = request.body {
            http.body = .bytes(ByteBuffer(data: body))
            if let contentType = request.contentType { http.headers.add(name: "Content-Type", value: contentType) }
        }
        if let authorization { http.headers.add(name: "Authorization", value: authorization) }
        return http
    }

    /// Sends a request and reads the whole answer, all within `timeout`. AsyncHTTPClient's
    /// deadline only covers the answer head, and etcd v2 long polls send the head at once, so
    /// the body is raced against a timer too.
    private static func exchange(_ http: HTTPClient, _ request: EtcdRequest, endpoint: String,
                                 authorization: String?, timeout: Duration) async throws -> EtcdHTTPResponse {
        let httpRequest = makeRequest(request, endpoint: endpoint, authorization: authorization)
        return try await withThrowingTaskGroup(of: EtcdHTTPResponse?.self) { group in
            group.addTask {
                let response: HTTPClientResponse
                do {
                    response = try await http.execute(httpRequest, timeout: timeout.nioTimeAmount)
                } catch let error as HTTPClientError where error == .deadlineExceeded {
                    throw EtcdAttemptFailure.timedOut(timeout)
                }
                let body = try await response.body.collect(upTo: 64 << 20)
                return EtcdHTTPResponse(status: Int(response.status.code),
                                        headers: response.headers.map { ($0.name, $0.value) },
                                        body: Data(buffer: body))
            }
            group.addTask {
                try await EventLoopTimer.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let response = first else {
                throw EtcdAttemptFailure.timedOut(timeout)
            }
            return response
        }
    }
}
