import Foundation
import StazCore

// The etcd v2 "watch": a long poll on the `leader` key, kept running in the background once
// the HA loop first asks about changes (one-shot readers such as stazctl never start it), so that a change during an HA cycle is known at once
// (`changedSinceLastRead`) and not only while the loop sleeps. Patroni polls only while it
// sleeps; a replica whose cycle began just before the primary let the lock go then decided on
// the old view and could miss a leader race it should have entered.
extension EtcdV2Client {
    public func waitForChange(timeout: Duration) async -> Bool {
        if lastIndex == nil { _ = try? await loadCluster(fresh: false) }
        startLeaderWatchIfNeeded()
        return await leaderChanges.wait(timeout: timeout)
    }

    public func changedSinceLastRead() async -> Bool {
        startLeaderWatchIfNeeded()
        return leaderChanges.isPending
    }

    /// Starts the long poll right after the last cluster read (`lastIndex`).
    func startLeaderWatchIfNeeded() {
        guard leaderWatch == nil, !closed, let lastIndex else { return }
        let start = lastIndex + 1
        leaderWatch = Task { await self.watchLeader(from: start) }
    }

    /// Each poll is bounded: etcd may hold one for ever, and an endpoint that froze must not.
    static let leaderPollTimeout = Duration.seconds(10)

    private func watchLeader(from start: Int64) async {
        var waitIndex: Int64? = start
        while !Task.isCancelled {
            guard let index = waitIndex else {
                // Our index fell out of etcd's event history (or a poll failed): look at the key itself.
                if let (changed, current) = await rereadLeader() {
                    if changed { leaderChanges.signal() }
                    waitIndex = current + 1
                } else {
                    try? await Task.sleep(for: .milliseconds(500))
                }
                continue
            }
            waitIndex = await pollLeader(from: index)
        }
    }

    /// One long poll; returns the index to poll from next, or nil to re-read the key first.
    private func pollLeader(from waitIndex: Int64) async -> Int64? {
        let response: EtcdHTTPResponse
        do {
            let path = EtcdV2Wire.keyPath(prefix + DCSKey.leader)
                + EtcdV2Wire.query([("wait", "true"), ("waitIndex", String(waitIndex))])
            response = try await transport.performOnce(EtcdRequest(method: .get, path: path), timeout: Self.leaderPollTimeout)
        } catch {
            if case EtcdAttemptFailure.timedOut = error { return waitIndex }  // nothing happened
            if !Task.isCancelled { logger.debug("etcd long poll failed", metadata: ["error": "\(error)"]) }
            try? await Task.sleep(for: .milliseconds(500))
            return nil
        }
        if EtcdV2Wire.errorCode(response) == EtcdV2Wire.eventIndexCleared { return nil }
        guard response.status == 200, let event = try? response.json(), let node = event["node"] else {
            logger.debug("unexpected etcd long poll answer", metadata: ["status": "\(response.status)"])
            try? await Task.sleep(for: .milliseconds(500))
            return nil
        }
        let modifiedIndex = node["modifiedIndex"]?.intValue ?? waitIndex
        let action = event["action"]?.stringValue ?? ""
        let isRefresh = ["compareAndSwap", "set", "update"].contains(action)
            && event["prevNode"]?["value"]?.stringValue == node["value"]?.stringValue
        // The leader renewing its TTL rewrites the same name: not a change to react to. A change
        // the last cluster read already showed needs no wake-up either.
        if !isRefresh && modifiedIndex > (lastIndex ?? 0) { leaderChanges.signal() }
        return modifiedIndex + 1
    }

    /// Reads `leader` directly; returns whether its value differs from what the last cluster
    /// read showed, and the current etcd index. Nil when etcd could not be read.
    private func rereadLeader() async -> (Bool, Int64)? {
        guard let response = try? await transport.perform(EtcdRequest(method: .get,
                                                                       path: EtcdV2Wire.keyPath(prefix + DCSKey.leader))),
              let index = EtcdV2Wire.etcdIndex(response) else { return nil }
        let value: String?
        if response.status == 200 {
            value = (try? response.json())?["node"]?["value"]?.stringValue
        } else if EtcdV2Wire.errorCode(response) == EtcdV2Wire.keyNotFound {
            value = nil
        } else {
            return nil
        }
        return (value != lastLeaderValue, index)
    }
}
