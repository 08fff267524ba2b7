#if canImport(Glibc)
import Glibc
#endif
import StazSystem

/// The fencing guard: a small process (`staz-fence-guard DATA_DIR`) that staz starts while it
/// holds the leader lock, so that PostgreSQL stops taking writes at the lease's fence deadline
/// even when staz itself cannot act.
///
/// Safety argument. The lease keeper computes one fence deadline `D = sent + ttl − margin`
/// (LeaseKeeper.fenceDeadline; `sent` is when the last confirmed refresh was sent, so etcd
/// keeps our lock until at least `sent + ttl`). While staz runs, the keeper stops PostgreSQL at
/// D unless a refresh moved D. That fails if staz dies (kill -9, crash, OOM) or stops running
/// (SIGSTOP, a stalled VM thread) while the postmaster it started keeps serving as a primary:
/// the lock expires, a replica promotes, and two primaries accept writes.
/// - After every refresh staz writes the new D (CLOCK_BOOTTIME, see `BootNanoseconds`) and the
///   postmaster's identity (pid + start time) into this process's stdin. The guard never
///   extends D on its own: only a message from staz moves it.
/// - If D passes before a newer D arrives (staz frozen or slow) or staz's end of the pipe closes
///   (staz died) and D then passes, the guard sends SIGKILL to the postmaster and every process
///   below it. SIGKILL needs no cooperation from PostgreSQL and also takes effect on stopped
///   processes, so no backend can acknowledge a commit after D, and D is at least `margin`
///   before any other member can hold the lock.
/// - staz tells the guard to stand down (exit without fencing) only while staz is alive and
///   manages PostgreSQL itself: after it released the lock or learned it lost it, in which case
///   its HA loop demotes PostgreSQL, as before the guard existed.
/// - A restarted staz must not let the old guard kill a postmaster it legitimately leads again,
///   nor drop the old deadline. The guard writes `<data dir>/staz-fence-guard` (its pid, the
///   boot id, the data directory, D and the postmaster) after every update; a new staz adopts D
///   as its keeper's fence deadline before doing anything else, starts its own guard (fed from
///   that deadline), waits until the new guard recorded itself, and only then retires the old
///   one (SIGTERM, after checking by its command line that the pid really is that guard). At
///   every moment at least one guard holds a deadline no later than D, until the new staz
///   confirms the lock and D moves on.
/// - Limits: the guard is a separate process but not a separate machine. A whole-VM pause
///   freezes it too; on resume, PostgreSQL and the guard race (a hardware or softdog watchdog
///   covers that case, as with Patroni). The guard itself can be killed (same OS user).
public enum FenceGuard {
    /// Runs the guard until it stood down, fenced, or staz exited with nothing armed; returns
    /// the process exit status. stdin is staz's pipe. SIGTERM keeps its default action: that is
    /// how a newer staz retires this guard.
    public static func run(dataDirectory: String, logger: FenceGuardLog = FenceGuardLog()) -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        var guardian = GuardLoop(dataDirectory: FenceSystem.canonicalPath(dataDirectory), logger: logger)
        return guardian.run()
    }
}

private struct GuardLoop {
    let dataDirectory: String
    let logger: FenceGuardLog
    let bootID = FenceSystem.bootID()
    var deadline: BootNanoseconds?
    var target: FenceTarget?
    var pipeOpen = true
    var pending: [UInt8] = []

    init(dataDirectory: String, logger: FenceGuardLog) {
        self.dataDirectory = dataDirectory
        self.logger = logger
    }

    var statePath: String { dataDirectory + "/" + FenceGuardState.fileName }

    mutating func run() -> Int32 {
        logger.info("fence guard \(getpid()) started for \(dataDirectory)")
        while true {
            switch FenceGuardStep.next(deadline: deadline, pipeOpen: pipeOpen, bootNow: FenceSystem.bootNow()) {
            case .exit:
                logger.info("fence guard \(getpid()): staz exited while not leading, nothing to fence")
                removeState()
                return 0
            case .fence:
                logger.warning("fence guard \(getpid()): the fence deadline passed without a lease renewal from staz")
                fence()
                return 0
            case .wait(let milliseconds):
                if pipeOpen {
                    if let finished = readMessages(waiting: milliseconds) { return finished }
                } else {
                    _ = poll(nil, 0, milliseconds)
                }
            }
        }
    }

    /// Waits for input at most `milliseconds`, applies every complete line; returns an exit
    /// status when a message ended the guard.
    mutating func readMessages(waiting milliseconds: Int32) -> Int32? {
        var descriptor = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, milliseconds)
        if ready <= 0 { return nil }  // timeout, or EINTR: the loop re-evaluates
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(0, &buffer, buffer.count)
        if count < 0 && (errno == EINTR || errno == EAGAIN) { return nil }
        if count <= 0 {
            pipeOpen = false
            if deadline != nil {
                logger.warning("fence guard \(getpid()): staz exited while leading; PostgreSQL will be fenced at the lease deadline unless a restarted staz takes over")
            }
            return nil
        }
        pending += buffer[0..<count]
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: pending[..<newline], as: UTF8.self)
            pending.removeSubrange(...newline)
            do {
                switch try FenceGuardMessage.parse(Substring(line)) {
                case .arm(let newDeadline, let newTarget):
                    deadline = newDeadline
                    target = newTarget
                    writeState()
                case .fenceNow:
                    logger.warning("fence guard \(getpid()): staz asks to fence now")
                    fence()
                    return 0
                case .standDown:
                    logger.info("fence guard \(getpid()): standing down (staz no longer leads)")
                    removeState()
                    return 0
                }
            } catch {
                logger.error("\(error)")
            }
        }
        return nil
    }

    func fence() {
        defer { removeState() }
        var victim = target.flatMap { FenceSystem.isRunning($0) ? $0.pid : nil }
        if victim == nil {
            // The postmaster was restarted since the last message (or was not up yet): the one
            // now serving this data directory is the one to stop.
            victim = FenceSystem.postmaster(of: dataDirectory)?.pid
        }
        guard let victim else {
            logger.info("fence guard \(getpid()): PostgreSQL is not running, nothing to fence")
            return
        }
        let killed = FenceSystem.killTree(victim)
        logger.warning("fence guard \(getpid()): sent SIGKILL to postmaster \(victim) and \(killed - 1) processes below it")
    }

    func writeState() {
        guard let deadline else { return }
        let state = FenceGuardState(guardPID: getpid(), bootID: bootID, dataDirectory: dataDirectory,
                                    deadline: deadline, target: target)
        do {
            try StateFile.replace(statePath, with: state.text)
        } catch {
            logger.warning("fence guard \(getpid()): could not write \(statePath): \(error)")
        }
    }

    /// Removes the state file if it still describes this guard (a successor may own it).
    func removeState() {
        guard let text = SmallFile.readWhole(statePath),
              let state = try? FenceGuardState.parse(text), state.guardPID == getpid() else { return }
        unlink(statePath)
    }
}
