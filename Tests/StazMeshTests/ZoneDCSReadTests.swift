import Foundation
import Testing
import StazConfig
import StazCore
@testable import StazMesh

/// Zones on their own etcd: one that cannot be read degrades only its part of the mesh.
@Suite struct ZoneDCSReadTests {
    struct Unreachable: Error, CustomStringConvertible { var description: String { "connection refused by 10.0.2.5:2379" } }

    @Test func anUnreadableZoneIsReportedAndTheOthersAreDesired() async throws {
        let mesh = MeshFixture.section()
        // Zone b's read is slow and fails; zone a's succeeds. Zone c has a DSN: never read.
        let asked = ScopesAsked()
        let (members, unreadable) = await MeshReconciler.readZoneMembers(mesh: mesh) { scope in
            await asked.add(scope)
            if scope == "b" {
                try await Task.sleep(for: .milliseconds(50))
                throw Unreachable()
            }
            return MeshFixture.members[scope] ?? []
        }
        #expect(await asked.scopes.sorted() == ["a", "b"])
        #expect(members.keys.sorted() == ["a"])
        #expect(unreadable == ["b": "connection refused by 10.0.2.5:2379"])

        var desired = MeshTopology.desired(mesh: mesh, synchronousMode: false, zoneMembers: members)
        desired.unreadableZones = unreadable
        // Zone c (DSN from the configuration) is still subscribed to; zone b's subscription is
        // neither desired nor touched.
        #expect(desired.databases[0].subscriptions.map(\.providerScope) == ["c"])

        let json = MeshReport(mesh: mesh, role: "leader", desired: desired).json
        let zones = try #require(json["zones"]?.arrayValue)
        #expect(zones[0]["dcs_reachable"] == true)
        #expect(zones[1]["dcs_reachable"] == false)
        #expect(zones[1]["dcs_error"]?.stringValue == "connection refused by 10.0.2.5:2379")
        // A zone reached through its configured DSN has no DCS read to report.
        #expect(zones[2]["dcs_reachable"] == nil)
    }

    @Test func aZoneOnItsOwnEtcdSaysWhichOne() throws {
        var mesh = MeshFixture.section()
        mesh.zones[1].etcd3 = EtcdSection(endpoints: ["http://10.0.2.5:2379"])
        let json = MeshReport(mesh: mesh, role: "leader").json
        let zones = try #require(json["zones"]?.arrayValue)
        #expect(zones[1]["dcs"]?.stringValue == "etcd3 http://10.0.2.5:2379")
        #expect(zones[0]["dcs"] == nil)
    }
}

actor ScopesAsked {
    var scopes: [String] = []
    func add(_ scope: String) { scopes.append(scope) }
}
