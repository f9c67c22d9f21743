"""W1 on its own: a 100-placement linear chain vs the plain-Trio floor.

Run: ``python benchmarks/linear_chain.py [--runs N]``. Prints µs per placement
for dagon_actors and for the floor (100 awaits of a trivial coroutine, each
followed by ``trio.lowlevel.checkpoint()``: one scheduler pass per placement),
measured alternately in the same process, and their ratio (target: <= 3x).
"""

from __future__ import annotations

import argparse
import statistics
import time

import trio

from dagon_actors import DAGBuilder, Dagonizer, NodeContext, NodeStateBase, node

PLACEMENTS = 100


@node("step", outputs=("next",))
async def step(state: NodeStateBase, ctx: NodeContext[None]) -> str:
    return "next"


def build_dispatcher() -> Dagonizer[NodeStateBase, None]:
    builder = DAGBuilder("chain", "1")
    for i in range(PLACEMENTS):
        target = f"n{i + 1}" if i + 1 < PLACEMENTS else None
        builder.node(f"n{i}", step, {"next": target})
    dispatcher: Dagonizer[NodeStateBase, None] = Dagonizer()
    dispatcher.register_dag(builder.build())
    return dispatcher


async def trivial() -> str:
    return "next"


async def floor_once() -> None:
    for _ in range(PLACEMENTS):
        await trivial()
        await trio.lowlevel.checkpoint()


async def ours_once(dispatcher: Dagonizer[NodeStateBase, None]) -> None:
    result = await dispatcher.execute("chain", NodeStateBase())
    assert len(result.executed_nodes) == PLACEMENTS


async def measure(runs: int, batch: int) -> tuple[list[float], list[float]]:
    dispatcher = build_dispatcher()
    ours: list[float] = []
    floor: list[float] = []
    for _ in range(3):  # warm up
        await ours_once(dispatcher)
        await floor_once()
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(batch):
            await ours_once(dispatcher)
        ours.append((time.perf_counter() - start) / (batch * PLACEMENTS) * 1e6)
        start = time.perf_counter()
        for _ in range(batch):
            await floor_once()
        floor.append((time.perf_counter() - start) / (batch * PLACEMENTS) * 1e6)
    return ours, floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()
    ours, floor = trio.run(measure, args.runs, args.batch)
    o, f = statistics.median(ours), statistics.median(floor)
    print(f"dagon_actors : {o:7.2f} us/placement  (min {min(ours):.2f}, max {max(ours):.2f})")
    print(f"trio floor   : {f:7.2f} us/placement  (min {min(floor):.2f}, max {max(floor):.2f})")
    print(f"ratio        : {o / f:7.2f}x the floor (target <= 3x)")


if __name__ == "__main__":
    main()
