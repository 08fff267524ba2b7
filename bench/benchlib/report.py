"""Targets from the benchmark issue, evaluated on the results, and the Markdown table."""


def _find(results, scenario, tool, metric_start, setup=None):
    for result in results:
        if (result["scenario"] == scenario and result["tool"] == tool
                and result["metric"].startswith(metric_start)
                and (setup is None or result["setup"] == setup) and result["median"] is not None):
            return result
    return None


def _check(result, text, passed):
    result.setdefault("targets", []).append({"target": text, "met": bool(passed)})


def evaluate_targets(results):
    for result in results:
        if result["tool"] != "staz" or result["median"] is None:
            continue
        scenario, metric, median = result["scenario"], result["metric"], result["median"]
        if scenario == "B1b" and result["setup"] in ("staz-fast", "staz-fast-sync"):
            # Node loss at ttl 5, asynchronous and synchronous: no promotion waits out a
            # wal_retrieve_retry_interval (the bimodal 5 s / 10 s of earlier runs).
            _check(result, "p50 ≤ 5.5 s", median <= 5.5)
            _check(result, "max ≤ 7 s", result["max"] is not None and result["max"] <= 7)
        if scenario == "B2":
            _check(result, "p50 ≤ 1 s", median <= 1)
        if scenario == "B4" and metric.endswith("requests/s"):
            if metric.startswith("GET /primary c32"):
                _check(result, "≥ 20,000 req/s", median >= 20000)
            patroni = _find(results, "B4", "patroni", metric)
            if patroni:
                ratio = median / patroni["median"]
                _check(result, f"≥ 10× Patroni (is {ratio:.0f}×)", ratio >= 10)
        if scenario == "B4" and metric == "GET /primary c32 p99 latency":
            _check(result, "p99 ≤ 2 ms", median <= 2)
        if scenario == "B5" and metric.startswith("daemon RSS"):
            _check(result, "≤ 20 MB idle", result["max"] <= 20)
            patroni = _find(results, "B5", "patroni", "daemon RSS")
            if patroni:
                ratio = median / patroni["median"]
                _check(result, f"≤ 0.4× Patroni (is {ratio:.2f}×)", ratio <= 0.4)
        if scenario == "MESH" and metric.startswith("mesh bootstrap"):
            _check(result, "≤ 60 s", result["max"] <= 60)
        if scenario == "MESH" and metric.startswith("zone primary node loss"):
            _check(result, "≤ 15 s after the promotion", result["max"] <= 15)
        if scenario == "MESH" and metric.startswith("acknowledged rows lost"):
            _check(result, "0 lost", result["max"] == 0)
        if scenario == "B7":
            patroni = _find(results, "B7", "patroni", "bootstrap")
            if patroni and patroni["loop_wait"] == result["loop_wait"]:
                ratio = median / patroni["median"]
                _check(result, f"≤ 0.5× Patroni at loop_wait {result['loop_wait']} (is {ratio:.2f}×)",
                       ratio <= 0.5)


def _number(value, unit):
    if value is None:
        return "—"
    if unit in ("req/s",):
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def markdown(run):
    lines = [f"Run {run['started_utc']} on {run['machine']['cpu']} ({run['machine']['nproc']} cores), "
             f"reps requested: {run['reps_note']}.", "",
             "| Scenario | Setup | Metric | n | median | p95 | max | Target (staz) | Note |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in run["results"]:
        targets = "; ".join(f"{'✅' if t['met'] else '❌ MISSED'} {t['target']}"
                            for t in r.get("targets", []))
        unit = r["unit"]
        lines.append(f"| {r['scenario']} | {r['setup']} | {r['metric']} ({unit}) | {r['n']} | "
                     f"{_number(r['median'], unit)} | {_number(r['p95'], unit)} | "
                     f"{_number(r['max'], unit)} | {targets} | {r.get('note', '')} |")
    if run["floors"]:
        lines += ["", "Floors measured in the same run:", "", "| Floor | value |", "|---|---|"]
        for name, value in run["floors"].items():
            if isinstance(value, dict):
                value = (f"median {value['median'] * 1000:.2f} ms, p95 {value['p95'] * 1000:.2f} ms, "
                         f"max {value['max'] * 1000:.2f} ms (n={value['n']})")
            else:
                value = f"{value:.3f} s"
            lines.append(f"| {name} | {value} |")
    if any(r["scenario"] == "MESH" for r in run["results"]):
        lines += ["", "MESH is staz only: Patroni does not manage a cross-zone logical-replication mesh "
                  "(operators script it), so there is no Patroni number to compare."]
    if run["errors"]:
        lines += ["", "Scenario errors (breakage, not performance):", ""]
        lines += [f"- {e['scenario']} {e['setup']}: {e['error']}" for e in run["errors"]]
    lines += ["", "p95 is nearest-rank over n values: with n < 20 it equals the max. "
              "For B5, n counts members (one idle window), not runs."]
    return "\n".join(lines)
