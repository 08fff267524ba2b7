// Generated from real `patronictl 4.1.5` runs against etcd holding these keys
// (see the report: /tmp/api-etcd/seed.sh). Do not edit by hand.
import StazCore

enum Golden {
    static let keys: [String: [String: String]] = [
        "demo": [
            "initialize": #"7455059393830273421"#,
            "config": #"{"ttl":30,"loop_wait":10,"retry_timeout":10,"maximum_lag_on_failover":1048576,"postgresql":{"use_pg_rewind":true,"parameters":{"max_connections":100,"wal_level":"replica","archive_command":"cp %p /tmp/%f"}},"synchronous_mode":false,"tags_note":"on","check_timeline":"true"}"#,
            "leader": #"node1"#,
            "status": #"{"optime":67108864,"slots":{"node2":67108864},"retain_slots":["node2","node3"]}"#,
            "history": #"[[1,50331808,"no recovery target specified","2025-01-02T10:05:00.123456+00:00","node1"],[2,67108976,"no recovery target specified"]]"#,
            "members/node1": #"{"conn_url":"postgres://127.0.0.1:5432/postgres","api_url":"http://127.0.0.1:8008/patroni","state":"running","role":"primary","version":"4.1.5","xlog_location":67108864,"timeline":3}"#,
            "members/node2": #"{"conn_url":"postgres://127.0.0.2:5432/postgres","api_url":"http://127.0.0.2:8008/patroni","state":"running","role":"replica","version":"4.1.5","replication_state":"streaming","receive_lsn":67108864,"replay_lsn":50331648,"xlog_location":67108864,"timeline":3}"#,
            "members/node3": #"{"conn_url":"postgres://127.0.0.3:5432/postgres","api_url":"http://127.0.0.3:8008/patroni","state":"running","role":"replica","version":"4.1.5","replication_state":"in archive recovery","receive_lsn":0,"replay_lsn":33554432,"xlog_location":33554432,"timeline":3}"#,
            "members/node4": #"{"conn_url":"postgres://127.0.0.4:5432/postgres","api_url":"http://127.0.0.4:8008/patroni","state":"stopped","role":"replica","version":"4.1.5"}"#,
        ],
        "paused": [
            "initialize": #"7000000000000000001"#,
            "config": #"{"ttl":30,"pause":true,"synchronous_mode":true}"#,
            "leader": #"alpha"#,
            "status": #"{"optime":100663296}"#,
            "sync": #"{"leader":"alpha","sync_standby":"beta","quorum":0}"#,
            "failover": #"{"leader":"alpha","member":"beta","scheduled_at":"2030-05-06T07:08:09+00:00"}"#,
            "members/alpha": #"{"conn_url":"postgres://10.0.0.1:5433/postgres","api_url":"http://10.0.0.1:8008/patroni","state":"running","role":"primary","version":"4.1.5","xlog_location":100663296,"timeline":1,"pause":true,"tags":{"dc":"east"}}"#,
            "members/beta": #"{"conn_url":"postgres://10.0.0.2:5432/postgres","api_url":"http://10.0.0.2:8008/patroni","state":"running","role":"replica","version":"4.1.5","replication_state":"streaming","receive_lsn":100663296,"replay_lsn":90000000,"xlog_location":100663296,"timeline":1,"pending_restart":true,"pending_restart_reason":{"max_connections":{"old_value":"100","new_value":"200"}},"tags":{"nofailover":true,"replicatefrom":"gamma"}}"#,
            "members/gamma": #"{"conn_url":"postgres://10.0.0.3:5432/postgres","api_url":"http://10.0.0.3:8008/patroni","state":"running","role":"replica","version":"4.1.5","replication_state":"streaming","receive_lsn":100663296,"replay_lsn":100663296,"xlog_location":100663296,"timeline":1,"scheduled_restart":{"schedule":"2030-01-01T00:00:00+00:00","postgres_version":"16.1"}}"#,
        ],
        "fresh": [
            "members/solo": #"{"conn_url":"postgres://127.0.0.9:5432/postgres","api_url":"http://127.0.0.9:8008/patroni","state":"initializing new cluster","role":"uninitialized","version":"4.1.5"}"#,
        ],
    ]
    static func view(_ scope: String) -> ClusterView {
        ClusterView.fromKeys((keys[scope] ?? [:]).mapValues { DCSRawValue(value: $0, version: "1") })
    }
    static let outputs: [String: String] = [
        "history-demo-json": #"""
[{"TL": 1, "LSN": 50331808, "Reason": "no recovery target specified", "Timestamp": "2025-01-02T10:05:00.123456+00:00", "New Leader": "node1"}, {"TL": 2, "LSN": 67108976, "Reason": "no recovery target specified", "Timestamp": "", "New Leader": ""}]
"""#,
        "history-demo-tsv": #"""
TL	LSN	Reason	Timestamp	New Leader
1	50331808	no recovery target specified	2025-01-02T10:05:00.123456+00:00	node1
2	67108976	no recovery target specified		
"""#,
        "history-demo-yaml": #"""
- LSN: 50331808
  New Leader: node1
  Reason: no recovery target specified
  TL: 1
  Timestamp: '2025-01-02T10:05:00.123456+00:00'
- LSN: 67108976
  New Leader: ''
  Reason: no recovery target specified
  TL: 2
  Timestamp: ''

"""#,
        "history-demo": #"""
+----+----------+------------------------------+----------------------------------+------------+
| TL |      LSN | Reason                       | Timestamp                        | New Leader |
+----+----------+------------------------------+----------------------------------+------------+
|  1 | 50331808 | no recovery target specified | 2025-01-02T10:05:00.123456+00:00 | node1      |
|  2 | 67108976 | no recovery target specified |                                  |            |
+----+----------+------------------------------+----------------------------------+------------+
"""#,
        "history-fresh-json": #"""
[]
"""#,
        "history-fresh-tsv": #"""
TL	LSN	Reason	Timestamp	New Leader
"""#,
        "history-fresh-yaml": #"""
[]

"""#,
        "history-fresh": #"""
+----+-----+--------+-----------+------------+
| TL | LSN | Reason | Timestamp | New Leader |
+----+-----+--------+-----------+------------+
+----+-----+--------+-----------+------------+
"""#,
        "history-paused-json": #"""
[]
"""#,
        "history-paused-tsv": #"""
TL	LSN	Reason	Timestamp	New Leader
"""#,
        "history-paused-yaml": #"""
[]

"""#,
        "history-paused": #"""
+----+-----+--------+-----------+------------+
| TL | LSN | Reason | Timestamp | New Leader |
+----+-----+--------+-----------+------------+
+----+-----+--------+-----------+------------+
"""#,
        "list-demo-extended": #"""
+ Cluster: demo (7455059393830273421) ---------------+----+-------------+-----+------------+-----+-----------------+------------------------+-------------------+------+
| Member | Host      | Role    | State               | TL | Receive LSN | Lag | Replay LSN | Lag | Pending restart | Pending restart reason | Scheduled restart | Tags |
+--------+-----------+---------+---------------------+----+-------------+-----+------------+-----+-----------------+------------------------+-------------------+------+
| node1  | 127.0.0.1 | Leader  | running             |  3 |             |     |            |     |                 |                        |                   |      |
| node2  | 127.0.0.2 | Replica | streaming           |  3 |   0/4000000 |   0 |  0/3000000 |  16 |                 |                        |                   |      |
| node3  | 127.0.0.3 | Replica | in archive recovery |  3 |     unknown |     |  0/2000000 |  32 |                 |                        |                   |      |
| node4  | 127.0.0.4 | Replica | stopped             |    |     unknown |     |    unknown |     |                 |                        |                   |      |
+--------+-----------+---------+---------------------+----+-------------+-----+------------+-----+-----------------+------------------------+-------------------+------+
"""#,
        "list-demo-json": #"""
[{"Cluster": "demo", "Member": "node1", "Host": "127.0.0.1", "Role": "Leader", "State": "running", "TL": 3}, {"Cluster": "demo", "Member": "node2", "Host": "127.0.0.2", "Role": "Replica", "State": "streaming", "TL": 3, "Receive LSN": "0/4000000", "Receive Lag": 0, "Replay LSN": "0/3000000", "Replay Lag": 16}, {"Cluster": "demo", "Member": "node3", "Host": "127.0.0.3", "Role": "Replica", "State": "in archive recovery", "TL": 3, "Receive LSN": "unknown", "Replay LSN": "0/2000000", "Replay Lag": 32}, {"Cluster": "demo", "Member": "node4", "Host": "127.0.0.4", "Role": "Replica", "State": "stopped", "Receive LSN": "unknown", "Replay LSN": "unknown"}]
"""#,
        "list-demo-pretty": #"""
+ Cluster: demo (7455059393830273421) ---------------+----+-------------+-----+------------+-----+
| Member | Host      | Role    | State               | TL | Receive LSN | Lag | Replay LSN | Lag |
+--------+-----------+---------+---------------------+----+-------------+-----+------------+-----+
| node1  | 127.0.0.1 | Leader  | running             |  3 |             |     |            |     |
| node2  | 127.0.0.2 | Replica | streaming           |  3 |   0/4000000 |   0 |  0/3000000 |  16 |
| node3  | 127.0.0.3 | Replica | in archive recovery |  3 |     unknown |     |  0/2000000 |  32 |
| node4  | 127.0.0.4 | Replica | stopped             |    |     unknown |     |    unknown |     |
+--------+-----------+---------+---------------------+----+-------------+-----+------------+-----+
"""#,
        "list-demo-tsv": #"""
Cluster	Member	Host	Role	State	TL	Receive LSN	Receive Lag	Replay LSN	Replay Lag
demo	node1	127.0.0.1	Leader	running	3				
demo	node2	127.0.0.2	Replica	streaming	3	0/4000000	0	0/3000000	16
demo	node3	127.0.0.3	Replica	in archive recovery	3	unknown		0/2000000	32
demo	node4	127.0.0.4	Replica	stopped		unknown		unknown	
"""#,
        "list-demo-yaml": #"""
- Cluster: demo
  Host: 127.0.0.1
  Member: node1
  Role: Leader
  State: running
  TL: 3
- Cluster: demo
  Host: 127.0.0.2
  Member: node2
  Receive LSN: 0/4000000
  Receive Lag: 0
  Replay LSN: 0/3000000
  Replay Lag: 16
  Role: Replica
  State: streaming
  TL: 3
- Cluster: demo
  Host: 127.0.0.3
  Member: node3
  Receive LSN: unknown
  Replay LSN: 0/2000000
  Replay Lag: 32
  Role: Replica
  State: in archive recovery
  TL: 3
- Cluster: demo
  Host: 127.0.0.4
  Member: node4
  Receive LSN: unknown
  Replay LSN: unknown
  Role: Replica
  State: stopped

"""#,
        "list-fresh-extended": #"""
+ Cluster: fresh (uninitialized) -------------------------+----+-------------+-----+------------+-----+-----------------+------------------------+-------------------+------+
| Member | Host      | Role    | State                    | TL | Receive LSN | Lag | Replay LSN | Lag | Pending restart | Pending restart reason | Scheduled restart | Tags |
+--------+-----------+---------+--------------------------+----+-------------+-----+------------+-----+-----------------+------------------------+-------------------+------+
| solo   | 127.0.0.9 | Replica | initializing new cluster |    |     unknown |     |    unknown |     |                 |                        |                   |      |
+--------+-----------+---------+--------------------------+----+-------------+-----+------------+-----+-----------------+------------------------+-------------------+------+
"""#,
        "list-fresh-json": #"""
[{"Cluster": "fresh", "Member": "solo", "Host": "127.0.0.9", "Role": "Replica", "State": "initializing new cluster", "Receive LSN": "unknown", "Replay LSN": "unknown"}]
"""#,
        "list-fresh-pretty": #"""
+ Cluster: fresh (uninitialized) -------------------------+----+-------------+-----+------------+-----+
| Member | Host      | Role    | State                    | TL | Receive LSN | Lag | Replay LSN | Lag |
+--------+-----------+---------+--------------------------+----+-------------+-----+------------+-----+
| solo   | 127.0.0.9 | Replica | initializing new cluster |    |     unknown |     |    unknown |     |
+--------+-----------+---------+--------------------------+----+-------------+-----+------------+-----+
"""#,
        "list-fresh-tsv": #"""
Cluster	Member	Host	Role	State	TL	Receive LSN	Receive Lag	Replay LSN	Replay Lag
fresh	solo	127.0.0.9	Replica	initializing new cluster		unknown		unknown	
"""#,
        "list-fresh-yaml": #"""
- Cluster: fresh
  Host: 127.0.0.9
  Member: solo
  Receive LSN: unknown
  Replay LSN: unknown
  Role: Replica
  State: initializing new cluster

"""#,
        "list-paused-extended": #"""
+ Cluster: paused (7000000000000000001) +-----------+----+-------------+-----+------------+-----+-----------------+---------------------------+---------------------------------------------+----------------------+
| Member | Host          | Role         | State     | TL | Receive LSN | Lag | Replay LSN | Lag | Pending restart | Pending restart reason    | Scheduled restart                           | Tags                 |
+--------+---------------+--------------+-----------+----+-------------+-----+------------+-----+-----------------+---------------------------+---------------------------------------------+----------------------+
| alpha  | 10.0.0.1:5433 | Leader       | running   |  1 |             |     |            |     |                 |                           |                                             | dc: east             |
+--------+---------------+--------------+-----------+----+-------------+-----+------------+-----+-----------------+---------------------------+---------------------------------------------+----------------------+
| beta   | 10.0.0.2:5432 | Sync Standby | streaming |  1 |   0/6000000 |   0 |  0/55D4A80 |  10 | *               | max_connections: 100->200 |                                             | nofailover: true     |
|        |               |              |           |    |             |     |            |     |                 |                           |                                             | replicatefrom: gamma |
+--------+---------------+--------------+-----------+----+-------------+-----+------------+-----+-----------------+---------------------------+---------------------------------------------+----------------------+
| gamma  | 10.0.0.3:5432 | Replica      | streaming |  1 |   0/6000000 |   0 |  0/6000000 |   0 |                 |                           | 2030-01-01T00:00:00+00:00 if version < 16.1 |                      |
+--------+---------------+--------------+-----------+----+-------------+-----+------------+-----+-----------------+---------------------------+---------------------------------------------+----------------------+
 Maintenance mode: on
 Switchover scheduled at: 2030-05-06T07:08:09+00:00
                    from: alpha
                      to: beta
"""#,
        "list-paused-json": #"""
[{"Cluster": "paused", "Member": "alpha", "Host": "10.0.0.1:5433", "Role": "Leader", "State": "running", "TL": 1, "Tags": {"dc": "east"}}, {"Cluster": "paused", "Member": "beta", "Host": "10.0.0.2:5432", "Role": "Sync Standby", "State": "streaming", "TL": 1, "Receive LSN": "0/6000000", "Receive Lag": 0, "Replay LSN": "0/55D4A80", "Replay Lag": 10, "Pending restart": "*", "Pending restart reason": "max_connections: 100->200", "Tags": {"nofailover": true, "replicatefrom": "gamma"}}, {"Cluster": "paused", "Member": "gamma", "Host": "10.0.0.3:5432", "Role": "Replica", "State": "streaming", "TL": 1, "Receive LSN": "0/6000000", "Receive Lag": 0, "Replay LSN": "0/6000000", "Replay Lag": 0, "Scheduled restart": "2030-01-01T00:00:00+00:00 if version < 16.1"}]
"""#,
        "list-paused-pretty": #"""
+ Cluster: paused (7000000000000000001) +-----------+----+-------------+-----+------------+-----+-----------------+---------------------------+---------------------------------------------+----------------------+
| Member | Host          | Role         | State     | TL | Receive LSN | Lag | Replay LSN | Lag | Pending restart | Pending restart reason    | Scheduled restart                           | Tags                 |
+--------+---------------+--------------+-----------+----+-------------+-----+------------+-----+-----------------+---------------------------+---------------------------------------------+----------------------+
| alpha  | 10.0.0.1:5433 | Leader       | running   |  1 |             |     |            |     |                 |                           |                                             | dc: east             |
+--------+---------------+--------------+-----------+----+-------------+-----+------------+-----+-----------------+---------------------------+---------------------------------------------+----------------------+
| beta   | 10.0.0.2:5432 | Sync Standby | streaming |  1 |   0/6000000 |   0 |  0/55D4A80 |  10 | *               | max_connections: 100->200 |                                             | nofailover: true     |
|        |               |              |           |    |             |     |            |     |                 |                           |                                             | replicatefrom: gamma |
+--------+---------------+--------------+-----------+----+-------------+-----+------------+-----+-----------------+---------------------------+---------------------------------------------+----------------------+
| gamma  | 10.0.0.3:5432 | Replica      | streaming |  1 |   0/6000000 |   0 |  0/6000000 |   0 |                 |                           | 2030-01-01T00:00:00+00:00 if version < 16.1 |                      |
+--------+---------------+--------------+-----------+----+-------------+-----+------------+-----+-----------------+---------------------------+---------------------------------------------+----------------------+
 Maintenance mode: on
 Switchover scheduled at: 2030-05-06T07:08:09+00:00
                    from: alpha
                      to: beta
"""#,
        "list-paused-tsv": #"""
Cluster	Member	Host	Role	State	TL	Receive LSN	Receive Lag	Replay LSN	Replay Lag	Pending restart	Pending restart reason	Scheduled restart	Tags
paused	alpha	10.0.0.1:5433	Leader	running	1								{dc: east}
paused	beta	10.0.0.2:5432	Sync Standby	streaming	1	0/6000000	0	0/55D4A80	10	*	max_connections: 100->200		{nofailover: true, replicatefrom: gamma}
paused	gamma	10.0.0.3:5432	Replica	streaming	1	0/6000000	0	0/6000000	0			2030-01-01T00:00:00+00:00 if version < 16.1	
"""#,
        "list-paused-yaml": #"""
- Cluster: paused
  Host: 10.0.0.1:5433
  Member: alpha
  Role: Leader
  State: running
  TL: 1
  Tags:
    dc: east
- Cluster: paused
  Host: 10.0.0.2:5432
  Member: beta
  Pending restart: '*'
  Pending restart reason: 'max_connections: 100->200'
  Receive LSN: 0/6000000
  Receive Lag: 0
  Replay LSN: 0/55D4A80
  Replay Lag: 10
  Role: Sync Standby
  State: streaming
  TL: 1
  Tags:
    nofailover: true
    replicatefrom: gamma
- Cluster: paused
  Host: 10.0.0.3:5432
  Member: gamma
  Receive LSN: 0/6000000
  Receive Lag: 0
  Replay LSN: 0/6000000
  Replay Lag: 0
  Role: Replica
  Scheduled restart: 2030-01-01T00:00:00+00:00 if version < 16.1
  State: streaming
  TL: 1

"""#,
        "showconfig-demo": #"""
check_timeline: 'true'
loop_wait: 10
maximum_lag_on_failover: 1048576
postgresql:
  parameters:
    archive_command: cp %p /tmp/%f
    max_connections: 100
    wal_level: replica
  use_pg_rewind: true
retry_timeout: 10
synchronous_mode: false
tags_note: 'on'
ttl: 30

"""#,
        "showconfig-fresh": #"""
"""#,
        "showconfig-paused": #"""
pause: true
synchronous_mode: true
ttl: 30

"""#,
        "topology-demo": #"""
+ Cluster: demo (7455059393830273421) ----------------+----+-------------+-----+------------+-----+
| Member  | Host      | Role    | State               | TL | Receive LSN | Lag | Replay LSN | Lag |
+---------+-----------+---------+---------------------+----+-------------+-----+------------+-----+
| node1   | 127.0.0.1 | Leader  | running             |  3 |             |     |            |     |
| + node2 | 127.0.0.2 | Replica | streaming           |  3 |   0/4000000 |   0 |  0/3000000 |  16 |
| + node3 | 127.0.0.3 | Replica | in archive recovery |  3 |     unknown |     |  0/2000000 |  32 |
| + node4 | 127.0.0.4 | Replica | stopped             |    |     unknown |     |    unknown |     |
+---------+-----------+---------+---------------------+----+-------------+-----+------------+-----+
"""#,
        "topology-fresh": #"""
+ Cluster: fresh (uninitialized) -------------------------+----+-------------+-----+------------+-----+
| Member | Host      | Role    | State                    | TL | Receive LSN | Lag | Replay LSN | Lag |
+--------+-----------+---------+--------------------------+----+-------------+-----+------------+-----+
| + solo | 127.0.0.9 | Replica | initializing new cluster |    |     unknown |     |    unknown |     |
+--------+-----------+---------+--------------------------+----+-------------+-----+------------+-----+
"""#,
        "topology-paused": #"""
+ Cluster: paused (7000000000000000001) --+-----------+----+-------------+-----+------------+-----+-----------------+---------------------------+---------------------------------------------+------------------------------------------+
| Member   | Host          | Role         | State     | TL | Receive LSN | Lag | Replay LSN | Lag | Pending restart | Pending restart reason    | Scheduled restart                           | Tags                                     |
+----------+---------------+--------------+-----------+----+-------------+-----+------------+-----+-----------------+---------------------------+---------------------------------------------+------------------------------------------+
| alpha    | 10.0.0.1:5433 | Leader       | running   |  1 |             |     |            |     |                 |                           |                                             | {dc: east}                               |
| + gamma  | 10.0.0.3:5432 | Replica      | streaming |  1 |   0/6000000 |   0 |  0/6000000 |   0 |                 |                           | 2030-01-01T00:00:00+00:00 if version < 16.1 |                                          |
|   + beta | 10.0.0.2:5432 | Sync Standby | streaming |  1 |   0/6000000 |   0 |  0/55D4A80 |  10 | *               | max_connections: 100->200 |                                             | {nofailover: true, replicatefrom: gamma} |
+----------+---------------+--------------+-----------+----+-------------+-----+------------+-----+-----------------+---------------------------+---------------------------------------------+------------------------------------------+
 Maintenance mode: on
 Switchover scheduled at: 2030-05-06T07:08:09+00:00
                    from: alpha
                      to: beta
"""#,
    ]
    static let dsn: [String: String] = [
        "dsn-demo-node3": #"host=127.0.0.3 port=5432"#,
        "dsn-demo-replica": #"host=127.0.0.2 port=5432"#,
        "dsn-demo": #"host=127.0.0.1 port=5432"#,
        "dsn-fresh-node3": #"Error: Can not find a suitable member"#,
        "dsn-fresh-replica": #"host=127.0.0.9 port=5432"#,
        "dsn-fresh": #"Error: Can not find a suitable member"#,
        "dsn-paused-node3": #"Error: Can not find a suitable member"#,
        "dsn-paused-replica": #"host=10.0.0.2 port=5432"#,
        "dsn-paused": #"host=10.0.0.1 port=5433"#,
    ]
}
