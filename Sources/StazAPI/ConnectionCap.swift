import Logging
import NIOCore
import Synchronization

/// Counts the REST API's open connections across event loops.
final class ConnectionCounter: Sendable {
    private let open = Atomic<Int>(0)
    var current: Int { open.load(ordering: .relaxed) }
    /// Takes a place if fewer than `cap` are open.
    func tryAcquire(cap: Int) -> Bool {
        var seen = open.load(ordering: .relaxed)
        while seen < cap {
            let (exchanged, original) = open.compareExchange(expected: seen, desired: seen + 1, ordering: .relaxed)
            if exchanged { return true }
            seen = original
        }
        return false
    }
    func release() { open.subtract(1, ordering: .relaxed) }
}

/// On the listening channel, ahead of the bootstrap's accept handler: a connection accepted
/// while `cap` are already open is closed at once, before any handler is set up for it, and
/// the first refusal in each `warningInterval` is logged as one WARNING naming the cap (a flood
/// of connections must not become a flood of log lines). Used on the listening channel's event
/// loop only.
final class ConnectionCapHandler: ChannelInboundHandler {
    typealias InboundIn = Channel
    typealias InboundOut = Channel

    static let warningInterval = TimeAmount.seconds(60)

    private let counter: ConnectionCounter
    private let cap: @Sendable () -> Int
    private let logger: Logger
    private var lastWarning: NIODeadline?
    private var refusedSinceWarning = 0

    init(counter: ConnectionCounter, cap: @escaping @Sendable () -> Int, logger: Logger) {
        self.counter = counter; self.cap = cap; self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let accepted = unwrapInboundIn(data)
        let cap = self.cap()
        guard counter.tryAcquire(cap: cap) else {
            accepted.close(promise: nil)
            refused(cap: cap)
            return
        }
        let counter = self.counter
        accepted.closeFuture.whenComplete { _ in counter.release() }
        context.fireChannelRead(data)
    }

    private func refused(cap: Int) {
        refusedSinceWarning += 1
        let now = NIODeadline.now()
        if let lastWarning, now - lastWarning < Self.warningInterval { return }
        let earlier = refusedSinceWarning - 1
        let note = earlier > 0 && lastWarning != nil
            ? " (\(earlier) more refused since the last warning)" : ""
        logger.warning("REST API connection limit reached (restapi.max_connections: \(cap)): closing new connections at once\(note)")
        lastWarning = now
        refusedSinceWarning = 0
    }
}
