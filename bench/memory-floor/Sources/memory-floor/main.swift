// Answers every HTTP request with a small JSON body on one event-loop thread, and wakes once a
// second like an HA loop: what any NIO-based daemon holds before it does any work of its own.
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

final class SmallJSONAnswer: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        let body = context.channel.allocator.buffer(string: #"{"state":"running","role":"primary"}"#)
        var head = HTTPResponseHead(version: .http1_1, status: .ok)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

guard CommandLine.arguments.count == 2, let port = Int(CommandLine.arguments[1]), (1...65535).contains(port) else {
    print("usage: memory-floor PORT")
    exit(2)
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
_ = try await ServerBootstrap(group: group)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline().flatMap { channel.pipeline.addHandler(SmallJSONAnswer()) }
    }
    .bind(host: "127.0.0.1", port: port).get()
print("listening on 127.0.0.1:\(port)")
while true {
    try await Task.sleep(for: .seconds(1))
}
