"""Abort latency (issue 4).

Real milliseconds from ``abort()`` until the run returns, with 1,000 clones
in flight in a scatter nested in an embedded DAG, and the tasks left alive.

Run: ``python benchmarks/abort.py [--quick]``. A shortcut for
``python benchmarks/run_all.py --only W5 --systems floor,ours``; see
``benchmarks/README.md`` for the method.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.run_all import main

if __name__ == "__main__":
    sys.exit(main(["--only", "W5", "--systems", "floor,ours", *sys.argv[1:]]))
