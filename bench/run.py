#!/usr/bin/env python3
"""Benchmark suite: staz vs Patroni 4.1.5 on this machine (same etcd, PostgreSQL, HAProxy).

    python3 -m bench.run [--scenario B1b,B4,...] [--tool staz,patroni] [--reps N] [--smoke]

Writes bench/results/<UTC date-time>.json and .md and prints the Markdown table. Exit code
1 means a scenario crashed (breakage); missed performance targets only show in the table."""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

from bench.benchlib import failover, floors, lifecycle, mesh, report, scale, service
from bench.benchlib.env import PATRONI_VENV, REPO, SETUPS, STAZ_BIN
from bench.benchlib.measure import summarize
from bench.benchlib.session import Session

ALL_SCENARIOS = ["B7", "B5", "B6", "B4", "B2", "B1b", "B1a", "B8", "MESH", "SCALE"]  # run order within a setup
# Which setups each scenario runs against (the matrix).
SCENARIO_SETUPS = {
    "B1a": ["staz-fast", "staz-fast-pst0", "patroni-default", "patroni-fast-pst0"],
    "B1b": ["staz-fast", "staz-fast-sync", "patroni-default", "patroni-fast"],
    "B2": ["staz-fast", "patroni-fast"],
    "B4": ["staz-fast", "patroni-fast"],
    "B5": ["staz-fast", "patroni-fast", "staz-default", "patroni-default"],
    "B6": ["staz-fast", "patroni-fast", "staz-default", "patroni-default"],
    "B7": ["staz-fast", "patroni-fast", "staz-default", "patroni-default"],
    "B8": ["staz-fast", "patroni-fast"],
    "MESH": ["staz-fast"],  # Patroni has no mesh: the table says so
    "SCALE": ["staz-fast", "patroni-fast"],
}
SETUP_ORDER = ["staz-fast", "staz-fast-sync", "patroni-fast", "staz-default", "staz-fast-pst0", "patroni-fast-pst0",
               "patroni-default", "patroni-default-pst0"]
DEFAULT_REPS = {  # (staz, patroni): cheap scenarios repeat more
    "B1a": (5, 3), "B1b": (5, 3), "B2": (5, 3), "B7": (3, 3), "B8": (1, 1), "MESH": (2, 0),
}


class Context:
    def __init__(self, args):
        self.args = args
        self.session = Session()
        self.results, self.errors, self.floors = [], [], {}

    def progress(self, text):
        print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)

    def record(self, scenario, setup, metric, unit, values, details, note=""):
        self.results.append({"scenario": scenario, "setup": setup.key, "tool": setup.tool,
                             "settings": setup.label, "ttl": setup.ttl, "loop_wait": setup.loop_wait,
                             "retry_timeout": setup.retry_timeout, "metric": metric, "unit": unit,
                             "values": values, **summarize(values), "note": note, "details": details})

    def floor(self, name, value, unit):
        self.floors.setdefault(name, value)

    def reps(self, scenario, setup):
        if self.args.reps:
            return self.args.reps
        staz, patroni = DEFAULT_REPS.get(scenario, (1, 1))
        return staz if setup.tool == "staz" else patroni


def run_scenario(context, scenario, setup):
    args = context.args
    reps = context.reps(scenario, setup)
    if scenario == "B7":
        lifecycle.run_b7(context, setup, reps)
    elif scenario == "B5":
        service.run_idle(context, setup, args.idle_seconds)
    elif scenario == "B6":
        pass  # measured in the same idle window as B5 (run_idle); see plan()
    elif scenario == "B4":
        service.run_b4(context, setup, args.wrk_connections, args.wrk_seconds)
    elif scenario == "B2":
        failover.run_b2(context, setup, reps)
    elif scenario == "B1b":
        failover.run_b1b(context, setup, reps)
    elif scenario == "B1a":
        failover.run_b1a(context, setup, reps)
    elif scenario == "B8":
        lifecycle.run_b8(context, setup, reps, args.pgbench_scale)
    elif scenario == "MESH":
        # Its own three zones: the session's single-zone cluster is not needed meanwhile.
        context.session.close()
        mesh.run_mesh(context, setup, reps)
    elif scenario == "SCALE":
        scale.run_scale(context, setup, args.idle_seconds)


def plan(scenarios, tools, setup_filter):
    """[(setup, [scenarios])] grouped by setup so scenarios share a cluster."""
    if "B6" in scenarios and "B5" not in scenarios:
        scenarios = scenarios + ["B5"]  # B6 is measured in B5's idle window
    steps = []
    for key in SETUP_ORDER:
        setup = SETUPS[key]
        if setup.tool not in tools or (setup_filter and key not in setup_filter):
            continue
        chosen = [s for s in ALL_SCENARIOS if s in scenarios and key in SCENARIO_SETUPS[s]]
        if chosen:
            steps.append((setup, chosen))
    return steps


