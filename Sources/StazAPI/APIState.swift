import Foundation
import NIOCore
import StazCore
import Synchronization
import StazSystem

/// Thread-safe holder of the current `NodeSnapshot`. The status JSON body is rendered at most
/// once per update, by the first request that needs it, so health checks (hundreds per second
/// from load balancers) only copy a reference. A snapshot changes every cycle (`dcs_last_seen`),
/// and load balancers' `OPTIONS` checks need no body: rendering on update was work for nobody.
public final class APIState: Sendable {
    /// A snapshot together with its rendered status body.
    public struct Rendered: Sendable {
        public let snapshot: NodeSnapshot
        public let statusBody: ByteBuffer
    }

    private struct Cached {
        var snapshot: NodeSnapshot
        /// nil until a request asks for it after an update.
        var statusBody: ByteBuffer?
    }

    private let box: Mutex<Cached>
    /// The last postmaster liveness probe: health checks come in hundreds per second, the probe
    /// runs at most every `livenessProbeInterval`.
    private let lastProbe = Mutex<(pid: Int32, at: ContinuousClock.Instant, alive: Bool)?>(nil)
    /// The postmaster probed, followed by its pidfd: a probe is then one `poll` instead of
    /// `kill` and a read of /proc.
    private let probedPostmaster = ConfirmedProcess()
    static let livenessProbeInterval: Duration = .milliseconds(100)

    public init(_ snapshot: NodeSnapshot) {
        box = Mutex(Cached(snapshot: snapshot, statusBody: nil))
    }

    public var current: NodeSnapshot { box.withLock { $0.snapshot } }
    public var rendered: Rendered {
        box.withLock { cached in
            if let body = cached.statusBody { return Rendered(snapshot: cached.snapshot, statusBody: body) }
            let rendered = APIState.render(cached.snapshot)
            cached.statusBody = rendered.statusBody
            return rendered
        }
    }

    /// `current`, unless its postmaster died since the last HA cycle: then what a cycle would
    /// report for a server that is gone (stopped, a primary demoted). A health check must not
    /// send clients to a dead server for up to `loop_wait` (Patroni asks PostgreSQL on every
    /// request; here one `poll` on the postmaster's pidfd, at most every 100 ms).
    public var live: NodeSnapshot { APIState.withoutDeadPostmaster(current, alive: postmasterAlive) }

    /// `rendered` corrected like `live` (rendered again only when the server died).
    public var liveRendered: Rendered {
        let rendered = self.rendered
        let checked = APIState.withoutDeadPostmaster(rendered.snapshot, alive: postmasterAlive)
        return checked == rendered.snapshot ? rendered : APIState.render(checked)
    }

    /// `processAlive`, probed at most every `livenessProbeInterval` per pid.
    func postmasterAlive(_ pid: Int32) -> Bool {
        let now = ContinuousClock.now
        return lastProbe.withLock { last in
            if let last, last.pid == pid, now - last.at < APIState.livenessProbeInterval { return last.alive }
            let alive = probedPostmaster.isRunning(pid, confirm: APIState.processAlive)
            last = (pid, now, alive)
            return alive
        }
    }

    static func withoutDeadPostmaster(_ snapshot: NodeSnapshot, alive: (Int32) -> Bool) -> NodeSnapshot {
        guard let pid = snapshot.postmasterPID, snapshot.state != .stopped, !alive(pid) else { return snapshot }
        var stopped = snapshot
        stopped.state = .stopped
        if stopped.role == .primary { stopped.role = .demoted }
        stopped.xlog = nil
        stopped.replicationState = nil
        stopped.timeline = nil
        stopped.postmasterStartTime = nil
        stopped.postmasterPID = nil
        return stopped
    }

    /// Running: neither gone nor a zombie (`ProcessState`).
    static func processAlive(_ pid: Int32) -> Bool { ProcessState.isAlive(pid) }

    /// Applies `body` to the snapshot and drops the rendered status JSON, which the next
    /// request that needs it renders (under the lock, once).
    public func update(_ body: (inout NodeSnapshot) -> Void) {
        box.withLock { cached in
            // Changed in place, not copied and compared: most cycles change something (the
            // DCS request's duration, `dcs_last_seen`), and rendering is deferred anyway.
            body(&cached.snapshot)
            cached.statusBody = nil
        }
    }

    static func render(_ snapshot: NodeSnapshot) -> Rendered {
        let text = JSONValue.object(snapshot.statusJSON).pythonJSONString
        var buffer = ByteBufferAllocator().buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        return Rendered(snapshot: snapshot, statusBody: buffer)
    }
}
