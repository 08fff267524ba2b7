"""The benchmark suite (run from the repository root: python3 -m bench.run)."""
