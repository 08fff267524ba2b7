import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import StazCore
import Synchronization

public enum RESTServerError: Error, CustomStringConvertible {
    case invalidListenAddress(String)
    case notStarted

    public var description: String {
        switch self {
        case .invalidListenAddress(let s): return "restapi.listen '\(s)' is not host:port"
        case .notStarted: return "REST API server is not running"
        }
    }
}

/// The access-control settings and TLS context in force; swapped as a whole on reload, read
/// once per connection (TLS) and once per unsafe request (access checks).
final class SecurityState: Sendable {
    struct Current: Sendable {
        let security: RESTSecurity
        let tlsContext: NIOSSLContext?
    }

    private let box: Mutex<Current>

    init(_ security: RESTSecurity) throws {
        box = Mutex(Current(security: security, tlsContext: try security.tls?.makeServerContext()))
    }

    var current: Current { box.withLock { $0 } }

    func replace(with security: RESTSecurity) throws {
        let next = Current(security: security, tlsContext: try security.tls?.makeServerContext())
        box.withLock { $0 = next }
    }
}

/// The connection limits in force; replaced on reload, read once per new connection.
final class LimitsState: Sendable {
    private let box: Mutex<RESTServerLimits>
    init(_ limits: RESTServerLimits) { box = Mutex(limits) }
    var current: RESTServerLimits { box.withLock { $0 } }
    func replace(with limits: RESTServerLimits) { box.withLock { $0 = limits } }
}

/// Patroni-compatible REST API over SwiftNIO HTTP/1.1 with keep-alive. Health checks are
/// answered on the event loop from the pre-rendered snapshot; handlers that need the DCS or
/// the daemon run in a Task and write back on the channel's event loop. With
/// `restapi.certfile` the API speaks TLS; unsafe methods pass `RESTSecurity`'s access checks.
public final class RESTServer: @unchecked Sendable {
    private let host: String
    private let port: Int
    private let router: Router
    private let logger: Logger
    /// NIO's shared group, which the etcd and PostgreSQL clients use too: one set of event-loop
    /// threads per daemon, not one per component.
    private let group: MultiThreadedEventLoopGroup = .singleton
    private let securityState: SecurityState
    private let limitsState: LimitsState
    private let connections = ConnectionCounter()
    // Touched only by start()/shutdown(), which the owner calls in sequence.
    private var channel: Channel?

