import Foundation
import StazCore
import Testing
@testable import StazAPI

/// `/metrics` against golden texts produced by Patroni 4.1.5's own `do_GET_metrics` (run under
/// /opt/patroni-venv with a stubbed `get_postgresql_status` returning the same state as each
/// snapshot here), so names, HELP/TYPE lines, order and number formatting are Patroni's.
@Suite("Prometheus metrics")
struct MetricsTests {
    /// The one metric staz adds after Patroni 4.1.5's list.
    static func failoverPriority(_ value: Int) -> String {
        """
        # HELP patroni_failover_priority Failover priority of this node, 0 if it never becomes the leader.
        # TYPE patroni_failover_priority gauge
        patroni_failover_priority{scope="demo",name="node1"} \(value)

        """
    }

    static let patroniPrimary = #"""
# HELP patroni_version Patroni semver without periods.
# TYPE patroni_version gauge
patroni_version{scope="demo",name="node1"} 040105
# HELP patroni_postgres_running Value is 1 if Postgres is running, 0 otherwise.
# TYPE patroni_postgres_running gauge
patroni_postgres_running{scope="demo",name="node1"} 1
# HELP patroni_postmaster_start_time Epoch seconds since Postgres started.
# TYPE patroni_postmaster_start_time gauge
patroni_postmaster_start_time{scope="demo",name="node1"} 1718022896.123456
# HELP patroni_primary Value is 1 if this node is the leader, 0 otherwise.
# TYPE patroni_primary gauge
patroni_primary{scope="demo",name="node1"} 1
# HELP patroni_xlog_location Current location of the Postgres transaction log, 0 if this node is not the leader.
# TYPE patroni_xlog_location counter
patroni_xlog_location{scope="demo",name="node1"} 67108864
# HELP patroni_standby_leader Value is 1 if this node is the standby_leader, 0 otherwise.
# TYPE patroni_standby_leader gauge
patroni_standby_leader{scope="demo",name="node1"} 0
# HELP patroni_replica Value is 1 if this node is a replica, 0 otherwise.
# TYPE patroni_replica gauge
patroni_replica{scope="demo",name="node1"} 0
# HELP patroni_sync_standby Value is 1 if this node is a sync standby, 0 otherwise.
# TYPE patroni_sync_standby gauge
patroni_sync_standby{scope="demo",name="node1"} 0
# HELP patroni_quorum_standby Value is 1 if this node is a quorum standby, 0 otherwise.
# TYPE patroni_quorum_standby gauge
patroni_quorum_standby{scope="demo",name="node1"} 0
# HELP patroni_xlog_received_location Current location of the received Postgres transaction log, 0 if this node is not a replica.
# TYPE patroni_xlog_received_location counter
patroni_xlog_received_location{scope="demo",name="node1"} 0
# HELP patroni_xlog_replayed_location Current location of the replayed Postgres transaction log, 0 if this node is not a replica.
# TYPE patroni_xlog_replayed_location counter
patroni_xlog_replayed_location{scope="demo",name="node1"} 0
# HELP patroni_xlog_replayed_timestamp Current timestamp of the replayed Postgres transaction log, 0 if null.
# TYPE patroni_xlog_replayed_timestamp gauge
patroni_xlog_replayed_timestamp{scope="demo",name="node1"} 0
# HELP patroni_xlog_paused Value is 1 if the Postgres xlog is paused, 0 otherwise.
# TYPE patroni_xlog_paused gauge
patroni_xlog_paused{scope="demo",name="node1"} 0
# HELP patroni_postgres_streaming Value is 1 if Postgres is streaming, 0 otherwise.
# TYPE patroni_postgres_streaming gauge
patroni_postgres_streaming{scope="demo",name="node1"} 0
# HELP patroni_postgres_in_archive_recovery Value is 1 if Postgres is replicating from archive, 0 otherwise.
# TYPE patroni_postgres_in_archive_recovery gauge
patroni_postgres_in_archive_recovery{scope="demo",name="node1"} 0
# HELP patroni_postgres_server_version Version of Postgres (if running), 0 otherwise.
# TYPE patroni_postgres_server_version gauge
patroni_postgres_server_version{scope="demo",name="node1"} 150004
# HELP patroni_cluster_unlocked Value is 1 if the cluster is unlocked, 0 if locked.
# TYPE patroni_cluster_unlocked gauge
patroni_cluster_unlocked{scope="demo",name="node1"} 0
# HELP patroni_failsafe_mode_is_active Value is 1 if failsafe mode is active, 0 if inactive.
# TYPE patroni_failsafe_mode_is_active gauge
patroni_failsafe_mode_is_active{scope="demo",name="node1"} 0
# HELP patroni_postgres_timeline Postgres timeline of this node (if running), 0 otherwise.
# TYPE patroni_postgres_timeline gauge
patroni_postgres_timeline{scope="demo",name="node1"} 3
# HELP patroni_dcs_last_seen Epoch timestamp when DCS was last contacted successfully by Patroni.
# TYPE patroni_dcs_last_seen gauge
patroni_dcs_last_seen{scope="demo",name="node1"} 1718022896
# HELP patroni_pending_restart Value is 1 if the node needs a restart, 0 otherwise.
# TYPE patroni_pending_restart gauge
patroni_pending_restart{scope="demo",name="node1"} 0
# HELP patroni_is_paused Value is 1 if auto failover is disabled, 0 otherwise.
# TYPE patroni_is_paused gauge
patroni_is_paused{scope="demo",name="node1"} 0
# HELP patroni_postgres_state Numeric representation of Postgres state.
# Values: 0=initdb, 1=initdb_failed, 2=custom_bootstrap, 3=custom_bootstrap_failed, 4=creating_replica, 5=running, 6=starting, 7=bootstrap_starting, 8=start_failed, 9=restarting, 10=restart_failed, 11=stopping, 12=stopped, 13=stop_failed, 14=crashed
# TYPE patroni_postgres_state gauge
patroni_postgres_state{scope="demo",name="node1"} 5

"""#

    static let patroniReplica = #"""
# HELP patroni_version Patroni semver without periods.
# TYPE patroni_version gauge
patroni_version{scope="demo",name="node1"} 040105
# HELP patroni_postgres_running Value is 1 if Postgres is running, 0 otherwise.
# TYPE patroni_postgres_running gauge
patroni_postgres_running{scope="demo",name="node1"} 1
# HELP patroni_postmaster_start_time Epoch seconds since Postgres started.
# TYPE patroni_postmaster_start_time gauge
patroni_postmaster_start_time{scope="demo",name="node1"} 1718022896.0
# HELP patroni_primary Value is 1 if this node is the leader, 0 otherwise.
# TYPE patroni_primary gauge
patroni_primary{scope="demo",name="node1"} 0
# HELP patroni_xlog_location Current location of the Postgres transaction log, 0 if this node is not the leader.
# TYPE patroni_xlog_location counter
patroni_xlog_location{scope="demo",name="node1"} 0
# HELP patroni_standby_leader Value is 1 if this node is the standby_leader, 0 otherwise.
# TYPE patroni_standby_leader gauge
patroni_standby_leader{scope="demo",name="node1"} 0
# HELP patroni_replica Value is 1 if this node is a replica, 0 otherwise.
# TYPE patroni_replica gauge
patroni_replica{scope="demo",name="node1"} 1
# HELP patroni_sync_standby Value is 1 if this node is a sync standby, 0 otherwise.
# TYPE patroni_sync_standby gauge
patroni_sync_standby{scope="demo",name="node1"} 1
# HELP patroni_quorum_standby Value is 1 if this node is a quorum standby, 0 otherwise.
# TYPE patroni_quorum_standby gauge
patroni_quorum_standby{scope="demo",name="node1"} 0
# HELP patroni_xlog_received_location Current location of the received Postgres transaction log, 0 if this node is not a replica.
# TYPE patroni_xlog_received_location counter
patroni_xlog_received_location{scope="demo",name="node1"} 50331800
# HELP patroni_xlog_replayed_location Current location of the replayed Postgres transaction log, 0 if this node is not a replica.
# TYPE patroni_xlog_replayed_location counter
patroni_xlog_replayed_location{scope="demo",name="node1"} 50331648
# HELP patroni_xlog_replayed_timestamp Current timestamp of the replayed Postgres transaction log, 0 if null.
# TYPE patroni_xlog_replayed_timestamp gauge
patroni_xlog_replayed_timestamp{scope="demo",name="node1"} 1718023201.5
# HELP patroni_xlog_paused Value is 1 if the Postgres xlog is paused, 0 otherwise.
# TYPE patroni_xlog_paused gauge
patroni_xlog_paused{scope="demo",name="node1"} 0
# HELP patroni_postgres_streaming Value is 1 if Postgres is streaming, 0 otherwise.
# TYPE patroni_postgres_streaming gauge
patroni_postgres_streaming{scope="demo",name="node1"} 1
# HELP patroni_postgres_in_archive_recovery Value is 1 if Postgres is replicating from archive, 0 otherwise.
# TYPE patroni_postgres_in_archive_recovery gauge
patroni_postgres_in_archive_recovery{scope="demo",name="node1"} 0
# HELP patroni_postgres_server_version Version of Postgres (if running), 0 otherwise.
# TYPE patroni_postgres_server_version gauge
patroni_postgres_server_version{scope="demo",name="node1"} 150004
# HELP patroni_cluster_unlocked Value is 1 if the cluster is unlocked, 0 if locked.
# TYPE patroni_cluster_unlocked gauge
patroni_cluster_unlocked{scope="demo",name="node1"} 0
# HELP patroni_failsafe_mode_is_active Value is 1 if failsafe mode is active, 0 if inactive.
# TYPE patroni_failsafe_mode_is_active gauge
patroni_failsafe_mode_is_active{scope="demo",name="node1"} 0
# HELP patroni_postgres_timeline Postgres timeline of this node (if running), 0 otherwise.
# TYPE patroni_postgres_timeline gauge
patroni_postgres_timeline{scope="demo",name="node1"} 3
# HELP patroni_dcs_last_seen Epoch timestamp when DCS was last contacted successfully by Patroni.
# TYPE patroni_dcs_last_seen gauge
patroni_dcs_last_seen{scope="demo",name="node1"} 1718022900
# HELP patroni_pending_restart Value is 1 if the node needs a restart, 0 otherwise.
# TYPE patroni_pending_restart gauge
patroni_pending_restart{scope="demo",name="node1"} 1
# HELP patroni_is_paused Value is 1 if auto failover is disabled, 0 otherwise.
# TYPE patroni_is_paused gauge
patroni_is_paused{scope="demo",name="node1"} 1
# HELP patroni_postgres_state Numeric representation of Postgres state.
# Values: 0=initdb, 1=initdb_failed, 2=custom_bootstrap, 3=custom_bootstrap_failed, 4=creating_replica, 5=running, 6=starting, 7=bootstrap_starting, 8=start_failed, 9=restarting, 10=restart_failed, 11=stopping, 12=stopped, 13=stop_failed, 14=crashed
# TYPE patroni_postgres_state gauge
patroni_postgres_state{scope="demo",name="node1"} 5

"""#

    static let patroniStopped = #"""
# HELP patroni_version Patroni semver without periods.
# TYPE patroni_version gauge
patroni_version{scope="demo",name="node1"} 040105
# HELP patroni_postgres_running Value is 1 if Postgres is running, 0 otherwise.
# TYPE patroni_postgres_running gauge
patroni_postgres_running{scope="demo",name="node1"} 0
# HELP patroni_postmaster_start_time Epoch seconds since Postgres started.
# TYPE patroni_postmaster_start_time gauge
patroni_postmaster_start_time{scope="demo",name="node1"} 0
# HELP patroni_primary Value is 1 if this node is the leader, 0 otherwise.
# TYPE patroni_primary gauge
patroni_primary{scope="demo",name="node1"} 0
# HELP patroni_xlog_location Current location of the Postgres transaction log, 0 if this node is not the leader.
# TYPE patroni_xlog_location counter
patroni_xlog_location{scope="demo",name="node1"} 0
# HELP patroni_standby_leader Value is 1 if this node is the standby_leader, 0 otherwise.
# TYPE patroni_standby_leader gauge
patroni_standby_leader{scope="demo",name="node1"} 0
# HELP patroni_replica Value is 1 if this node is a replica, 0 otherwise.
# TYPE patroni_replica gauge
patroni_replica{scope="demo",name="node1"} 1
# HELP patroni_sync_standby Value is 1 if this node is a sync standby, 0 otherwise.
# TYPE patroni_sync_standby gauge
patroni_sync_standby{scope="demo",name="node1"} 0
# HELP patroni_quorum_standby Value is 1 if this node is a quorum standby, 0 otherwise.
# TYPE patroni_quorum_standby gauge
patroni_quorum_standby{scope="demo",name="node1"} 0
# HELP patroni_xlog_received_location Current location of the received Postgres transaction log, 0 if this node is not a replica.
# TYPE patroni_xlog_received_location counter
patroni_xlog_received_location{scope="demo",name="node1"} 0
# HELP patroni_xlog_replayed_location Current location of the replayed Postgres transaction log, 0 if this node is not a replica.
# TYPE patroni_xlog_replayed_location counter
patroni_xlog_replayed_location{scope="demo",name="node1"} 0
# HELP patroni_xlog_replayed_timestamp Current timestamp of the replayed Postgres transaction log, 0 if null.
# TYPE patroni_xlog_replayed_timestamp gauge
patroni_xlog_replayed_timestamp{scope="demo",name="node1"} 0
# HELP patroni_xlog_paused Value is 1 if the Postgres xlog is paused, 0 otherwise.
# TYPE patroni_xlog_paused gauge
patroni_xlog_paused{scope="demo",name="node1"} 0
# HELP patroni_postgres_server_version Version of Postgres (if running), 0 otherwise.
# TYPE patroni_postgres_server_version gauge
patroni_postgres_server_version{scope="demo",name="node1"} 0
# HELP patroni_cluster_unlocked Value is 1 if the cluster is unlocked, 0 if locked.
# TYPE patroni_cluster_unlocked gauge
patroni_cluster_unlocked{scope="demo",name="node1"} 1
# HELP patroni_failsafe_mode_is_active Value is 1 if failsafe mode is active, 0 if inactive.
# TYPE patroni_failsafe_mode_is_active gauge
patroni_failsafe_mode_is_active{scope="demo",name="node1"} 0
# HELP patroni_postgres_timeline Postgres timeline of this node (if running), 0 otherwise.
# TYPE patroni_postgres_timeline gauge
patroni_postgres_timeline{scope="demo",name="node1"} 0
# HELP patroni_dcs_last_seen Epoch timestamp when DCS was last contacted successfully by Patroni.
# TYPE patroni_dcs_last_seen gauge
patroni_dcs_last_seen{scope="demo",name="node1"} 0
# HELP patroni_pending_restart Value is 1 if the node needs a restart, 0 otherwise.
# TYPE patroni_pending_restart gauge
patroni_pending_restart{scope="demo",name="node1"} 0
# HELP patroni_is_paused Value is 1 if auto failover is disabled, 0 otherwise.
# TYPE patroni_is_paused gauge
patroni_is_paused{scope="demo",name="node1"} 0
# HELP patroni_postgres_state Numeric representation of Postgres state.
# Values: 0=initdb, 1=initdb_failed, 2=custom_bootstrap, 3=custom_bootstrap_failed, 4=creating_replica, 5=running, 6=starting, 7=bootstrap_starting, 8=start_failed, 9=restarting, 10=restart_failed, 11=stopping, 12=stopped, 13=stop_failed, 14=crashed
# TYPE patroni_postgres_state gauge
patroni_postgres_state{scope="demo",name="node1"} 12

"""#

    static func base() -> NodeSnapshot { NodeSnapshot(scope: "demo", name: "node1") }

    @Test func primaryMatchesPatroni() {
        var s = Self.base()
        s.state = .running
        s.postmasterStartTime = "2024-06-10 12:34:56.123456+00:00"
        s.role = .primary
        s.serverVersion = 150004
        s.xlog = .primary(location: 67_108_864)
        s.timeline = 3
        s.clusterUnlocked = false
        s.dcsLastSeen = 1_718_022_896
        #expect(MetricsEndpoint.render(s) == Self.patroniPrimary + Self.failoverPriority(1))
    }

    @Test func replicaMatchesPatroni() {
        var s = Self.base()
        s.state = .running
        s.postmasterStartTime = "2024-06-10 12:34:56.000000+00:00"
        s.role = .replica
        s.serverVersion = 150004
        s.xlog = .replica(receivedLocation: 50_331_800, replayedLocation: 50_331_648,
                          replayedTimestamp: "2024-06-10 12:40:01.500000+00:00", paused: false)
        s.isSyncStandby = true
        s.timeline = 3
        s.replicationState = "streaming"
        s.pause = true
        s.clusterUnlocked = false
        s.dcsLastSeen = 1_718_022_900
        s.pendingRestart = true
        s.pendingRestartReason = obj(["shared_buffers": ["old_value": "128MB", "new_value": "256MB"]])
        s.tags = obj(["failover_priority": 3])
        #expect(MetricsEndpoint.render(s) == Self.patroniReplica + Self.failoverPriority(3))
    }

    @Test func stoppedMatchesPatroni() {
        var s = Self.base()
        s.state = .stopped
        s.role = .replica
        s.clusterUnlocked = true
        s.tags = obj(["nofailover": true])
        #expect(MetricsEndpoint.render(s) == Self.patroniStopped + Self.failoverPriority(0))
    }

    @Test func stazOwnGaugesWhenMeasured() {
        var s = Self.base()
        s.lastLoopDuration = .milliseconds(250)
        s.lastDCSRequestDuration = .microseconds(1500)
        s.lastFailoverDuration = .seconds(2)
        let text = MetricsEndpoint.render(s)
        let lines = Set(text.split(separator: "\n").map(String.init))
        #expect(lines.contains(#"staz_loop_duration_seconds{scope="demo",name="node1"} 0.25"#))
        #expect(lines.contains(#"staz_dcs_request_duration_seconds{scope="demo",name="node1"} 0.0015"#))
        #expect(lines.contains(#"staz_last_failover_duration_seconds{scope="demo",name="node1"} 2.0"#))
        #expect(lines.contains("# TYPE staz_loop_duration_seconds gauge"))
        #expect(lines.contains("# HELP staz_loop_duration_seconds Duration of the last HA cycle in seconds."))
        // Not measured yet: not exported (rather than a misleading 0).
        #expect(!MetricsEndpoint.render(Self.base()).contains("staz_"))
    }

    /// Patroni's `PostgresqlState` indexes and names: a monitoring contract that never changes.
    @Test("state index and name as Patroni numbers them", arguments: [
        ("initializing new cluster", 0, "initdb"), ("initdb failed", 1, "initdb_failed"),
        ("running custom bootstrap script", 2, "custom_bootstrap"), ("custom bootstrap failed", 3, "custom_bootstrap_failed"),
        ("creating replica", 4, "creating_replica"), ("running", 5, "running"), ("starting", 6, "starting"),
        ("starting after custom bootstrap", 7, "bootstrap_starting"), ("start failed", 8, "start_failed"),
        ("restarting", 9, "restarting"), ("restart failed", 10, "restart_failed"), ("stopping", 11, "stopping"),
        ("stopped", 12, "stopped"), ("stop failed", 13, "stop_failed"), ("crashed", 14, "crashed"),
    ])
    func stateIndex(state: String, index: Int, name: String) throws {
        var s = Self.base()
        s.state = try #require(MemberState(rawValue: state))
        let text = MetricsEndpoint.render(s)
        #expect(text.contains("\npatroni_postgres_state{scope=\"demo\",name=\"node1\"} \(index)\n"))
        #expect(text.contains(index == 0 ? "# Values: 0=\(name), " : ", \(index)=\(name)"))
        #expect(MemberState.allCases.count == 15)
    }

    @Test("timestamps as Python's total_seconds()", arguments: [
        ("2024-06-10 12:34:56.123456+00:00", "1718022896.123456"),
        ("2024-06-10 12:34:56+00:00", "1718022896.0"),
        ("2024-06-10 14:34:56.5+02:00", "1718022896.5"),
        ("2024-06-10T12:34:56.000001Z", "1718022896.000001"),
        ("garbage", nil),
    ])
    func epochSeconds(text: String, expected: String?) {
        #expect(MetricsEndpoint.epochSeconds(text) == expected)
    }

    @Test func versionPadding() {
        #expect(MetricsEndpoint.paddedSemver("4.1.5") == "040105")
        #expect(MetricsEndpoint.paddedSemver("3.10.2") == "031002")
    }

    @Test func endpointAnswersPlainText() {
        let response = MetricsEndpoint.response(snapshot: Self.base(), now: .now)
        #expect(response.status == .ok)
        #expect(response.contentType == "text/plain")
    }
}
