import NIOCore
import NIOHTTP1

/// The first handler of a plain-HTTP connection. A load balancer opens a connection per health
/// check (HAProxy: two a second per member), and NIO's HTTP codec, the pipelining handler, the
/// deadline handler and the request handler were most of what such a check cost in user space.
/// A check that arrives whole in the first read (`SimpleRequest`) and has an answer in memory
/// is answered here and the connection closed; for anything else the full pipeline is put in
/// place behind this handler, which hands it the bytes read and steps aside.
///
/// Until the first read it closes a connection that stays silent for the idle timeout, as the
/// deadline handler would.
final class HealthCheckFastPath: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let router: Router
    private let idleTimeout: TimeAmount
    /// Adds the deadline handler, NIO's HTTP codec and the request handler.
    private let installFullPipeline: (ChannelPipeline.SynchronousOperations) throws -> Void
    private var silenceTimer: Scheduled<Void>?
    private enum Stage { case awaitingRequest, answered, handedOver }
    private var stage = Stage.awaitingRequest

    init(router: Router, idleTimeout: TimeAmount,
         installFullPipeline: @escaping (ChannelPipeline.SynchronousOperations) throws -> Void) {
        self.router = router; self.idleTimeout = idleTimeout; self.installFullPipeline = installFullPipeline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armSilenceTimer(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        armSilenceTimer(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        silenceTimer?.cancel()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { silenceTimer?.cancel() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch stage {
        case .awaitingRequest: break
        case .answered: return  // closing: whatever else arrives is dropped
        case .handedOver: return context.fireChannelRead(data)
        }
        silenceTimer?.cancel()
        silenceTimer = nil
        if let request = SimpleRequest.parse(unwrapInboundIn(data)),
           case .immediate(let response) = router.route(method: request.head.method, uri: request.head.uri) {
            stage = .answered
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(Self.encode(response, for: request.head))).whenComplete { _ in
                channel.close(promise: nil)
            }
            return
        }
        stage = .handedOver
        do {
            try installFullPipeline(context.pipeline.syncOperations)
        } catch {
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func armSilenceTimer(_ context: ChannelHandlerContext) {
        guard silenceTimer == nil, stage == .awaitingRequest else { return }
        let channel = context.channel
        silenceTimer = context.eventLoop.scheduleTask(in: idleTimeout) { channel.close(promise: nil) }
    }

    /// The reply as NIO's response encoder writes it, with the head the request handler makes.
    static func encode(_ response: APIResponse, for request: HTTPRequestHead) -> ByteBuffer {
        let head = HTTPRequestHandler.responseHead(response, for: request)
        var text = "HTTP/\(head.version.major).\(head.version.minor) \(head.status.code) \(head.status.reasonPhrase)\r\n"
        for (name, value) in head.headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        var buffer = ByteBuffer(string: text)
        if var body = response.body, request.method != .HEAD { buffer.writeBuffer(&body) }
        return buffer
    }
}
