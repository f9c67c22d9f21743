"""Throughput of MemoryStore.update against a plain trio.Lock around a dict.

1,000 concurrent tasks each do 10 read-modify-write increments of one key,
first through ``MemoryStore.update`` and then through the floor it is compared
against: a ``trio.Lock``-guarded dict doing the same increment. Both run in
this process, alternating round by round so drift hits both alike; each round
is its own ``trio.run`` and checks the final count is exact. The report gives
the median operations per second of each and their ratio (target: the store
keeps at least half the plain lock's throughput).

Run from the repository root::

    .venv/bin/python -m benchmarks.store [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import TYPE_CHECKING

import trio

from dagon_actors._store import MemoryStore

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

TASKS = 1_000
INCREMENTS = 10
OPS = TASKS * INCREMENTS
TARGET_RATIO = 0.5


def increment(value: int | None) -> int:
    return (value or 0) + 1


async def run_store() -> float:
    """Seconds for OPS increments through MemoryStore.update."""
    store = MemoryStore()

    async def worker() -> None:
        for _ in range(INCREMENTS):
            await store.update("n", increment)

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(TASKS):
            nursery.start_soon(worker)
    elapsed = time.perf_counter() - start
    final = await store.get("n")
    assert final == OPS, f"store lost updates: {final} != {OPS}"
    return elapsed


async def run_plain_lock() -> float:
    """Seconds for OPS increments of a dict guarded by a trio.Lock."""
    lock = trio.Lock()
    data: dict[str, int] = {}

    async def worker() -> None:
        for _ in range(INCREMENTS):
            async with lock:
                data["n"] = increment(data.get("n"))

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(TASKS):
            nursery.start_soon(worker)
    elapsed = time.perf_counter() - start
    assert data["n"] == OPS, f"plain lock lost updates: {data['n']} != {OPS}"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description="MemoryStore.update vs a trio.Lock'd dict")
    parser.add_argument("--rounds", type=int, default=9, help="timed rounds of each (default 9)")
    args = parser.parse_args()

    contenders: dict[str, Callable[[], Awaitable[float]]] = {
        "MemoryStore.update": run_store,
        "trio.Lock + dict": run_plain_lock,
    }
    for run in contenders.values():  # warm-up: imports, caches, first-run costs
        trio.run(run)
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, run in contenders.items():
            rates[name].append(OPS / trio.run(run))

    print(f"{TASKS} tasks x {INCREMENTS} increments, {args.rounds} rounds each, alternating")
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, median in medians.items():
        low, high = min(rates[name]), max(rates[name])
        print(f"  {name:<20} median {median:>10,.0f} ops/s   (min {low:,.0f}, max {high:,.0f})")
    ratio = medians["MemoryStore.update"] / medians["trio.Lock + dict"]
    verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
    print(f"  ratio store/plain    {ratio:.2f}  ({verdict} the {TARGET_RATIO:.0%} target)")


if __name__ == "__main__":
    main()