def machine_info():
    def output(command):
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError as error:
            return f"<{error}>"
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "nproc": os.cpu_count(), "kernel": platform.release(),
            "memory": output(["free", "-h"]).splitlines()[1] if output(["free", "-h"]) else "",
            "postgresql": output(["/usr/lib/postgresql/15/bin/postgres", "--version"]),
            "etcd": output(["etcd", "--version"]).splitlines()[0],
            "haproxy": output(["haproxy", "-v"]).splitlines()[0],
            "wrk": output(["sh", "-c", "wrk -v 2>&1 | head -1"]),
            "patroni": output([str(PATRONI_VENV / "bin" / "patroni"), "--version"]),
            "staz_binaries": str(STAZ_BIN),
            "staz_commit": output(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=",".join(ALL_SCENARIOS),
                        help=f"comma-separated subset of {','.join(ALL_SCENARIOS)} (default all)")
    parser.add_argument("--tool", default="staz,patroni", help="staz, patroni or both")
    parser.add_argument("--setup", default="", help=f"only these setups: {','.join(SETUP_ORDER)}")
    parser.add_argument("--reps", type=int, default=0, help="repetitions for every repeated scenario")
    parser.add_argument("--smoke", action="store_true",
                        help="CI: staz only, B7 + B5/B6 + B4 + B1b, 1 rep, short windows")
    parser.add_argument("--idle-seconds", type=float, default=60.0, help="B5/B6 idle window")
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--wrk-connections", default="1,32")
    parser.add_argument("--pgbench-scale", type=int, default=20)
    parser.add_argument("--no-floors", action="store_true", help="skip the standalone PostgreSQL floors")
    parser.add_argument("--results-dir", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)
    if args.smoke:
        args.scenario, args.tool, args.setup = "B7,B5,B4,B1b", "staz", "staz-fast"
        args.reps, args.idle_seconds, args.wrk_seconds, args.wrk_connections = 1, 10.0, 2, "1"
    args.scenarios = [s.strip() for s in args.scenario.split(",") if s.strip()]
    unknown = [s for s in args.scenarios if s not in ALL_SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {ALL_SCENARIOS}")
    args.tools = [t.strip() for t in args.tool.split(",") if t.strip()]
    if not set(args.tools) <= {"staz", "patroni"}:
        parser.error(f"--tool takes staz and/or patroni, got {args.tool!r}")
    args.setups = [s.strip() for s in args.setup.split(",") if s.strip()]
    if not set(args.setups) <= set(SETUPS):
        parser.error(f"unknown setup(s) in {args.setup!r}; choose from {SETUP_ORDER}")
    args.wrk_connections = [int(c) for c in args.wrk_connections.split(",")]
    return args


def check_binaries(tools):
    needed = []
    if "staz" in tools:
        # The leader's fencing guard is measured too: it must be the one staz installs.
        needed += [STAZ_BIN / "staz", STAZ_BIN / "staz-fence-guard", STAZ_BIN / "staz-probe"]
    if "patroni" in tools:
        needed += [PATRONI_VENV / "bin" / "patroni", STAZ_BIN / "staz-probe"]
    missing = [str(p) for p in needed if not os.access(p, os.X_OK)]
    if missing:
        sys.exit(f"missing executables: {missing}. Build with: for p in staz staz-fence-guard "
                 "staz-probe; do swift build -c release --product $p; done "
                 "(Patroni: scripts/patroni-venv.sh)")


def main(argv=None):
    args = parse_args(argv)
    check_binaries(args.tools)
    if os.geteuid() != 0:
        sys.exit("run as root: the harness starts PostgreSQL and the daemons as the postgres user")
    started = datetime.datetime.now(datetime.timezone.utc)
    context = Context(args)
    steps = plan(args.scenarios, args.tools, args.setups)
    diagnostics = []  # cluster logs of scenarios that broke, printed after the table
    context.progress("plan: " + "; ".join(f"{s.key}: {','.join(c)}" for s, c in steps))
    if not args.no_floors:
        try:
            for name, value in floors.postgres_floors().items():
                context.floor(name, value, "s")
        except Exception as error:  # noqa: BLE001
            context.errors.append({"scenario": "floors", "setup": "-", "error": repr(error)})
    for setup, scenarios in steps:
        for scenario in scenarios:
            context.progress(f"=== {scenario} on {setup.label}")
            try:
                run_scenario(context, scenario, setup)
            except Exception as error:  # noqa: BLE001 - recorded, the suite goes on
                traceback.print_exc()
                context.errors.append({"scenario": scenario, "setup": setup.key,
                                       "error": f"{type(error).__name__}: {str(error)[:600]}"})
                if context.session.cluster is not None:
                    diagnostics.append(f"==== {scenario} on {setup.key} ====\n"
                                       + context.session.cluster.diagnostics(25))
                context.session.discard()
        context.session.close()

    report.evaluate_targets(context.results)
    run = {"started_utc": started.isoformat(timespec="seconds"),
           "finished_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "argv": sys.argv[1:], "machine": machine_info(),
           "setups": {s.key: s.label for s, _ in steps},
           "reps_note": (str(args.reps) if args.reps else
                         "staz/patroni " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in DEFAULT_REPS.items())),
           "results": context.results, "floors": context.floors, "errors": context.errors}
    table = report.markdown(run)
    results_dir = Path(args.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    stem = results_dir / started.strftime("%Y-%m-%dT%H%M%SZ")
    stem.with_suffix(".json").write_text(json.dumps(run, indent=2, default=str) + "\n")
    stem.with_suffix(".md").write_text(table + "\n")
    print("\n" + table)
    print(f"\nwrote {stem}.json and {stem}.md")
    # Last, so that a CI log cut in the middle still shows why a scenario broke.
    for text in diagnostics:
        print("\n" + text)
    return 1 if context.errors else 0


if __name__ == "__main__":
    sys.exit(main())
