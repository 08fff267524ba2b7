"""Soak mode (run by hand, see scripts/soak.sh): N faults against one cluster, then the numbers.

usage: python3 -m testkit.faults.soak N [--mode async|on|quorum] [--kinds a,b,...]
                                      [--clients 4] [--pause 0]
Exit status 0 only when nothing acknowledged was lost (in async mode losses are reported but
tolerated), nothing unexpected appeared and no dual-primary sample was seen."""

import argparse
import sys

from ..profiles import current_profile
from .campaign import Campaign
from .catalog import CATALOG


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("faults", type=int)
    parser.add_argument("--mode", choices=["async", "on", "quorum"], default="async")
    parser.add_argument("--kinds", default="", help=f"comma-separated subset of {sorted(CATALOG)}")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between inserts")
    options = parser.parse_args()
    kinds = [k for k in options.kinds.split(",") if k] or None
    campaign = Campaign(current_profile(), mode=options.mode, count=options.faults, kinds=kinds,
                        clients=options.clients, pause=options.pause,
                        progress=lambda text: print(text, flush=True))
    try:
        result = campaign.run()
    finally:
        campaign.cleanup()
    failed = bool(result.error or result.dual_primary
                  or any(result.unexpected.values())
                  or (result.lost_ids and options.mode != "async"))
    if failed:
        print(result.timeline)
    print("==== soak result ====")
    print(result.summary())
    if result.lost_ids:
        print(f"lost acknowledged ids (first 20): {result.lost_ids[:20]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
