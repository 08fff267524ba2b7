import Foundation
import Logging
import StazFence
import StazPostgres

/// Keeps a fencing guard process (StazPostgres/FenceGuard.swift, which holds the safety
/// argument) in step with the lease keeper's fence deadline: a guard runs, armed with that
/// deadline and the postmaster's identity, exactly while the keeper has a deadline; it is told
/// to stand down when the keeper has none, and to fence when the keeper fences.
/// Calls come from the keeper actor and the fence path; a lock keeps them in order.
final class FenceGuardFeeder: @unchecked Sendable {
    private let dataDirectory: String
    private let executable: String
    private let logger: Logger
    private let lock = NSLock()
    private var process: FenceGuardProcess?
    private var postmasters = PostmasterLookup()

    init(dataDirectory: String, logger: Logger, executable: String = FenceSystem.ownExecutable()) {
        self.dataDirectory = FenceSystem.canonicalPath(dataDirectory)
        self.executable = executable
        self.logger = logger
    }

    private var statePath: String { dataDirectory + "/" + FenceGuardState.fileName }

    /// The keeper's fence deadline changed (after every refresh, acquire, release, fence).
    func deadlineChanged(_ deadline: ContinuousClock.Instant?) {
        lock.lock(); defer { lock.unlock() }
        guard let deadline else {
            if let process {
                process.send(.standDown)
                process.closePipe()
                self.process = nil
            }
            return
        }
        let bootNow = FenceSystem.bootNow()  // read before the local clock: never a later deadline
        let boot = FenceClock.bootDeadline(bootNow: bootNow, remaining: deadline - ContinuousClock.now)
        let message = FenceGuardMessage.arm(deadline: boot, target: postmasters.postmaster(of: dataDirectory))
        if let process, !process.hasExited, process.send(message) { return }
        // No guard yet, or it exited (it fences only once): start one.
        process?.closePipe()
        process = nil
        do {
            let started = try FenceGuardProcess.spawn(stazExecutable: executable, dataDirectory: dataDirectory)
            if started.send(message) {
                process = started
            } else {
                logger.error("fence guard \(started.pid) did not take its first deadline")
                started.closePipe()
            }
        } catch {
            logger.error("could not start the fence guard: \(error)")
        }
    }

    /// The keeper fences: the guard kills the postmaster's whole process tree too, then exits.
    func fenceNow() {
        lock.lock(); defer { lock.unlock() }
        guard let process else { return }
        process.send(.fenceNow)
        process.closePipe()
        self.process = nil
    }

    /// staz exits leaving PostgreSQL running on purpose (paused cluster): no fence after it.
    func standDown() { deadlineChanged(nil) }

    /// A guard a previous staz process left running for this data directory (it died while
    /// leading), with its deadline as a local instant; nil when there is none to take over.
    func previousGuard() -> (state: FenceGuardState, deadline: ContinuousClock.Instant)? {
        guard let text = try? String(contentsOfFile: statePath, encoding: .utf8) else { return nil }
        let state: FenceGuardState
        do { state = try FenceGuardState.parse(text) } catch {
            logger.warning("ignoring \(statePath): \(error)")
            return nil
        }
        guard state.belongs(toBoot: FenceSystem.bootID(), dataDirectory: dataDirectory) else {
            logger.info("ignoring \(statePath): written on another machine, before a reboot or for another directory")
            return nil
        }
        let localNow = ContinuousClock.now  // read before the boot clock: never a later deadline
        let remaining = FenceClock.remaining(until: state.deadline, bootNow: FenceSystem.bootNow())
        let alive = FenceSystem.isGuard(pid: state.guardPID, dataDirectory: dataDirectory)
        guard alive || remaining > .zero else { return nil }
        if FenceSystem.postmaster(of: dataDirectory) == nil {
            // PostgreSQL died with the old staz (node crash): nothing to fence. The old guard
            // goes now, before our HA loop can start a new postmaster it would then kill.
            if alive {
                kill(state.guardPID, SIGTERM)
                logger.info("retired the previous fence guard (pid \(state.guardPID)): PostgreSQL is not running")
            }
            return nil
        }
        let status = alive ? "running" : "gone"
        logger.warning("a fence guard of the previous staz process (pid \(state.guardPID), \(status)) fences PostgreSQL in \(remaining): taking over its deadline")
        return (state, localNow + remaining)
    }

    /// Retires the previous guard once ours has recorded itself (so one guard always holds the
    /// deadline), after checking the pid still is that guard.
    func retire(_ previous: FenceGuardState) async {
        // Without a guard of ours (the inherited deadline already passed and our keeper fenced)
        // the old guard is left to finish its own fence.
        guard let ours = lock.withLock({ process?.pid }) else { return }
        let until = ContinuousClock.now + .seconds(3)
        while true {
            if let text = try? String(contentsOfFile: statePath, encoding: .utf8),
               let state = try? FenceGuardState.parse(text), state.guardPID == ours { break }
            guard ContinuousClock.now < until else {
                logger.error("fence guard \(ours) did not record itself; the previous guard (pid \(previous.guardPID)) stays")
                return
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        guard FenceSystem.isGuard(pid: previous.guardPID, dataDirectory: dataDirectory) else { return }
        kill(previous.guardPID, SIGTERM)
        logger.info("retired the previous fence guard (pid \(previous.guardPID)); guard \(ours) holds the deadline now")
    }
}
