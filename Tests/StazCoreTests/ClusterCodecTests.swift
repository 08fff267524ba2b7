import Foundation
import Testing
@testable import StazCore

@Suite struct ClusterCodecTests {
    @Test func memberFromJSON() {
        let value = #"{"conn_url":"postgres://10.0.0.2:5433/postgres","api_url":"http://10.0.0.2:8008/patroni","state":"running","role":"replica","version":"4.1.5","xlog_location":1234,"receive_lsn":1200,"replay_lsn":1100,"timeline":3,"tags":{"nofailover":true,"custom":"x"},"pending_restart":true,"future_field":[1]}"#
        let m = Member.parse(name: "n2", value: value, version: "17", session: "abc")
        #expect(m.name == "n2" && m.version == "17" && m.session == "abc")
        #expect(m.connURL == "postgres://10.0.0.2:5433/postgres")
        #expect(m.apiURL == "http://10.0.0.2:8008/patroni")
        #expect(m.role == "replica" && m.state == "running" && m.patroniVersion == "4.1.5")
        #expect(m.xlogLocation == LSN(1234) && m.receiveLSN == LSN(1200) && m.replayLSN == LSN(1100))
        #expect(m.timeline == 3)
        #expect(m.noFailover && m.failoverPriority == 0)
        #expect(m.pendingRestart)
        #expect(m.connHostPort?.host == "10.0.0.2" && m.connHostPort?.port == 5433)
        #expect(JSONValue.object(m.data).compactString == value, "unknown fields survive")
    }

    @Test func memberLegacyURLForm() {
        let m = Member.parse(name: "old", value: "postgres://replicator:pw@10.0.0.3:5432/postgres?application_name=http://10.0.0.3:8008/patroni")
        #expect(m.connURL == "postgres://replicator:pw@10.0.0.3:5432/postgres")
        #expect(m.apiURL == "http://10.0.0.3:8008/patroni")
        #expect(m.connHostPort?.host == "10.0.0.3")
    }

