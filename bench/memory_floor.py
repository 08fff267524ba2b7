"""The resident-memory floor for a NIO-based daemon, next to which B5's staz figure is read:
bench/memory-floor (an HTTP/1.1 server on SwiftNIO and nothing else) built with the Swift
runtime shared, as `swift build` links staz, and statically, as scripts/package.sh does. Each
build is started, answers 200 requests, idles 5 s, and is measured like a B5 member: VmRSS and
where the resident pages are (bench/benchlib/residency.py).

    python3 -m bench.memory_floor [--results-dir bench/results]

Not part of CI: the two builds of SwiftNIO take a few minutes."""

import argparse
import datetime
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.benchlib.env import SCRATCH_PORTS
from bench.benchlib.measure import proc_rss_kb
from bench.benchlib.residency import breakdown
from testkit.support import wait_until

PACKAGE = Path(__file__).resolve().parent / "memory-floor"
BUILDS = {"shared Swift runtime": [], "static Swift runtime": ["--static-swift-stdlib"]}


def build(flags):
    scratch = PACKAGE / (".build-static" if flags else ".build")
    subprocess.run(["swift", "build", "-c", "release", "--package-path", str(PACKAGE),
                    "--scratch-path", str(scratch), *flags], check=True)
    return scratch / "release" / "memory-floor"


def answer(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
        return response.read()


def measure(executable):
    port = SCRATCH_PORTS.allocate()
    process = subprocess.Popen([str(executable), str(port)], stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: answer(port), 10, f"{executable} answering on port {port}", interval=0.1)
        for _ in range(200):
            answer(port)
        time.sleep(5)
        memory, report = proc_rss_kb(process.pid), breakdown(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)
    return {"vmrss_mb": memory["VmRSS"] / 1024, "memory_kib": memory, "residency": report}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results-dir", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args()
    results = {name: measure(build(flags)) for name, flags in BUILDS.items()}
    for name, result in results.items():
        groups = ", ".join(f"{group} {kib / 1024:.1f}" for group, kib in result["residency"]["by_group_kib"].items())
        print(f"{name}: VmRSS {result['vmrss_mb']:.1f} MB ({groups})")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")
    path = Path(args.results_dir) / f"{stamp}-memory-floor.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"started_utc": stamp, "results": results}, indent=1) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
