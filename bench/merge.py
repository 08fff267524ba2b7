#!/usr/bin/env python3
"""Combines result files: rows of a later file replace the rows of the same (scenario,
setup) in earlier ones, e.g. after re-running one scenario. Writes <out>.json and .md.

    python3 -m bench.merge OUT base.json rerun.json [...]"""

import json
import sys
from pathlib import Path

from bench.benchlib import report


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    out, inputs = Path(argv[0]), [json.loads(Path(p).read_text()) for p in argv[1:]]
    merged = dict(inputs[0])
    results = list(inputs[0]["results"])
    for later in inputs[1:]:
        replaced = {(r["scenario"], r["setup"]) for r in later["results"]}
        results = [r for r in results if (r["scenario"], r["setup"]) not in replaced] + later["results"]
        merged["floors"] = {**later.get("floors", {}), **merged.get("floors", {})}
        merged["errors"] = merged.get("errors", []) + later.get("errors", [])
    for result in results:
        result.pop("targets", None)
    merged["results"] = results
    merged["merged_from"] = [str(p) for p in argv[1:]]
    report.evaluate_targets(results)
    table = report.markdown(merged)
    out.with_suffix(".json").write_text(json.dumps(merged, indent=2, default=str) + "\n")
    out.with_suffix(".md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
