import StazCore
import Testing
@testable import StazDCS

/// The watch cache's key table: older knowledge never overwrites newer, whichever way it comes.
@Suite("etcd v3 key table")
struct KeyTableTests {
    static func value(_ text: String, _ revision: Int64) -> DCSRawValue {
        DCSRawValue(value: text, version: String(revision), session: "lease-\(revision)")
    }

    @Test("a watch event older than what the table knows is ignored, a newer one applied")
    func eventsApplyInRevisionOrder() {
        var table = EtcdV3KeyTable()
        #expect(table.update("leader", Self.value("m1", 12), revision: 12)?.old == nil)
        #expect(table.update("leader", nil, revision: 11) == nil, "a delete from before our write")
        #expect(table.entries["leader"]?.value == "m1")
        let replaced = table.update("leader", Self.value("m2", 13), revision: 13)
        #expect(replaced?.old?.value == "m1")
        #expect(table.entries["leader"]?.value == "m2")
    }

    @Test("a range read answered after our write keeps the write")
    func lateReadKeepsNewerLocalWrite() {
        // After an etcd freeze: the restarting watch's range read, served at revision 10, still
        // names the expired leader; etcd then deletes it (11) and we take the key (12). The read's
        // answer arrives after our write was recorded.
        var table = EtcdV3KeyTable()
        _ = table.replaceAll(["leader": (Self.value("m1", 5), 5), "members/m1": (Self.value("{}", 9), 9)], revision: 9)
        _ = table.update("leader", Self.value("m1", 12), revision: 12)
        let before = table.replaceAll(["leader": (Self.value("m1", 5), 5), "members/m1": (Self.value("{}", 10), 10)],
                                      revision: 10)
        #expect(before["leader"]?.version == "12")
        #expect(table.entries["leader"]?.version == "12", "our write survives the older read")
        #expect(table.entries["members/m1"]?.version == "10", "other keys come from the read")
        // The watch from revision 11 replays the delete and our write: neither goes back in time.
        #expect(table.update("leader", nil, revision: 11) == nil)
        #expect(table.update("leader", Self.value("m1", 12), revision: 12) == nil)
        #expect(table.entries["leader"]?.version == "12")
    }

    @Test("a delete of ours newer than the read stays deleted")
    func lateReadKeepsNewerLocalDelete() {
        var table = EtcdV3KeyTable()
        _ = table.replaceAll(["leader": (Self.value("m1", 5), 5)], revision: 8)
        _ = table.update("leader", nil, revision: 9)
        _ = table.replaceAll(["leader": (Self.value("m1", 5), 5)], revision: 8)
        #expect(table.entries["leader"] == nil)
    }

    @Test("a read at or after our write replaces it, and keys missing from it are gone")
    func newerReadWins() {
        var table = EtcdV3KeyTable()
        _ = table.update("leader", Self.value("m1", 12), revision: 12)
        _ = table.update("failover", Self.value("{}", 7), revision: 7)
        _ = table.replaceAll(["leader": (Self.value("m2", 14), 14)], revision: 15)
        #expect(table.entries["leader"]?.value == "m2")
        #expect(table.entries["failover"] == nil)
        #expect(table.update("failover", Self.value("{}", 7), revision: 7) == nil,
                "an event from before the read cannot bring a vanished key back")
    }
}
