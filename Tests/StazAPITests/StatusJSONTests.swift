import StazAPI
import StazCore
import Testing

struct StatusJSONTests {
    @Test func primaryBodyMatchesPatroniLayout() {
        var s = Fixtures.leader()
        s.replication = [JSONObject([
            ("usename", "replicator"), ("application_name", "node2"), ("client_addr", "127.0.0.1"),
            ("state", "streaming"), ("sync_state", "async"), ("sync_priority", 0),
        ])]
        s.tags = obj(["clonefrom": true])
        let expected = """
        {"state": "running", "postmaster_start_time": "2025-01-02 10:00:00.123456+00:00", "role": "primary", \
        "server_version": 150004, "xlog": {"location": 50331648}, "timeline": 1, "replication": [{"usename": \
        "replicator", "application_name": "node2", "client_addr": "127.0.0.1", "state": "streaming", "sync_state": \
        "async", "sync_priority": 0}], "dcs_last_seen": 1735812000, "tags": {"clonefrom": true}, \
        "database_system_identifier": "7455059393830273421", "patroni": {"version": "4.1.5", "scope": "demo", "name": "node1"}}
        """
        #expect(JSONValue.object(s.statusJSON).pythonJSONString == expected)
    }

    @Test func replicaBodyMatchesPatroniLayout() {
        var s = Fixtures.replica()
        s.isSyncStandby = true
        s.pause = true
        s.pendingRestartReason = obj(["max_connections": ["old_value": "100", "new_value": "200"]])
        let expected = """
        {"state": "running", "postmaster_start_time": "2025-01-02 10:00:05.5+00:00", "role": "replica", \
        "server_version": 150004, "xlog": {"received_location": 50331648, "replayed_location": 50331648, \
        "replayed_timestamp": null, "paused": false}, "sync_standby": true, "timeline": 1, "replication_state": \
        "streaming", "pause": true, "dcs_last_seen": 1735812000, "tags": {"dc": "east", "nofailover": false}, \
        "pending_restart": true, "pending_restart_reason": {"max_connections": {"old_value": "100", "new_value": \
        "200"}}, "patroni": {"version": "4.1.5", "scope": "demo", "name": "node2"}}
        """
        #expect(JSONValue.object(s.statusJSON).pythonJSONString == expected)
    }

    @Test func stoppedNodeHasOnlyStateAndRole() {
        var s = NodeSnapshot(scope: "demo", name: "n")
        s.dcsLastSeen = 5
        #expect(JSONValue.object(s.statusJSON).pythonJSONString
                == #"{"state": "stopped", "role": "uninitialized", "cluster_unlocked": true, "dcs_last_seen": 5, "patroni": {"version": "4.1.5", "scope": "demo", "name": "n"}}"#)
    }

    @Test func nonASCIIIsEscapedLikePython() {
        #expect(JSONValue.object(obj(["k": "é", "list": [1, 2.5, nil]])).pythonJSONString == #"{"k": "\u00e9", "list": [1, 2.5, null]}"#)
    }

    @Test func stateUpdateReRendersBody() {
        let state = APIState(Fixtures.leader())
        let before = state.rendered.statusBody
        state.update { $0.timeline = 7 }
        let after = String(buffer: state.rendered.statusBody)
        #expect(String(buffer: before).contains("\"timeline\": 1"))
        #expect(after.contains("\"timeline\": 7"))
        #expect(state.current.timeline == 7)
    }
}
