"""Fault-injection campaigns: members in network namespaces, the fault catalog, the workload
and primary-monitor helper processes, and the soak runner."""
