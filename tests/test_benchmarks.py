"""The benchmark suite keeps running against the engine (numbers are not asserted)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_run_checks_every_workload_result() -> None:
    """`run_all.py --quick --strict` exits 0: every workload ran and produced correct results."""
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run_all.py"),
            "--quick",
            "--strict",
            "--systems",
            "floor,ours",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for workload in ("W1", "W2", "W3", "W4", "W5", "W6"):
        assert f"| {workload} | dagon_actors |" in completed.stdout
