"""B1a (PostgreSQL of the primary killed, daemon alive), B1b (the primary's node lost) and
B2 (switchover write gap), all measured by staz-probe writing every 10 ms through HAProxy."""

import json
import signal
import time

from .measure import etcd_put
from .probe import Probe, failed_between, first_ack_after, longest_ack_gap
from .session import ensure_healthy
from testkit.support import http_request, wait_until

WARMUP_S = 1.0  # probe writes acknowledged before the fault, so the gap has a left edge
PROBE_START_S = 30.0  # bound on the probe's first acknowledged write (it is its own process)


def _warm_up(probe, name):
    """Waits for the probe's first acknowledged write, then WARMUP_S more. A fixed sleep was
    not enough: on a loaded machine the probe process had not connected after one second
    and the run died with "no acknowledged write before the fault" (harness, not product)."""
    if probe.wait_first_ack_after(0, PROBE_START_S) is None:
        raise RuntimeError(f"{name}: the probe had no acknowledged write {PROBE_START_S:.0f} s after it started")
    time.sleep(WARMUP_S)


def fault_run(cluster, name, inject, timeout, replicas=2):
    """Starts the probe, injects the fault, waits for the first acknowledged write after the
    outage it caused. Returns (seconds from fault to that ack or None, details)."""
    leader_name = ensure_healthy(cluster, replicas=replicas)
    leader = cluster.member_named(leader_name)
    probe = Probe(cluster, name)
    try:
        _warm_up(probe, name)
        fault = time.time()
        inject(leader)
        ack, early_acks = probe.wait_recovery_after(fault, timeout)
        time.sleep(0.3)
    finally:
        rows = probe.stop()
    if not any(r["ok"] and r["ack"] < fault for r in rows):
        raise RuntimeError(f"{name}: the probe had no acknowledged write before the fault")
    new_leader = cluster.leader_name()
    details = {"old_leader": leader_name, "new_leader": new_leader,
               "acks_after_fault_before_outage": early_acks,
               "failed_attempts": failed_between(rows, fault, ack or time.time()),
               "write_gap_s": longest_ack_gap(rows, fault, ack or time.time())}
    return (ack - fault if ack else None), details


def run_b1b(context, setup, reps):
    """kill -9 of the leader's daemon and postmaster together; the member is restarted after
    the measurement (it rejoins as a replica) so the next repetition starts healthy."""
    cluster = context.session.cluster_for(setup)
    timeout = setup.ttl + 4 * setup.loop_wait + 2 * setup.retry_timeout + 30
    values, runs = [], []
    for rep in range(reps):
        value, details = fault_run(cluster, f"b1b-{setup.key}-{rep}",
                                    lambda member: member.crash(), timeout)
        values.append(value)
        runs.append(details)
        context.progress(f"B1b {setup.key} rep {rep + 1}/{reps}: {value}")
        ensure_healthy(cluster)
    context.record("B1b", setup, "failover: first ack after the fault", "s", values, runs)


def run_b1a(context, setup, reps):
    """kill -9 of the leader's postmaster only; the daemon decides: restart in place
    (primary_start_timeout) or fail over."""
    cluster = context.session.cluster_for(setup)
    timeout = setup.ttl + 4 * setup.loop_wait + 2 * setup.retry_timeout + 330
    values, runs = [], []
    for rep in range(reps):
        value, details = fault_run(cluster, f"b1a-{setup.key}-{rep}",
                                    lambda member: member.kill_postmaster(signal.SIGKILL), timeout)
        details["outcome"] = ("restarted in place" if details["new_leader"] == details["old_leader"]
                              else "failover")
        values.append(value)
        runs.append(details)
        context.progress(f"B1a {setup.key} rep {rep + 1}/{reps}: {value} ({details['outcome']})")
        ensure_healthy(cluster)
    outcomes = sorted({r["outcome"] for r in runs})
    context.record("B1a", setup, "PG killed: first ack after the fault", "s", values, runs,
                   note="; ".join(outcomes))


def _request_switchover(cluster, leader, candidate):
    """POST /switchover to the leader (what patronictl does). When the daemon does not
    implement it, falls back to writing the DCS /failover key (patronictl's own fallback
    when the REST call fails). Returns the method used."""
    status, body = http_request(leader.api_port, "/switchover", "POST",
                                {"leader": leader.name, "candidate": candidate}, timeout=60)
    if status in (200, 202):
        return "POST /switchover"
    etcd_put(cluster.etcd_port, f"/service/{cluster.scope}/failover",
             json.dumps({"leader": leader.name, "member": candidate}))
    return f"DCS /failover key (POST /switchover answered {status}: {str(body)[:80]})"


def run_b2(context, setup, reps):
    cluster = context.session.cluster_for(setup)
    values, runs, methods = [], [], set()
    for rep in range(reps):
        leader_name = ensure_healthy(cluster)
        leader = cluster.member_named(leader_name)
        candidate = cluster.streaming_replicas()[0]
        probe = Probe(cluster, f"b2-{setup.key}-{rep}")
        error = None
        try:
            _warm_up(probe, f"b2-{setup.key}-{rep}")
            requested = time.time()
            methods.add(_request_switchover(cluster, leader, candidate).split(" (")[0])
            try:
                wait_until(lambda: cluster.leader_name() == candidate, 60,
                           f"{candidate} leads after the switchover", interval=0.1)
            except AssertionError as failure:
                error = str(failure).splitlines()[0]
            ack = probe.wait_first_ack_after(time.time(), 30) if error is None else None
            time.sleep(0.5)
        finally:
            rows = probe.stop()
        gap = longest_ack_gap(rows, requested, ack) if ack else None
        values.append(gap)
        runs.append({"leader": leader_name, "candidate": candidate, "error": error,
                     "failed_attempts": failed_between(rows, requested, ack or time.time()),
                     "request_to_first_ack_on_new_primary_s":
                         (first_ack_after(rows, requested) and ack and ack - requested)})
        context.progress(f"B2 {setup.key} rep {rep + 1}/{reps}: gap {gap} {error or ''}")
        if error:
            break  # the daemon cannot switch over: no point repeating
    note = "via " + ", ".join(sorted(methods))
    if any(r["error"] for r in runs):
        note += "; SWITCHOVER FAILED: " + next(r["error"] for r in runs if r["error"])
    context.record("B2", setup, "switchover write gap (longest time without an ack)", "s",
                   values, runs, note=note)
