"""Runs staz-probe (Sources/staz-probe) against HAProxy's primary port and reads its log."""

import json
import os
import signal
import subprocess
import time

from .env import STAZ_BIN
from testkit.support import SUPERUSER_PASSWORD


class Probe:
    def __init__(self, cluster, name):
        self.output = cluster.path(f"probe-{name}.jsonl")
        command = [str(STAZ_BIN / "staz-probe"), "--host", "127.0.0.1",
                   "--port", str(cluster.haproxy_primary_port), "--user", "postgres",
                   "--password", SUPERUSER_PASSWORD, "--interval-ms", "10",
                   "--output", self.output]
        self.stderr_path = self.output + ".stderr"
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr,
                                            start_new_session=True)

    def stop(self):
        """SIGTERM (the probe flushes and exits), then the parsed attempts."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.returncode not in (0, -signal.SIGTERM):
            raise RuntimeError(f"staz-probe exited with {self.process.returncode}: "
                               f"{open(self.stderr_path).read()[-500:]}")
        return self.attempts()

    def attempts(self):
        rows = []
        if os.path.exists(self.output):
            with open(self.output) as handle:
                for line in handle:
                    line = line.strip()
                    if line:
                        rows.append(json.loads(line))
        return rows

    def wait_recovery_after(self, fault, timeout):
        """Polls the log until writes failed after `fault` and then one was acknowledged
        again; returns (that ack time or None, acks between the fault and the first failure).
        Backends of a SIGKILLed postmaster live on briefly and can still commit, so "the
        first ack after the fault" is counted after the outage has begun."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            ack, early = recovery_ack(self.attempts(), fault)
            if ack is not None:
                return ack, early
            time.sleep(0.2)
        return None, recovery_ack(self.attempts(), fault)[1]

    def wait_first_ack_after(self, instant, timeout):
        """Polls the (periodically flushed) log until an attempt sent after `instant`
        was acknowledged; returns that ack time or None."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            ack = first_ack_after(self.attempts(), instant)
            if ack is not None:
                return ack
            time.sleep(0.2)
        return None


def first_ack_after(rows, instant):
    for row in rows:
        if row["send"] >= instant and row["ok"]:
            return row["ack"]
    return None


def recovery_ack(rows, fault):
    after = [r for r in rows if r["send"] >= fault]
    failure = next((r for r in after if not r["ok"]), None)
    early = sum(1 for r in after if r["ok"] and (failure is None or r["send"] < failure["send"]))
    if failure is None:
        return None, early
    return first_ack_after(rows, failure["send"]), early


def longest_ack_gap(rows, start, end):
    """The longest interval without an acknowledged write in [start, end] (the write gap),
    counting from the last ack at or before `start`."""
    acks = sorted(r["ack"] for r in rows if r["ok"])
    before = [a for a in acks if a <= start]
    points = ([before[-1]] if before else [start]) + [a for a in acks if start < a <= end]
    if len(points) < 2:
        return None
    return max(b - a for a, b in zip(points, points[1:]))


def failed_between(rows, start, end):
    return sum(1 for r in rows if not r["ok"] and start <= r["send"] <= end)
