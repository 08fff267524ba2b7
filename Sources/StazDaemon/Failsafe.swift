import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import StazAPI
import StazConcurrency
import StazConfig
import StazCore
import StazHA
import Synchronization

// DCS failsafe mode (`failsafe_mode: true`, Patroni's `Failsafe` in patroni/ha.py). The decision lives in StazHA
// (`Failsafe.swift` there); this file does the I/O: the leader writes the `failsafe` key and,
// when the DCS is unreachable, asks every listed member to confirm it (`POST /failsafe`); a
// member answering that request remembers the leader for `ttl` (`FailsafeMemory`).

/// What a member promised by answering "Accepted" to `POST /failsafe`, shared by the REST
/// handler and the HA loop through a lock, never through the loop's actor: the answer must not
/// wait for a slow cycle (the leader gives up after 2 s and demotes).
final class FailsafeMemory: Sendable {
    struct Leader: Sendable, Equatable {
        var name: String
        var apiURL: String
        var connURL: String
        var receivedAt: ContinuousClock.Instant
        /// The leader's slot positions sent with its last announcement (replicas advance their
        /// copies of permanent slots to them while the DCS is unreachable).
        var slots: JSONObject = JSONObject()
    }

    enum Answer: Sendable, Equatable {
        case runningAsLeader
        /// Our WAL position (replica: max(receive, replay)) for the `lsn` header.
        case accepted(lsn: Int64?)
    }

    private struct State {
        var ttl: Duration = .seconds(30)
        /// PostgreSQL runs as a primary, or the lease keeper holds the leader lock.
        var leading = false
        /// Between "no failsafe leader, so race" and the end of that race.
        var claiming = false
        var walPosition: Int64?
        var leader: Leader?
    }

    private let box = Mutex(State())
    /// Where an accepted promise is also written, so a restarted staz keeps it (FailsafePromise).
    private let promiseFile: FailsafePromiseFile?

    init(promiseFile: FailsafePromiseFile? = nil) { self.promiseFile = promiseFile }

    /// `POST /failsafe`. A member that leads, or is racing to, refuses: otherwise the caller would
    /// count on a promise this member is about to break. Accepting and racing exclude each
    /// other under the lock, which is what makes the leader's extended fence deadline safe.
    func receive(_ request: FailsafeRequest, now: ContinuousClock.Instant = .now) -> Answer {
        let (answer, ttl) = box.withLock { state -> (Answer, Duration) in
            if state.leading || state.claiming { return (.runningAsLeader, state.ttl) }
            state.leader = Leader(name: request.name, apiURL: request.apiURL, connURL: request.connURL, receivedAt: now,
                                  slots: request.slots)
            return (.accepted(lsn: state.walPosition), state.ttl)
        }
        if case .accepted = answer {
            promiseFile?.record(leader: request.name, apiURL: request.apiURL, connURL: request.connURL, ttl: ttl)
        }
        return answer
    }

    /// At start: a promise the previous staz process made on this data directory binds us for
    /// what is left of it, as if we had made it (`ttl` is the configured one).
    func restorePromise(ttl: Double, now: ContinuousClock.Instant = .now) -> FailsafePromise? {
        guard let (promise, remaining) = promiseFile?.load() else { return nil }
        box.withLock { state in
            state.ttl = .milliseconds(Int64(ttl * 1000))
            state.leader = Leader(name: promise.leader, apiURL: promise.apiURL, connURL: promise.connURL,
                                  receivedAt: now + remaining - state.ttl)
        }
        return promise
    }

    /// The leader that confirmed itself less than `ttl` ago.
    func leader(now: ContinuousClock.Instant = .now) -> Leader? {
        box.withLock { state in
            guard let leader = state.leader, now - leader.receivedAt < state.ttl else { return nil }
            return leader
        }
    }

    /// The HA loop's latest knowledge of this member.
    func update(ttl: Double, leading: Bool, walPosition: LSN?) {
        box.withLock { state in
            state.ttl = .milliseconds(Int64(ttl * 1000))
            state.leading = leading
            state.walPosition = walPosition.map { Int64($0.value) }
        }
    }

    /// Right before racing for the leader lock: false when a failsafe leader announced itself
    /// within `ttl` (since the decision was made, too); otherwise refuse every later request
    /// until `endClaim`, so no leader can count on us once we may become primary.
    func claimLeadership(now: ContinuousClock.Instant = .now) -> Bool {
        box.withLock { state in
            if let leader = state.leader, now - leader.receivedAt < state.ttl { return false }
            state.claiming = true
            return true
        }
    }

    /// The race is over: lost (we follow again) or won (then `leading` keeps refusing).
    func endClaim(leading: Bool) {
        box.withLock { state in
            state.claiming = false
            if leading { state.leading = true }
        }
    }
}

/// Sends `POST /failsafe` to members: 2 s per attempt, one retry after a transport failure
/// (an HTTP answer, even a refusal, is final), all members in parallel. Uses the HTTP client
/// of the peer prober (its TLS settings) and the REST credentials patronictl would use.
struct FailsafeCaller {
    struct Answer: Sendable {
        var name: String
        var accepted: Bool
        var lsn: Int64?
    }

