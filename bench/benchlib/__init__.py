"""Benchmark suite library: staz vs Patroni on one machine (see BENCHMARKS.md)."""
