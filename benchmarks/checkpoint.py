"""Checkpoint round trip (issue 6).

capture + to_json + load + restore of a state holding a 10,000-entry list and
a 10,000-key store, against json.dumps + json.loads of the same data.

Run: ``python benchmarks/checkpoint.py [--quick]``. A shortcut for
``python benchmarks/run_all.py --only W4 --systems floor,ours``; see
``benchmarks/README.md`` for the method.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.run_all import main

if __name__ == "__main__":
    sys.exit(main(["--only", "W4", "--systems", "floor,ours", *sys.argv[1:]]))
