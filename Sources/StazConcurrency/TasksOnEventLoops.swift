import NIOCore
import NIOPosix

/// Runs Swift's tasks on NIO's shared event loops instead of Swift's own thread pool.
///
/// Every PostgreSQL reply, etcd answer and timer arrives on an event loop. With separate
/// pools, each one then wakes a pool thread to resume the task that waits for it: on an idle
/// member at `loop_wait` 1 those hand-overs were most of the remaining context switches
/// (about 1,600 per 30 s on one member, against about 400 with this). On the event loops, the
/// task resumes on the thread that read the reply.
///
/// The price is that a task must not block, or it holds sockets as well. The daemon's
/// blocking calls stay off these loops: file writes that fsync and the removal of a data
/// directory go through `BlockingCalls` to NIO's thread pool, log lines to their writer
/// thread, and a child's exit is noticed through its pidfd (`ChildExit` in StazPostgres).
public enum TasksOnEventLoops {
    /// Installs the event loops as Swift's global executor, before the daemon starts any task.
    /// Returns false when the runtime offers no hook for it: tasks then stay on Swift's pool.
    public static func install() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