    /// Throws when `listen` is malformed or a TLS file (certfile/keyfile/cafile) is unusable.
    public init(listen: String, state: APIState, actions: APIActions,
                clusterProvider: @escaping @Sendable () async throws -> ClusterView, logger: Logger,
                security: RESTSecurity = .none, limits: RESTServerLimits = RESTServerLimits()) throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            throw RESTServerError.invalidListenAddress(listen)
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        // Patroni: `*` or empty host listens on all interfaces.
        self.host = host.isEmpty || host == "*" ? "::" : host
        self.port = port
        self.logger = logger
        self.router = Router(state: state, actions: actions, clusterProvider: clusterProvider, logger: logger)
        self.securityState = try SecurityState(security)
        self.limitsState = LimitsState(Self.fitted(limits, logger: logger))
        for problem in security.problems { logger.error("\(problem)") }
    }

    /// Applies new security settings (SIGHUP / POST /reload): new connections use the new TLS
    /// certificate, every later unsafe request the new allowlist and credentials. Adding or
    /// removing `certfile` switches new connections between http and https (as Patroni's
    /// re-initialisation does); the daemon must then publish the new `api_url`.
    public func updateSecurity(_ security: RESTSecurity) throws {
        try securityState.replace(with: security)
        for problem in security.problems { logger.error("\(problem)") }
    }

    /// New time limits (SIGHUP / POST /reload): connections opened from now on use them.
    /// The connection cap applies at once.
    public func updateLimits(_ limits: RESTServerLimits) {
        limitsState.replace(with: Self.fitted(limits, logger: logger))
    }

    private static func fitted(_ limits: RESTServerLimits, logger: Logger) -> RESTServerLimits {
        let (fitted, warning) = limits.fitted(toOpenFileLimit: RESTServerLimits.openFileSoftLimit())
        if let warning { logger.warning("\(warning)") }
        return fitted
    }

    /// The bound port (useful when listening on port 0).
    public var boundPort: Int? { channel?.localAddress?.port }

    public func start() async throws {
        let router = self.router
        let logger = self.logger
        let securityState = self.securityState
        let limitsState = self.limitsState
        let connections = self.connections
        // One loop of the shared group accepts and serves every connection. A load balancer
        // opens a connection per health check (at loop_wait 10 the checks are about 70 % of an
        // idle member's CPU); handing each accepted one to another loop's thread cost a
        // wake-up and a context switch per check.
        // Kept-alive clients lose some throughput (wrk, 32 connections: 44k to 39k requests/s)
        // and gain latency (p99 4.0 to 1.7 ms) as the loop no longer competes with itself.
        let bootstrap = ServerBootstrap(group: group.next())
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectionCapHandler(counter: connections, cap: { limitsState.current.maxConnections }, logger: logger))
                }
            }
            .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    let limits = limitsState.current
                    let installHTTP = { (pipeline: ChannelPipeline.SynchronousOperations) throws in
                        let deadlines = ConnectionDeadlineHandler(idleTimeout: TimeAmount(limits.idleTimeout),
                                                                  requestTimeout: TimeAmount(limits.requestTimeout), logger: logger)
                        try pipeline.addHandler(deadlines)
                        try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                        try pipeline.addHandler(HTTPRequestHandler(router: router, securityState: securityState,
                                                                   deadlines: deadlines, logger: logger))
                    }
                    if let tlsContext = securityState.current.tlsContext {
                        try pipeline.addHandler(NIOSSLServerHandler(context: tlsContext))
                        try installHTTP(pipeline)
                    } else {
                        try pipeline.addHandler(HealthCheckFastPath(router: router, idleTimeout: TimeAmount(limits.idleTimeout),
                                                                    installFullPipeline: installHTTP))
                    }
                }
            }
        do {
            channel = try await bootstrap.bind(host: host, port: port).get()
        } catch where host == "::" {
            // No IPv6 on this host: fall back to IPv4 any-address.
            channel = try await bootstrap.bind(host: "0.0.0.0", port: port).get()
        }
        let scheme = securityState.current.tlsContext == nil ? "http" : "https"
        logger.info("REST API listening on \(host):\(boundPort ?? port) (\(scheme))")
    }

    public func shutdown() async {
        if let channel { try? await channel.close() }
        channel = nil
    }
}

