import AsyncHTTPClient
import Foundation
import NIOCore
import StazCore
import StazHA

/// Asks other members for their state (`GET <api_url>`) in parallel before a leader race, as
/// Patroni's `fetch_nodes_statuses` does: 2 s timeout, no retries; a member that does not answer
/// is reported unreachable and never blocks the race.
struct PeerProber {
    let http: HTTPClient
    let timeout: TimeAmount

    func probe(_ members: [Member], excluding me: String) async -> [PeerStatus] {
        await withTaskGroup(of: PeerStatus.self) { group in
            for member in members where member.name != me {
                group.addTask { await probeOne(member) }
            }
            var out: [PeerStatus] = []
            for await status in group { out.append(status) }
            return out.sorted { $0.name < $1.name }
        }
    }

    func probeOne(_ member: Member) async -> PeerStatus {
        let unreachable = PeerStatus(name: member.name, reachable: false, noFailover: member.noFailover,
                                     failoverPriority: Int(member.failoverPriority))
        guard let url = member.apiURL else { return unreachable }
        do {
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            let response = try await http.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 1 << 20)
            guard let json = try? JSONValue.parse(String(buffer: body)).objectValue else { return unreachable }
            return PeerProber.status(name: member.name, json: json)
        } catch {
            return unreachable
        }
    }

    /// Reads a `/patroni` status body the way Patroni's `_MemberStatus.from_api_response` does.
    static func status(name: String, json: JSONObject) -> PeerStatus {
        let role = json["role"]?.stringValue.flatMap(MemberRole.init(published:))
        let xlog = json["xlog"]?.objectValue
        let isInRecovery = !(xlog?["location"] != nil || role == .primary)
        var wal: LSN? = nil
        if let loc = xlog?["location"]?.intValue {
            wal = LSN(UInt64(max(0, loc)))
        } else {
            let received = xlog?["received_location"]?.intValue ?? 0
            let replayed = xlog?["replayed_location"]?.intValue ?? 0
            wal = LSN(UInt64(max(0, max(received, replayed))))
        }
        let tagged = Member(name: name, data: JSONObject([("tags", json["tags"] ?? .object(JSONObject()))]))
        let noFailover = tagged.noFailover
        let priority = Int(tagged.failoverPriority)
        var status = PeerStatus(name: name, reachable: true, role: role, isInRecovery: isInRecovery, walPosition: wal,
                                noFailover: noFailover || json["watchdog_failed"]?.boolValue == true, failoverPriority: priority)
        status.logicalSlotsReady = json["logical_slots_ready"]?.boolValue
        status.timeline = json["timeline"]?.intValue
        return status
    }
}
