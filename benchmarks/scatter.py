"""Scatter throughput and memory (issue 3).

10,000 trivial clones at concurrency 64 against a nursery gated by a
CapacityLimiter(64), and peak RSS for 10k / 100k / 1M items from an async
source, each size in its own subprocess.

Run: ``python benchmarks/scatter.py [--quick]``. A shortcut for
``python benchmarks/run_all.py --only W2 --systems floor,ours``; see
``benchmarks/README.md`` for the method.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.run_all import main

if __name__ == "__main__":
    sys.exit(main(["--only", "W2", "--systems", "floor,ours", *sys.argv[1:]]))