/// One per connection. NIO's pipelining handler (from `configureHTTPServerPipeline`) queues
/// further requests until a response is complete, so replies always go out in order. Tells the
/// connection's `ConnectionDeadlineHandler` when a request starts and ends and when its reply
/// is written.
final class HTTPRequestHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The largest request body accepted (Patroni has no limit; 1 MiB is far above any real
    /// `PATCH /config`). A larger one is answered 413 and the connection closed.
    static let maxBodyBytes = 1 << 20
    private let router: Router
    private let securityState: SecurityState
    private let deadlines: ConnectionDeadlineHandler
    private let logger: Logger
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    /// Set once a reply that ends the connection is sent: whatever else arrives is dropped.
    private var closing = false

    init(router: Router, securityState: SecurityState, deadlines: ConnectionDeadlineHandler, logger: Logger) {
        self.router = router; self.securityState = securityState; self.deadlines = deadlines; self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = nil
            deadlines.requestStarted()
            // NIO's parser reads nothing after a CONNECT (the rest would be a tunnel) and its
            // encoder sends no body, so a 501 kept open would leave the client waiting for one.
            if requestHead.method == .CONNECT {
                head = nil
                return respondAndClose(.statusOnly(501), for: requestHead, context: context)
            }
            // Refuse at once what the client declares, before reading any of it.
            if let declared = requestHead.headers.first(name: "Content-Length").flatMap({ Int($0) }),
               declared > Self.maxBodyBytes {
                rejectOversizedBody(requestHead, context: context)
            }
        case .body(var chunk):
            guard let requestHead = head else { return }
            // Chunked bodies (no Content-Length) are measured as they arrive; no part of an
            // oversized body ever reaches the router.
            if (body?.readableBytes ?? 0) + chunk.readableBytes > Self.maxBodyBytes {
                rejectOversizedBody(requestHead, context: context)
            } else if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
        case .end:
            guard var requestHead = head else { return }
            head = nil
            deadlines.requestComplete()
            // After a request asking to upgrade the protocol NIO's parser stops reading, so a
            // further request on the connection would never be answered: close after this one.
            if Self.asksForUpgrade(requestHead) { requestHead.headers.replaceOrAdd(name: "Connection", value: "close") }
            var outcome = router.route(method: requestHead.method, uri: requestHead.uri)
            if case .deferred(let handler) = outcome, Self.isUnsafe(requestHead.method) {
                outcome = guarded(handler, request: requestHead, context: context)
            }
            switch outcome {
            case .immediate(let response):
                write(response, for: requestHead, context: context)
            case .deferred(let handler):
                let channel = context.channel
                let target = RequestTarget(requestHead.uri)
                let requestBody = body
                let logger = self.logger
                let deadlines = NIOLoopBound(self.deadlines, eventLoop: channel.eventLoop)
                Task {
                    let response = await handler(target, requestBody)
                    channel.eventLoop.execute {
                        HTTPRequestHandler.send(response, for: requestHead, on: channel, deadlines: deadlines.value, logger: logger)
                    }
                }
            }
        }
    }

    private func rejectOversizedBody(_ request: HTTPRequestHead, context: ChannelHandlerContext) {
        logger.debug("REST API: \(request.method.rawValue) \(request.uri) body over \(Self.maxBodyBytes) bytes, answered 413")
        head = nil
        body = nil
        respondAndClose(.httpError(413, message: "Request body larger than \(Self.maxBodyBytes) bytes"),
                        for: request, context: context)
    }

    /// Sends `response` with `Connection: close` and ends the connection; later input is ignored.
    private func respondAndClose(_ response: APIResponse, for request: HTTPRequestHead, context: ChannelHandlerContext) {
        closing = true
        deadlines.closing()
        var head = Self.responseHead(response, for: request)
        head.headers.replaceOrAdd(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body = response.body, request.method != .HEAD, request.method != .CONNECT {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in closeAfterReply(channel) }
    }

    /// A request the parser treats as an upgrade: an `Upgrade` header and `upgrade` among the
    /// `Connection` options.
    static func asksForUpgrade(_ request: HTTPRequestHead) -> Bool {
        request.headers.contains(name: "Upgrade")
            && request.headers[canonicalForm: "Connection"].contains { $0.lowercased() == "upgrade" }
    }

    /// A malformed request: NIO's error handler (from `configureHTTPServerPipeline`) has answered
    /// 400 with `Connection: close`, but the parser may have merely stopped, leaving the
    /// connection open. End it.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error is HTTPParserError, !closing {
            closing = true
            deadlines.closing()
            logger.debug("REST API: malformed request: \(error)")
            closeAfterReply(context.channel)
        }
        context.fireErrorCaught(error)
    }

    static func isUnsafe(_ method: HTTPMethod) -> Bool {
        switch method {
        case .POST, .PUT, .PATCH, .DELETE: return true
        default: return false
        }
    }

    /// Wraps an unsafe route's handler in Patroni's access checks. Unknown routes (501) are not
    /// checked, as in Patroni where only the `do_*` handlers carry `@check_access`.
    private func guarded(_ handler: @escaping Router.AsyncHandler, request: HTTPRequestHead,
                         context: ChannelHandlerContext) -> Router.Outcome {
        let security = securityState.current.security
        let scope = AccessCheckScope.forRoute(method: request.method.rawValue,
                                              firstSegment: RequestTarget(request.uri).firstSegment)
        if scope == .unchecked { return .deferred(handler) }
        let access = AccessRequest(
            clientAddress: context.channel.remoteAddress?.ipAddress.flatMap(IPAddress.init),
            hasClientCertificate: (try? context.pipeline.syncOperations.nioSSL_peerCertificate()) != nil,
            authorization: request.headers.first(name: "Authorization"))
        guard security.needsMemberAddresses(scope) else {
            if let denial = security.denial(for: access, scope: scope) { return .immediate(denial) }
            return .deferred(handler)
        }
        // Members' api_url hosts may need DNS: resolve in the task, never on the event loop.
        let state = router.state
        return .deferred { target, body in
            let members = RESTSecurity.memberAddresses(state.current.clusterView)
            if let denial = security.denial(for: access, memberAddresses: members, scope: scope) { return denial }
            return await handler(target, body)
        }
    }

    private func write(_ response: APIResponse, for request: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = request.isKeepAlive
        context.write(wrapOutboundOut(.head(Self.responseHead(response, for: request))), promise: nil)
        if let body = response.body, request.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        deadlines.replySent()
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    private static func send(_ response: APIResponse, for request: HTTPRequestHead, on channel: Channel,
                             deadlines: ConnectionDeadlineHandler, logger: Logger) {
        guard channel.isActive else { return }
        channel.write(HTTPServerResponsePart.head(responseHead(response, for: request)), promise: nil)
        if let body = response.body, request.method != .HEAD {
            channel.write(HTTPServerResponsePart.body(.byteBuffer(body)), promise: nil)
        }
        deadlines.replySent()
        channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { result in
            if case .failure(let error) = result { logger.debug("REST API write failed: \(error)") }
            if !request.isKeepAlive { channel.close(promise: nil) }
        }
    }

    static func responseHead(_ response: APIResponse, for request: HTTPRequestHead) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        headers.reserveCapacity(4)
        headers.add(name: "Server", value: "Patroni/\(StazVersion.patroniCompatible)")
        if let contentType = response.contentType { headers.add(name: "Content-Type", value: contentType) }
        headers.add(name: "Content-Length", value: String(response.body?.readableBytes ?? 0))
        for (name, value) in response.extraHeaders { headers.add(name: name, value: value) }
        if request.version.major == 1 && request.version.minor == 0 && request.isKeepAlive {
            headers.add(name: "Connection", value: "keep-alive")
        }
        return HTTPResponseHead(version: request.version.major == 1 && request.version.minor == 0 ? .http1_0 : .http1_1,
                                status: response.status, headers: headers)
    }
}