    @Test func memberFailoverPriorityTag() {
        let m = Member.parse(name: "n", value: #"{"tags":{"failover_priority":0}}"#)
        #expect(m.noFailover && m.failoverPriority == 0)
        #expect(Member.parse(name: "n", value: "{}").failoverPriority == 1)
        // Patroni's `_bool_tag` / `_priority_tag`: a present nofailover decides; tags are
        // published as written, so a priority may be a string.
        let contradicting = Member.parse(name: "n", value: #"{"tags":{"failover_priority":"0","nofailover":false}}"#)
        #expect(!contradicting.noFailover && contradicting.failoverPriority == 0)
        let excluded = Member.parse(name: "n", value: #"{"tags":{"failover_priority":"3","nofailover":true}}"#)
        #expect(excluded.noFailover && excluded.failoverPriority == 0)
    }

    @Test func statusParseAndSerialise() {
        let text = #"{"optime":67197096,"slots":{"postgresql0":67197096,"logical1":123},"retain_slots":["postgresql0","postgresql1"]}"#
        let s = ClusterStatus.parse(text)
        #expect(s.optime == 67197096)
        #expect(s.slots.map(\.0) == ["postgresql0", "logical1"])
        #expect(s.retainSlots == ["postgresql0", "postgresql1"])
        #expect(s.json.compactString == text)
        #expect(s.stazTimeline == nil, "Patroni's status has no claim, and gets none added")
        let claimed = #"{"optime":1,"slots":{},"retain_slots":[],"staz_timeline":3}"#
        #expect(ClusterStatus.parse(claimed).stazTimeline == 3)
        #expect(ClusterStatus.parse(claimed).json.compactString == claimed)
        #expect(ClusterStatus.parse("12345").optime == 12345, "legacy bare integer")
        #expect(ClusterStatus.parse("garbage") == .empty)
        #expect(ClusterStatus.parse(nil) == .empty)
    }

    @Test func syncStateParseAndSerialise() {
        #expect(SyncState(leader: "a").json.compactString == #"{"leader":"a","sync_standby":null,"quorum":0}"#)
        let s = SyncState.parse(#"{"leader":"a","sync_standby":"b,C","quorum":1}"#, version: "9")
        #expect(s.leader == "a" && s.syncStandbys == ["b", "C"] && s.quorum == 1 && s.version == "9")
        #expect(s.json.compactString == #"{"leader":"a","sync_standby":"b,C","quorum":1}"#)
        #expect(s.contains("c") && s.contains("B") && !s.contains("a"))
        #expect(SyncState.parse("not json", version: "3") == SyncState(version: "3"))
    }

    @Test func failoverRequest() {
        let text = #"{"leader":"a","member":"b","scheduled_at":"2024-01-01T10:00:00+00:00"}"#
        let f = FailoverRequest.parse(text, version: "5")
        #expect(f?.leader == "a" && f?.candidate == "b" && f?.scheduledAt == "2024-01-01T10:00:00+00:00" && f?.version == "5")
        #expect(f?.json.compactString == text)
        #expect(FailoverRequest.parse("{}", version: nil) == nil)
        #expect(FailoverRequest.parse("", version: nil) == nil)
        let legacy = FailoverRequest.parse("a:b", version: nil)
        #expect(legacy?.leader == "a" && legacy?.candidate == "b")
        #expect(FailoverRequest.parse(":b", version: nil)?.leader == nil)
        #expect(FailoverRequest(candidate: "b").json.compactString == #"{"member":"b"}"#)
    }

    @Test func historyParseAndSerialise() {
        let text = #"[[1,25165984,"no recovery target specified","2024-01-01T00:00:00.123456+00:00","n1"],[2,33554592,"no recovery target specified"]]"#
        let h = TimelineHistoryEntry.parseList(text)
        #expect(h?.count == 2)
        #expect(h?[0] == TimelineHistoryEntry(timeline: 1, lsn: 25165984, reason: "no recovery target specified",
                                               timestamp: "2024-01-01T00:00:00.123456+00:00", newLeader: "n1"))
        #expect(h?[1].timestamp == nil)
        #expect(JSONValue.array(h?.map(\.json) ?? []).compactString == text)
        #expect(TimelineHistoryEntry.parseList("nope") == nil)
    }

    @Test func configRecord() {
        #expect(ClusterConfigRecord.parse(#"{"ttl":30}"#, version: "4")?.data["ttl"] == .int(30))
        #expect(ClusterConfigRecord.parse("{{", version: "4")?.data.isEmpty == true)
        #expect(ClusterConfigRecord.parse(nil, version: nil) == nil)
    }

    @Test func clusterViewFromKeys() {
        let keys: [String: DCSRawValue] = [
            "initialize": DCSRawValue(value: "7312345678901234567"),
            "config": DCSRawValue(value: #"{"ttl":30,"loop_wait":10}"#, version: "5"),
            "leader": DCSRawValue(value: "n1", version: "42", session: "lease1"),
            "members/n2": DCSRawValue(value: #"{"role":"replica"}"#, version: "44"),
            "members/n1": DCSRawValue(value: #"{"role":"primary"}"#, version: "43", session: "lease1"),
            "members/": DCSRawValue(value: "{}"),
            "failover": DCSRawValue(value: "{}", version: "7"),
            "history": DCSRawValue(value: #"[[1,100,"r"],[2,200,"r"]]"#),
            "status": DCSRawValue(value: #"{"optime":300,"slots":{},"retain_slots":[]}"#),
            "sync": DCSRawValue(value: #"{"leader":"n1","sync_standby":"n2","quorum":0}"#, version: "8"),
            "failsafe": DCSRawValue(value: #"{"n1":"http://n1:8008/patroni"}"#),
        ]
        let view = ClusterView.fromKeys(keys)
        #expect(view.initialize == "7312345678901234567")
        #expect(view.config?.version == "5" && view.config?.data["loop_wait"] == .int(10))
        #expect(view.leader == Leader(name: "n1", version: "42", session: "lease1"))
        #expect(view.members.map(\.name) == ["n1", "n2"])
        #expect(view.leaderMember?.role == "primary")
        #expect(view.isLocked)
        #expect(view.failover == nil)
        #expect(view.timeline == 3)
        #expect(view.status.optime == 300)
        #expect(view.sync.syncStandbys == ["n2"] && view.sync.version == "8")
        #expect(view.failsafe?["n1"] == "http://n1:8008/patroni")
    }

    @Test func clusterViewEmptyAndLegacyOptime() {
        let empty = ClusterView.fromKeys([:])
        #expect(empty.timeline == 0 && !empty.isLocked && empty.initialize == nil && empty.config == nil)
        let view = ClusterView.fromKeys(["history": DCSRawValue(value: "[]"), "optime/leader": DCSRawValue(value: "555"),
                                         "leader": DCSRawValue(value: ""), "initialize": DCSRawValue(value: "")])
        #expect(view.timeline == 1)
        #expect(view.status.optime == 555)
        #expect(view.leader == nil, "an empty leader value is no leader")
        #expect(view.initialize == "", "bootstrap in progress")
    }

    @Test func theMemoRebuildsTheViewOnlyWhenAKeyChanges() {
        var memo = ClusterViewMemo()
        var keys = ["leader": DCSRawValue(value: "n1", version: "3", session: "l1"),
                    "members/n1": DCSRawValue(value: #"{"role":"primary"}"#, version: "4", session: "l1")]
        let first = memo.view(of: keys)
        #expect(first.leader?.name == "n1")
        #expect(memo.view(of: keys) == first)
        keys["members/n1"] = DCSRawValue(value: #"{"role":"primary"}"#, version: "5", session: "l1")
        #expect(memo.view(of: keys).members.first?.version == "5", "a new version alone is a change")
        keys["leader"] = nil
        #expect(memo.view(of: keys).leader == nil)
        #expect(memo.view(of: keys) == ClusterView.fromKeys(keys))
    }
}

