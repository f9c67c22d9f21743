"""Run the dagon_actors benchmark suite and print one Markdown table.

    python benchmarks/run_all.py [--quick] [--strict] [--only W1,W3]
                                 [--systems floor,ours,langgraph,pydantic-graph]

Progress goes to stderr; the machine description, the table, the targets and
the notes go to stdout.
"""

import argparse
import importlib
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

WORKLOADS = {
    "W1": "benchmarks.workloads.w1_linear",
    "W2": "benchmarks.workloads.w2_scatter",
    "W3": "benchmarks.workloads.w3_store",
    "W4": "benchmarks.workloads.w4_checkpoint",
    "W5": "benchmarks.workloads.w5_abort",
    "W6": "benchmarks.workloads.w6_resume",
}
SYSTEM_ALIASES = {"dagon_actors": "ours", "trio": "floor", "pydantic_graph": "pydantic-graph"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the dagon_actors benchmark suite.")
    parser.add_argument(
        "--quick", action="store_true", help="small sizes and few repeats (smoke run, < 30 s)"
    )
    parser.add_argument(
        "--only", default="", help="comma-separated workloads to run, e.g. W1,W3 (default: all)"
    )
    parser.add_argument(
        "--systems",
        default="floor,ours,langgraph,pydantic-graph",
        help="comma-separated systems to run (floor, ours, langgraph, pydantic-graph)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 if any system failed to run or produced a wrong result (n/a rows excepted)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from benchmarks._harness import (
        ALL_SYSTEMS,
        Config,
        WorkloadResult,
        machine_info,
        markdown_table,
        progress,
    )

    args = parse_args(argv)
    only = [w.strip().upper() for w in args.only.split(",") if w.strip()] or list(WORKLOADS)
    unknown = [w for w in only if w not in WORKLOADS]
    names: list[str] = [n.strip() for n in str(args.systems).split(",") if n.strip()]
    systems: set[str] = {SYSTEM_ALIASES.get(name, name) for name in names}
    bad = sorted(systems - set(ALL_SYSTEMS))
    if unknown or bad:
        print(f"unknown workloads {unknown} / systems {bad}", file=sys.stderr)
        return 2
    config = Config(quick=args.quick, systems=frozenset(systems))

    print("## Machine\n")
    for name, value in machine_info():
        print(f"- {name}: {value}")
    mode = "quick (smoke sizes — do not quote these numbers)" if args.quick else "full"
    print(f"- mode: {mode}; systems: {', '.join(sorted(systems))}")
    print()

    started = time.perf_counter()
    results: list[WorkloadResult] = []
    for key in only:
        progress(f"{key} ...")
        module: Any = importlib.import_module(WORKLOADS[key])
        t0 = time.perf_counter()
        results.append(module.run(config))
        progress(f"{key} done in {time.perf_counter() - t0:.1f} s")

    print("## Results\n")
    print(markdown_table(results))
    print()
    print("## Targets (issue #7)\n")
    if args.quick:
        print("(quick sizes: the targets are only meaningful for a full run)\n")
    for result in results:
        for line in result.targets:
            print(f"- {line}")
    notes = [note for result in results for note in result.notes]
    if notes:
        print("\n## Notes\n")
        for note in notes:
            print(f"- {note}")
    print(f"\nTotal wall time: {time.perf_counter() - started:.0f} s")
    failed = [
        f"{row.workload} {row.system}: {row.failure}"
        for result in results
        for row in result.rows
        if row.failure is not None and row.failure != "n/a"
    ]
    if args.strict and failed:
        print("\n".join(["failed:", *failed]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
