// Generated from Python 3.11 `difflib.unified_diff` (what patronictl's show_diff prints) on these
// texts; the 260-line case exercises difflib's autojunk of popular lines. Do not edit by hand.

enum DiffGolden {
    static let cases: [(before: String, after: String, lines: [String])] = [
        ("loop_wait: 10\nmaximum_lag_on_failover: 1048576\npostgresql:\n  parameters:\n    max_connections: 100\n  use_pg_rewind: true\nretry_timeout: 10\nttl: 30\n", "loop_wait: 10\nmaximum_lag_on_failover: 1048576\npostgresql:\n  parameters:\n    max_connections: 150\n    work_mem: 8MB\n  use_pg_rewind: true\nretry_timeout: 10\n",
         ["--- ", "+++ ", "@@ -2,7 +2,7 @@", " maximum_lag_on_failover: 1048576", " postgresql:", "   parameters:", "-    max_connections: 100", "+    max_connections: 150", "+    work_mem: 8MB", "   use_pg_rewind: true", " retry_timeout: 10", "-ttl: 30"]),
        ("k0: 0\nk1: 1\nk2: 2\nk3: 3\nk4: 4\nk5: 5\nk6: 6\nk7: 7\nk8: 8\nk9: 9\nk10: 10\nk11: 11\nk12: 12\nk13: 13\nk14: 14\nk15: 15\nk16: 16\nk17: 17\nk18: 18\nk19: 19\nk20: 20\nk21: 21\nk22: 22\nk23: 23\nk24: 24\nk25: 25\nk26: 26\nk27: 27\nk28: 28\nk29: 29\n", "k0: 0\nk1: 1\nk2: 2\nk3: 33\nk4: 4\nk5: 5\nk6: 6\nk7: 7\nk8: 8\nk9: 9\nk10: 10\nk11: 11\nk12: 12\nk13: 13\nk14: 14\nk15: 15\nk16: 16\nk17: 17\nk18: 18\nk19: 19\nk20: 20\nk21: 21\nk22: 22\nk23: 23\nk24: 24\nk26: 26\nk27: 27\nk28: 28\nk29: 29\n",
         ["--- ", "+++ ", "@@ -1,7 +1,7 @@", " k0: 0", " k1: 1", " k2: 2", "-k3: 3", "+k3: 33", " k4: 4", " k5: 5", " k6: 6", "@@ -23,7 +23,6 @@", " k22: 22", " k23: 23", " k24: 24", "-k25: 25", " k26: 26", " k27: 27", " k28: 28"]),
        ("a: 1\n", "b: 2\n",
         ["--- ", "+++ ", "@@ -1 +1 @@", "-a: 1", "+b: 2"]),
    ]
    static let long2Lines: [String] = ["--- ", "+++ ", "@@ -98,7 +98,8 @@", " x: 1", " y98: 0", " x: 1", "-y100: 0", "+y100: 1", "+z: 2", " x: 1", " y102: 0", " x: 1"]
}
