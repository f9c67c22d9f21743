"""Benchmark suite of dagon_actors (issue #7): see benchmarks/README.md."""
