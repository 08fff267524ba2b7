import StazAPI
import StazCore
import Testing

struct ClusterJSONTests {
    static func view(config: String = #"{"ttl":30}"#) -> ClusterView {
        ClusterView.fromKeys([
            "initialize": DCSRawValue(value: "7455059393830273421"),
            "config": DCSRawValue(value: config, version: "5"),
            "leader": DCSRawValue(value: "node1", version: "9"),
            "status": DCSRawValue(value: #"{"optime":67108864,"slots":{},"retain_slots":[]}"#),
            "sync": DCSRawValue(value: #"{"leader":"node1","sync_standby":"node3","quorum":0}"#),
            "members/node1": DCSRawValue(value: #"{"conn_url":"postgres://127.0.0.1:5432/postgres","api_url":"http://127.0.0.1:8008/patroni","state":"running","role":"primary","version":"4.1.5","xlog_location":67108864,"timeline":2}"#),
            "members/node3": DCSRawValue(value: #"{"conn_url":"postgres://127.0.0.3:5433/postgres","api_url":"http://127.0.0.3:8008/patroni","state":"running","role":"replica","version":"4.1.5","replication_state":"streaming","receive_lsn":67108864,"replay_lsn":50331648,"xlog_location":67108864,"timeline":2,"tags":{"nofailover":true}}"#),
            "members/node2": DCSRawValue(value: #"{"conn_url":"postgres://127.0.0.2:5432/postgres","api_url":"http://127.0.0.2:8008/patroni","state":"stopped","role":"replica","version":"4.1.5"}"#),
            "failover": DCSRawValue(value: #"{"leader":"node1","member":"node2","scheduled_at":"2030-01-01T10:00:00+00:00"}"#),
        ])
    }

    @Test func shapeOrderAndLags() {
        let text = JSONValue.object(clusterJSON(Self.view(config: #"{"synchronous_mode":true,"pause":true}"#), scope: "demo")).pythonJSONString
        let expected = """
        {"members": [{"name": "node1", "role": "leader", "state": "running", "api_url": "http://127.0.0.1:8008/patroni", \
        "host": "127.0.0.1", "port": 5432, "timeline": 2}, {"name": "node2", "role": "replica", "state": "stopped", \
        "api_url": "http://127.0.0.2:8008/patroni", "host": "127.0.0.2", "port": 5432, "receive_lsn": "unknown", \
        "receive_lag": "unknown", "replay_lsn": "unknown", "replay_lag": "unknown", "lsn": "unknown", "lag": "unknown"}, \
        {"name": "node3", "role": "sync_standby", "state": "streaming", "api_url": "http://127.0.0.3:8008/patroni", \
        "host": "127.0.0.3", "port": 5433, "timeline": 2, "tags": {"nofailover": true}, "receive_lag": 0, \
        "receive_lsn": "0/4000000", "replay_lag": 16777216, "replay_lsn": "0/3000000", "lag": 0, "lsn": "0/4000000"}], \
        "pause": true, "scheduled_switchover": {"at": "2030-01-01T10:00:00+00:00", "from": "node1", "to": "node2"}, "scope": "demo"}
        """
        #expect(text == expected)
    }

    @Test func syncRoleOnlyInSynchronousMode() {
        let members = clusterJSON(Self.view(), scope: "demo")["members"]?.arrayValue ?? []
        #expect(members.map { $0["role"]?.stringValue } == ["leader", "replica", "replica"])
        let quorum = clusterJSON(Self.view(config: #"{"synchronous_mode":"quorum"}"#), scope: "demo")["members"]?.arrayValue ?? []
        #expect(quorum[2]["role"]?.stringValue == "quorum_standby")
        let standby = clusterJSON(Self.view(config: #"{"standby_cluster":{"host":"10.0.0.1"}}"#), scope: "demo")["members"]?.arrayValue ?? []
        #expect(standby[0]["role"]?.stringValue == "standby_leader")
    }
}