    let http: HTTPClient
    let authorization: String?
    let logger: Logger
    var attemptTimeout: Duration = .seconds(2)

    func confirm(_ body: JSONValue, with members: [FailsafeMember]) async -> [Answer] {
        let text = body.pythonJSONString
        return await withTaskGroup(of: Answer.self) { group in
            for member in members { group.addTask { await call(member, text) } }
            var answers: [Answer] = []
            for await answer in group { answers.append(answer) }
            return answers
        }
    }

    func call(_ member: FailsafeMember, _ body: String) async -> Answer {
        let url = memberEndpointURL(apiURL: member.apiURL, endpoint: "failsafe")
        var failure = "no attempt"
        for _ in 0..<2 {
            do {
                let (status, text, lsn) = try await post(url, body)
                logger.info("Got response from \(member.name) \(url): \(text)")
                return Answer(name: member.name, accepted: status == 200 && text == "Accepted", lsn: lsn)
            } catch {
                failure = "\(error)"
            }
        }
        logger.warning("Request failed to \(member.name): POST \(url) (\(failure))")
        return Answer(name: member.name, accepted: false, lsn: nil)
    }

    /// One attempt; the whole exchange (head and body) within `attemptTimeout`.
    private func post(_ url: String, _ body: String) async throws -> (Int, String, Int64?) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        request.body = .bytes(ByteBuffer(string: body))
        let http = self.http
        let timeout = attemptTimeout
        let sendable = request
        do {
            return try await withDeadline(timeout, what: "POST \(url)") {
                let response = try await http.execute(sendable, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000
                                                                                     + timeout.components.attoseconds / 1_000_000_000))
                let text = String(buffer: try await response.body.collect(upTo: 1 << 16))
                return (Int(response.status.code), text, response.headers.first(name: "lsn").flatMap { Int64($0) })
            }
        } catch is DeadlineExceeded {
            throw FailsafeCallTimeout(timeout: timeout)
        }
    }

    /// Basic auth as Patroni's member-to-member requests send it: `ctl` credentials, else
    /// `restapi.authentication`.
    static func authorization(_ config: StazConfiguration) -> String? {
        let credentials: (String, String)?
        if let u = config.ctl.username, let p = config.ctl.password {
            credentials = (u, p)
        } else if let u = config.restapi.username, let p = config.restapi.password {
            credentials = (u, p)
        } else {
            credentials = nil
        }
        return credentials.map { "Basic " + Data("\($0.0):\($0.1)".utf8).base64EncodedString() }
    }
}

struct FailsafeCallTimeout: Error, CustomStringConvertible {
    var timeout: Duration
    var description: String { "no answer within \(timeout)" }
}

/// The HA loop's own failsafe bookkeeping.
struct FailsafeLoopState {
    /// The `failsafe` value we last wrote (Patroni's `_last_failsafe`): written again only
    /// when the desired content differs from it or from what the DCS shows.
    var lastWritten: JSONObject?
    /// Send instant of the last round every member accepted, while the DCS stays unreachable
    /// (`failsafe_mode_is_active` on the leader); cleared when the DCS answers again.
    var confirmedAt: ContinuousClock.Instant?
    /// The WAL positions the members reported (`lsn` header) in that round.
    var reportedPositions: [String: Int64] = [:]
}

extension HAController {
    /// The decision's failsafe input: the last `failsafe` key we know and a leader that
    /// announced itself to us.
    func failsafeInput(now: ContinuousClock.Instant = .now) -> FailsafeInput {
        FailsafeInput(topology: FailsafeMember.list(lastCluster?.failsafe), leader: failsafeMemory.leader(now: now)?.name)
    }

    /// `HAStep.confirmFailsafe`: one round of `POST /failsafe`. When every member accepts, the
    /// round's send instant extends the lease keeper's fence deadline (see LeaseKeeper).
    func confirmFailsafe(_ members: [FailsafeMember]) async -> Bool {
        let sent = ContinuousClock.now
        var body = JSONObject()
        body["name"] = .string(me)
        body["conn_url"] = .string(config.postgresql.connURL)
        body["api_url"] = .string(config.restapi.apiURL)
        body["slots"] = .object(JSONObject(await failsafeSlotPositions().map { ($0.0, .int($0.1)) }))
        let caller = FailsafeCaller(http: prober.http, authorization: FailsafeCaller.authorization(config), logger: logger)
        let answers = await caller.confirm(.object(body), with: members)
        let accepted = answers.allSatisfy(\.accepted)
        failsafe.reportedPositions = Dictionary(answers.compactMap { answer in answer.lsn.map { (answer.name, $0) } },
                                                uniquingKeysWith: { first, _ in first })
        if accepted {
            failsafe.confirmedAt = sent
            await keeper.confirmByFailsafe(sentAt: sent)
        } else {
            failsafe.confirmedAt = nil
        }
        return accepted
    }

