import Foundation
import StazCore

// The etcd v2 "watch": a long poll on the `leader` key from just after the last cluster read.
extension EtcdV2Client {
    public func waitForChange(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        if lastIndex == nil {
            do { _ = try await loadCluster(fresh: false) } catch {
                return await sleepUntil(deadline)
            }
        }
        var waitIndex = (lastIndex ?? 0) + 1
        // Like Patroni: below one second there is no point in opening a long poll.
        while deadline - .now >= .seconds(1) {
            let response: EtcdHTTPResponse
            do {
                let path = EtcdV2Wire.keyPath(prefix + DCSKey.leader)
                    + EtcdV2Wire.query([("wait", "true"), ("waitIndex", String(waitIndex))])
                response = try await transport.performOnce(EtcdRequest(method: .get, path: path), timeout: deadline - .now)
            } catch {
                if Task.isCancelled { return false }
                if case EtcdAttemptFailure.timedOut = error { return false }
                logger.debug("etcd long poll failed", metadata: ["error": "\(error)"])
                return await sleepUntil(deadline)
            }
            if EtcdV2Wire.errorCode(response) == EtcdV2Wire.eventIndexCleared {
                // Our index fell out of etcd's event history: look at the key itself.
                guard let (changed, index) = await rereadLeader() else { return await sleepUntil(deadline) }
                if changed { return true }
                waitIndex = index + 1
                continue
            }
            guard response.status == 200, let event = try? response.json(), let node = event["node"] else {
                logger.debug("unexpected etcd long poll answer", metadata: ["status": "\(response.status)"])
                return await sleepUntil(deadline)
            }
            let modifiedIndex = node["modifiedIndex"]?.intValue ?? waitIndex
            waitIndex = modifiedIndex + 1
            lastIndex = max(lastIndex ?? 0, modifiedIndex)
            let action = event["action"]?.stringValue ?? ""
            let isRefresh = ["compareAndSwap", "set", "update"].contains(action)
                && event["prevNode"]?["value"]?.stringValue == node["value"]?.stringValue
            // The leader renewing its TTL rewrites the same name: not a change to react to.
            if isRefresh { continue }
            return true
        }
        return await sleepUntil(deadline)
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

    private func sleepUntil(_ deadline: ContinuousClock.Instant) async -> Bool {
        try? await Task.sleep(until: deadline, clock: .continuous)
        return false
    }
}
