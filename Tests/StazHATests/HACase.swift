import Testing
import StazCore
@testable import StazHA

/// What the DCS answers to the conditional writes a plan asks for (selects the branch of
/// `acquireLock` / `updateLock` / `raceInitialize`).
struct DCSAnswers: Sendable {
    var lockAcquired = true
    var lockUpdated = true
    var initializeWon = true
    /// Every member accepted the `POST /failsafe` round (failsafe mode, DCS unreachable).
    var failsafeConfirmed = true
    /// A required watchdog could be armed.
    var watchdogArmed = true

    static let yes = DCSAnswers()
    static let lockNotAcquired = DCSAnswers(lockAcquired: false)
    static let lockNotUpdated = DCSAnswers(lockUpdated: false)
    static let initializeLost = DCSAnswers(initializeWon: false)
    static let failsafeRefused = DCSAnswers(failsafeConfirmed: false)
    static let watchdogRefused = DCSAnswers(watchdogArmed: false)
}

/// Placeholders `HAPlan.resolved` leaves where a branching step was.
let acquireLock = HAStep.acquireLock(then: HAPlan(""), otherwise: HAPlan(""))
let updateLock = HAStep.updateLock(then: HAPlan(""), otherwise: HAPlan(""))
let raceInitialize = HAStep.raceInitialize(then: HAPlan(""), otherwise: HAPlan(""))
let armWatchdog = HAStep.armWatchdog(then: HAPlan(""), otherwise: HAPlan(""))

/// One row of a decision table: given this input and these DCS answers, the plan flattens to
/// exactly these steps and ends with this heartbeat line (Patroni's wording).
struct HACase: Sendable, CustomTestStringConvertible {
    let name: String
    let input: HAInput
    let answers: DCSAnswers
    /// nil: steps are not pinned down by Patroni for this row; only the message is checked
    /// (plus whatever property the table's test adds).
    let steps: [HAStep]?
    let message: String
    /// Lines the plan logs besides the heartbeat (`.logInfo`/`.logWarning`); nil: not checked.
    let logs: [String]?

    init(_ name: String, _ input: HAInput, _ answers: DCSAnswers = .yes, steps: [HAStep]?, message: String, logs: [String]? = nil) {
        self.name = name; self.input = input; self.answers = answers; self.steps = steps; self.message = message; self.logs = logs
    }

    var testDescription: String { name }

    /// The flattened plan without its log lines (rows list those separately in `logs`).
    var resolvedPlan: (steps: [HAStep], message: String) {
        let plan = resolvedWithLogs
        return (plan.steps.filter { $0.logLine == nil }, plan.message)
    }

    var resolvedWithLogs: (steps: [HAStep], message: String) {
        decide(input).resolved(lockAcquired: answers.lockAcquired, lockUpdated: answers.lockUpdated,
                               initializeWon: answers.initializeWon, failsafeConfirmed: answers.failsafeConfirmed,
                               watchdogArmed: answers.watchdogArmed)
    }

    /// Runs the decision and compares steps, message and log lines with the row.
    func check(sourceLocation: SourceLocation = #_sourceLocation) {
        let plan = resolvedPlan
        if let steps {
            #expect(plan.steps == steps, "\(name): steps", sourceLocation: sourceLocation)
        }
        #expect(plan.message == message, "\(name): heartbeat message", sourceLocation: sourceLocation)
        if let logs {
            #expect(resolvedWithLogs.steps.compactMap(\.logLine) == logs, "\(name): log lines", sourceLocation: sourceLocation)
        }
    }
}

extension HAStep {
    var logLine: String? {
        switch self {
        case .logInfo(let line), .logWarning(let line): return line
        default: return nil
        }
    }

    /// Steps that change who is primary or start/replace PostgreSQL; pause mode forbids them.
    var changesRoleOrStartsPostgres: Bool {
        switch self {
        case .acquireLock, .promote, .demote, .startAsPrimary, .bootstrapNewCluster, .cloneFrom, .raceInitialize:
            return true
        default:
            return false
        }
    }
}
