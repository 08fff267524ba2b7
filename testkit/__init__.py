"""The Python test kit shared by tests/integration, tests/faults and bench/: throw-away
clusters of real processes (etcd, staz or Patroni members with PostgreSQL, HAProxy) on given
port ranges, the three-zone mesh, pgBackRest, the acknowledged-write workload, and the fault
campaigns (testkit.faults). Import it from the repository root: `python3 -m pytest ...`,
`python3 -m bench.run ...`, `python3 -m testkit.faults.soak ...` (pytest.ini puts the root on
the path for a bare `pytest` too)."""
