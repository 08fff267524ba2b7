import Foundation
import Logging
import StazCore
import StazPostgres
import Synchronization

/// Runs `postgresql.callbacks.<event>` as `<cmd...> <event> <role> <scope>` (Patroni's `CallbackExecutor`):
/// in the background, one at a time — a new callback kills the running one and its process
/// group — and a hung one is killed after `timeout`. Never awaited by the HA loop.
actor CallbackRunner {
    private let scope: String
    private let logger: Logger
    private let timeout: Double
    /// pid of the callback running now (set from the spawn callback, read when replacing it).
    private let runningPID = PIDSlot()
    private var generation = 0

    init(scope: String, logger: Logger, timeout: Double = 600) {
        self.scope = scope; self.logger = logger; self.timeout = timeout
    }

    /// Starts `command` for `event` unless it is empty; returns at once.
    nonisolated func fire(_ command: String?, event: String, role: MemberRole) {
        guard let command, !ShellWords.split(command).isEmpty else { return }
        Task { await self.launch(command, event: event, role: role) }
    }

    private func launch(_ command: String, event: String, role: MemberRole) async {
        if let previous = runningPID.value.withLock({ $0 }) {
            logger.warning("killing the previous callback (pid \(previous)) to run \(event)")
            kill(-previous, SIGKILL)
        }
        generation += 1
        let mine = generation
        let words = ShellWords.split(command) + [event, role.rawValue, scope]
        let pidBox = runningPID
        logger.info("calling \(words.joined(separator: " "))")
        Task.detached { [logger, timeout] in
            do {
                let result = try await ProcessRunner.run(words[0], Array(words.dropFirst()),
                                                         environment: ProcessRunner.environment(cLocale: false),
                                                         timeout: timeout, started: { pid in pidBox.value.withLock { $0 = pid } })
                if result.timedOut {
                    logger.warning("callback \(event) did not finish within \(Int(timeout)) s and was killed")
                } else if result.exitCode != 0 {
                    logger.warning("callback \(event) exited with code \(result.exitCode)")
                }
            } catch {
                logger.error("could not run callback \(event): \(error)")
            }
            await self.finished(mine)
        }
    }

    private func finished(_ finishedGeneration: Int) {
        if finishedGeneration == generation { runningPID.value.withLock { $0 = nil } }
    }
}

/// A shareable slot for the running callback's pid.
final class PIDSlot: Sendable {
    let value = Mutex<pid_t?>(nil)
}

/// The blocking PostgreSQL hooks: `pre_promote` (its exit code decides) and `before_stop`
/// (exit code ignored), both bounded so a hung script cannot stall the loop forever.
enum Hooks {
    /// True when there is no script or it exited 0.
    static func run(_ command: String?, name: String, timeout: Double, logger: Logger) async -> Bool {
        guard let command else { return true }
        let words = ShellWords.split(command)
        guard let executable = words.first else { return true }
        logger.info("running \(name) script: \(command)")
        do {
            let result = try await ProcessRunner.run(executable, Array(words.dropFirst()),
                                                     environment: ProcessRunner.environment(cLocale: false), timeout: timeout)
            if result.timedOut {
                logger.error("\(name) script \(command) did not finish within \(Int(timeout)) s and was killed")
                return false
            }
            if result.exitCode != 0 {
                logger.error("\(name) script \(command) exited with code \(result.exitCode)")
                return false
            }
            return true
        } catch {
            logger.error("could not run \(name) script \(command): \(error)")
            return false
        }
    }
}