/// A complete reply as bytes, with `Connection: close`, for replies sent below the HTTP codec
/// (where no request head may have been decoded yet).
func rawReply(_ response: APIResponse) -> ByteBuffer {
    var body = response.body ?? ByteBuffer()
    var text = "HTTP/1.1 \(response.status.code) \(response.status.reasonPhrase)\r\n"
    text += "Server: Patroni/\(StazVersion.patroniCompatible)\r\n"
    if let contentType = response.contentType { text += "Content-Type: \(contentType)\r\n" }
    text += "Content-Length: \(body.readableBytes)\r\nConnection: close\r\n\r\n"
    var buffer = ByteBuffer(string: text)
    buffer.writeBuffer(&body)
    return buffer
}

/// How long a connection that was answered and is being closed may still send: long enough for
/// the client to finish writing a request it had started (so it reads the reply instead of a
/// reset), short enough that closing connections never pile up.
let closeLingerTime = TimeAmount.seconds(2)

/// Ends a connection after a final reply without losing the reply. A plain close while the client
/// is still sending (the rest of an oversized body) makes the kernel answer with a reset, which
/// discards the reply before the client reads it. So: send FIN (half-close), keep reading and
/// dropping what still arrives, and close fully when the client closes or after `closeLingerTime`.
func closeAfterReply(_ channel: Channel) {
    guard channel.isActive else { return }
    channel.close(mode: .output).whenComplete { result in
        if case .failure = result {
            channel.close(promise: nil)
            return
        }
        channel.eventLoop.scheduleTask(in: closeLingerTime) { channel.close(promise: nil) }
    }
}