    /// After the lock was confirmed: `failsafe` = `{name: api_url}` of every member with an
    /// api_url plus ourselves, written only when it changed (failsafe mode only).
    func publishFailsafeKey(cluster: ClusterView?) async {
        guard settings.failsafeMode, let cluster else { return }
        var desired = JSONObject(cluster.members.compactMap { member in member.apiURL.map { (member.name, JSONValue.string($0)) } })
        if desired[me] == nil { desired[me] = .string(config.restapi.apiURL) }
        guard desired != failsafe.lastWritten || cluster.failsafe != desired else { return }
        do {
            try await dcs.setFailsafe(.object(desired))
            failsafe.lastWritten = desired
            // The topology a later DCS outage relies on must include what we just wrote.
            lastCluster?.failsafe = desired
        } catch {
            logger.warning("failed to write the failsafe key: \(error)")
        }
    }

    /// The leader announced by `POST /failsafe` as a member to follow when its member key
    /// expired (it cannot refresh it without the DCS).
    /// The slot positions announced with `POST /failsafe`: read now (bounded, as Patroni sends
    /// the cycle's), so replicas can follow logical slots the DCS cannot carry; the last
    /// published ones when PostgreSQL does not answer in time.
    func failsafeSlotPositions() async -> [(String, Int64)] {
        let postgres = self.postgres
        if let read = await withDeadline(.seconds(1), { try? await postgres.replicationSlots() }), let slots = read {
            return publishedSlotPositions(slots)
        }
        return lastCluster?.status.slots ?? []
    }

    /// Patroni's `Failsafe.update_cluster`: while the DCS is unreachable a replica keeps its
    /// permanent slots moving with the positions its failsafe leader last announced, and its
    /// copies of logical slots with the leader's.
    func syncSlotsFromFailsafeLeader(observation: PostgresObservation) async {
        guard settings.useSlots, settings.failsafeMode, observation.isRunning, var view = lastCluster else { return }
        if !observation.isInRecovery {
            await syncSlotsOnFailsafeLeader(view)
            return
        }
        guard let leader = failsafeMemory.leader() else { return }
        view.status.slots = leader.slots.pairs.compactMap { name, value in value.intValue.map { (name, $0) } }
        if view.leader?.name != leader.name {
            view.leader = StazCore.Leader(name: leader.name)
        }
        await syncMemberSlots(cluster: view, leading: false, primary: false)
        // Copies of logical slots read their positions from the leader itself, not the DCS.
        await maintainLogicalSlotFailover(cluster: view, observation: observation)
    }

    /// The leader's side: its slot for a member that cascades from another one follows that
    /// member's own position, which the DCS cannot carry now; the members report it in their
    /// answers to `POST /failsafe` (Patroni's `Failsafe.update_slots`).
    func syncSlotsOnFailsafeLeader(_ last: ClusterView) async {
        guard failsafe.confirmedAt != nil else { return }
        var view = last
        view.members = view.members.map { member in
            guard member.replicateFrom != nil, let position = failsafe.reportedPositions[member.name] else { return member }
            var updated = member
            updated.data["xlog_location"] = .int(position)
            return updated
        }
        await syncMemberSlots(cluster: view, leading: true, primary: true)
    }

    func failsafeLeaderMember(named name: String) -> Member? {
        guard let leader = failsafeMemory.leader(), leader.name == name else { return nil }
        return Member(name: name, data: JSONObject([("conn_url", .string(leader.connURL)), ("api_url", .string(leader.apiURL))]))
    }

    /// Keeps `FailsafeMemory` in line with what this member is (called after observing).
    func updateFailsafeMemory(_ observation: PostgresObservation) async {
        let holding = await keeper.holdingLeader
        let primary = observation.isRunning && !observation.isInRecovery
        failsafeMemory.update(ttl: settings.ttl, leading: primary || holding, walPosition: observation.walPosition)
    }

    /// `failsafe_mode_is_active`: the leader runs on failsafe confirmations (a round every
    /// member accepted less than `ttl` ago, DCS still unreachable), or a replica remembers a
    /// leader that announced itself less than `ttl` ago.
    func failsafeActive(now: ContinuousClock.Instant = .now) -> Bool {
        if let confirmedAt = failsafe.confirmedAt, now - confirmedAt < .milliseconds(Int64(settings.ttl * 1000)) { return true }
        return failsafeMemory.leader(now: now) != nil
    }
}

extension DaemonActions {
    func acceptFailsafe(_ request: FailsafeRequest) async -> APIResponse {
        switch ha.failsafeMemory.receive(request) {
        case .runningAsLeader:
            return .text(500, "Running as a leader")
        case .accepted(let lsn):
            // Patroni computes the flag per request; ours is refreshed every cycle, so set it now.
            ha.apiState.update { $0.failsafeModeIsActive = true }
            var response = APIResponse.text(200, "Accepted")
            if let lsn { response.extraHeaders.append(("lsn", String(lsn))) }
            return response
        }
    }
}
