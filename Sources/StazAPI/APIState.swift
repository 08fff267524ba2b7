import NIOCore
import StazCore
import Synchronization

/// Thread-safe holder of the current `NodeSnapshot`. The status JSON body is rendered once per
/// update, so health checks (hundreds per second from load balancers) only copy a reference.
public final class APIState: Sendable {
    /// A snapshot together with its pre-rendered status body.
    public struct Rendered: Sendable {
        public let snapshot: NodeSnapshot
        public let statusBody: ByteBuffer
    }

    private let box: Mutex<Rendered>

    public init(_ snapshot: NodeSnapshot) {
        box = Mutex(APIState.render(snapshot))
    }

    public var current: NodeSnapshot { box.withLock { $0.snapshot } }
    public var rendered: Rendered { box.withLock { $0 } }

    /// Applies `body` to the snapshot and re-renders the status JSON when it changed. Updates are
    /// rare (a few per HA cycle), so rendering under the lock costs readers next to nothing.
    public func update(_ body: (inout NodeSnapshot) -> Void) {
        box.withLock { rendered in
            var snapshot = rendered.snapshot
            body(&snapshot)
            if snapshot != rendered.snapshot { rendered = APIState.render(snapshot) }
        }
    }

    static func render(_ snapshot: NodeSnapshot) -> Rendered {
        let text = JSONValue.object(snapshot.statusJSON).pythonJSONString
        var buffer = ByteBufferAllocator().buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        return Rendered(snapshot: snapshot, statusBody: buffer)
    }
}
