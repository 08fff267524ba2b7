import Logging
import NIOCore

/// Closes a REST connection that sits idle between requests for `idleTimeout`, or whose request
/// is not complete `requestTimeout` after its first byte arrived (a stalled or deliberately slow
/// client: slowloris). It sits between TLS and the HTTP decoder, so it sees the first byte of a
/// request long before the decoder has a whole head; `HTTPRequestHandler` tells it when a request
/// is complete (no limit while the reply is being prepared, however long an operation takes) and
/// when the reply is written. Used on the channel's event loop only.
///
/// It also reads the first line of a request that starts on an idle connection: one without an
/// HTTP version (HTTP/0.9, `GET /`) is answered 400 and the connection closed at once. NIO's
/// parser would take it for the start of a request and wait for header lines that never come.
///
/// One timer per connection, re-armed lazily: changing phase only moves `deadline`, and the
/// timer, when it fires, checks the deadline and schedules itself again. Cancelling and
/// scheduling a task on every request would cost a search of the event loop's timer heap per
/// request (thousands of keep-alive health checks a second).
final class ConnectionDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Phase { case idle, receiving, processing, closing }

    private let idleTimeout: TimeAmount
    private let requestTimeout: TimeAmount
    private let logger: Logger
    private(set) var phase = Phase.idle
    private var deadline = NIODeadline.distantFuture
    private var timer: Scheduled<Void>?
    private var timerFires = NIODeadline.distantFuture
    /// Bytes arrived while a reply was being prepared: the next (pipelined) request has begun.
    private var receivedWhileProcessing = false
    private var requestLine = RequestLineCheck()
    private var context: ChannelHandlerContext?

    init(idleTimeout: TimeAmount, requestTimeout: TimeAmount, logger: Logger) {
        self.idleTimeout = idleTimeout; self.requestTimeout = requestTimeout; self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { enter(.idle) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { stop() }

    func channelActive(context: ChannelHandlerContext) {
        if timer == nil && phase == .idle { enter(.idle) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .closing: return  // answered and closing: nothing more is parsed
        case .idle:
            enter(.receiving)
            requestLine = RequestLineCheck()
        case .processing: receivedWhileProcessing = true
        case .receiving: break
        }
        if phase == .receiving && requestLine.feed(unwrapInboundIn(data)) == .noVersion {
            return rejectRequestWithoutVersion(context: context)
        }
        context.fireChannelRead(data)
    }

    private func rejectRequestWithoutVersion(context: ChannelHandlerContext) {
        let client = context.channel.remoteAddress.map { "\($0)" } ?? "unknown client"
        logger.debug("REST API: request line without an HTTP version from \(client), answered 400")
        closing()
        let reply = APIResponse.httpError(400, message: "Bad request version: HTTP/0.9 is not supported")
        context.writeAndFlush(wrapOutboundOut(rawReply(reply)), promise: nil)
        closeAfterReply(context.channel)
    }

    /// A request head was decoded (possibly one that was pipelined behind the last one).
    func requestStarted() {
        if phase == .idle || phase == .processing { enter(.receiving) }
    }

    /// The whole request is in: no limit while the reply is being prepared.
    func requestComplete() {
        if phase != .closing { enter(.processing) }
    }

    /// The reply's end is being written: the connection is idle again, unless the client
    /// already sent part of its next request.
    func replySent() {
        guard phase != .closing else { return }
        enter(receivedWhileProcessing ? .receiving : .idle)
    }

    /// The connection is being closed after a final reply: drop whatever else arrives.
    func closing() {
        phase = .closing
        timer?.cancel()
        timer = nil
    }

    private func stop() {
        closing()
        context = nil
    }

    private func enter(_ next: Phase) {
        phase = next
        receivedWhileProcessing = false
        // Only a request starting on an idle connection has its first line read (channelRead
        // starts a new check); a pipelined one's bytes have already gone to the parser.
        requestLine = .done
        switch next {
        case .idle: arm(.now() + idleTimeout)
        case .receiving: arm(.now() + requestTimeout)
        case .processing, .closing: deadline = .distantFuture
        }
    }

    private func arm(_ newDeadline: NIODeadline) {
        deadline = newDeadline
        if timer != nil && timerFires <= newDeadline { return }
        timer?.cancel()
        schedule(now: .now())
    }

    /// Wakes at the deadline, or after `requestTimeout` at the latest: a request starting
    /// while the connection is idle then never needs the timer moved earlier.
    private func schedule(now: NIODeadline) {
        guard let context else { return }
        let fires = min(deadline, now + requestTimeout)
        timerFires = fires
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: fires) { loopBound.value.timerFired() }
    }

    private func timerFired() {
        timer = nil
        guard let context, phase == .idle || phase == .receiving else { return }
        let now = NIODeadline.now()
        guard now >= deadline else { return schedule(now: now) }
        let client = context.channel.remoteAddress.map { "\($0)" } ?? "unknown client"
        if phase == .idle {
            logger.debug("REST API: closing connection from \(client), idle for \(Self.seconds(idleTimeout))")
            closing()
            context.close(promise: nil)
        } else {
            logger.debug("REST API: closing connection from \(client), request not complete after \(Self.seconds(requestTimeout))")
            closing()
            let timeout = APIResponse.httpError(408, message: "Request not complete within \(Self.seconds(requestTimeout))")
            context.writeAndFlush(wrapOutboundOut(rawReply(timeout)), promise: nil)
            closeAfterReply(context.channel)
        }
    }

    static func seconds(_ amount: TimeAmount) -> String {
        let value = Double(amount.nanoseconds) / 1e9
        return value.rounded() == value ? "\(Int(value)) s" : "\(value) s"
    }
}

/// Reads a request's first line as it arrives and tells whether it carries an HTTP version:
/// `METHOD SP target SP HTTP/x.y` has two spaces, HTTP/0.9's `GET /path` one (a target never
/// contains a space). Empty lines before a request are skipped, as RFC 9112 allows.
struct RequestLineCheck {
    enum Verdict { case undecided, http1, noVersion }

    /// Longer lines are left to the HTTP parser and its own limits.
    static let maxLineLength = 8192

    private(set) var verdict = Verdict.undecided
    private var length = 0
    private var spaces = 0

    /// A check with nothing left to decide.
    static var done: RequestLineCheck {
        var check = RequestLineCheck()
        check.verdict = .http1
        return check
    }

    mutating func feed(_ buffer: ByteBuffer) -> Verdict {
        guard verdict == .undecided else { return verdict }
        for byte in buffer.readableBytesView {
            switch byte {
            case UInt8(ascii: "\n"):
                if length == 0 { continue }
                verdict = spaces >= 2 ? .http1 : .noVersion
                return verdict
            case UInt8(ascii: "\r"):
                continue
            case UInt8(ascii: " "):
                spaces += 1
            default:
                break
            }
            length += 1
            if length > Self.maxLineLength {
                verdict = .http1
                return verdict
            }
        }
        return verdict
    }
}
