"""The fault timeline printed when a campaign fails: cluster events (faults, heals, leaders,
ctl output), the monitor's role changes per member, bursts of failed client statements and
every dual-primary sample, merged in time order (seconds since the cluster was created), so a
red CI run can be diagnosed from its output alone."""


def render_timeline(cluster, workload, monitor, result, max_lines=1500):
    origin = cluster.started_at
    entries = [(t, "cluster", text) for t, text in cluster.events]
    if monitor is not None:
        names = {"P": "accepts writes (not in recovery)", "R": "in recovery",
                 "X": "no answer"}
        for at, member, state in monitor.transitions():
            entries.append((at - origin, "monitor", f"{member}: {names.get(state, state)}"))
        for at, first, second in result.dual_primary:
            entries.append((at - origin, "DUAL", f"{first} and {second} both accept writes"))
    if workload is not None:
        entries += _error_bursts(workload, origin)
        lost = set(result.lost_ids)
        for fault in result.faults:
            lost |= set(fault.lost_on_leader)
        for lost_id in sorted(lost)[:20]:
            address, at = workload.acked.get(lost_id, ("?", origin))
            entries.append((at - origin, "LOST", f"id {lost_id} acknowledged by {address}, "
                                                  "missing afterwards"))
    entries.sort(key=lambda entry: entry[0])
    lines = [f"==== fault timeline ({cluster.dir}, members: "
             + ", ".join(f"{m.name}={m.address}:{m.pg_port}" for m in cluster.members.values())
             + ") ===="]
    lines += [f"  +{t:7.2f}s {source:8s} {text}" for t, source, text in entries]
    if len(lines) > max_lines:
        lines = lines[:100] + [f"  ... {len(lines) - max_lines} lines left out ..."] + \
            lines[-(max_lines - 100):]
    return "\n".join(lines)


def _error_bursts(workload, origin):
    """Failed client statements grouped per second: count and the first message."""
    bursts = {}
    for at, _, message in workload.errors:
        second = int(at - origin)
        if second not in bursts:
            bursts[second] = [at - origin, 0, message]
        bursts[second][1] += 1
    return [(start, "clients", f"{count} failed statement(s), e.g. {message[:120]}")
            for start, count, message in bursts.values()]
