import Foundation
import StazCore
@testable import StazConfig

/// A Patroni `postgres0.yml`-style configuration (etcd3 instead of etcd).
let patroniSampleYAML = """
scope: batman
#namespace: /service/
name: postgresql0

restapi:
  listen: 127.0.0.1:8008
  connect_address: 127.0.0.1:8008
  authentication:
    username: username
    password: password

ctl:
  insecure: false
  cacert: /etc/ssl/certs/ca.pem

etcd3:
  hosts:
  - 127.0.0.1:2379
  - etcd2:2380
  - etcd3
  protocol: http
  username: root
  password: secret

bootstrap:
  dcs:
    ttl: 30
    loop_wait: 10
    retry_timeout: 10
    maximum_lag_on_failover: 1048576
    synchronous_mode: on
    postgresql:
      use_pg_rewind: true
      pg_hba:
      - host replication replicator 127.0.0.1/32 md5
      - host all all 0.0.0.0/0 md5
      parameters:
        max_connections: 200
        hot_standby: "on"
        archive_mode: "on"
        archive_timeout: 1800s
  initdb:
  - encoding: UTF8
  - data-checksums
  pg_hba:
  - host all all 10.0.0.0/8 md5
  post_init: /usr/local/bin/setup_cluster.sh

postgresql:
  listen: 0.0.0.0:5432
  data_dir: data/postgresql0
  pgpass: /tmp/pgpass0
  authentication:
    replication:
      username: replicator
      password: rep-pass
    superuser:
      username: postgres
      password: zalando
      sslmode: prefer
    rewind:
      username: rewind_user
      password: rewind_password
  parameters:
    unix_socket_directories: '..'
    work_mem: 8MB
  basebackup:
  - verbose
  - max-rate: 100M
  callbacks:
    on_start: /bin/true
  pg_ctl_timeout: 90

tags:
  noloadbalance: false
  clonefrom: true
  nosync: false
  dc: eu-west
"""

func sampleRaw() throws -> JSONObject {
    guard case .object(let o) = try YAMLConversion.parse(patroniSampleYAML) else { fatalError("fixture is not a mapping") }
    return o
}

/// Returns `object` with the value at a dotted `path` replaced (nil removes it), creating
/// intermediate mappings.
func setting(_ path: String, to value: JSONValue?, in object: JSONObject) -> JSONObject {
    var parts = path.split(separator: ".").map(String.init)
    let first = parts.removeFirst()
    var result = object
    if parts.isEmpty {
        result[first] = value
    } else {
        let child = result[first]?.objectValue ?? JSONObject()
        result[first] = .object(setting(parts.joined(separator: "."), to: value, in: child))
    }
    return result
}

/// Parses `raw` expecting a ConfigError; returns it (nil if parsing succeeded).
func configError(_ raw: JSONObject) -> ConfigError? {
    do { _ = try ConfigLoader.parse(raw, environment: ["HOME": "/home/test"]); return nil } catch let e as ConfigError { return e } catch { return nil }
}

/// A scratch directory removed by the caller.
func makeTemporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "staz-config-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
