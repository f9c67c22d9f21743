"""W3 — contended store: 1,000 concurrent tasks x 10 atomic increments of one key.

Operations per second (10,000 increments per run), final count exact.

Floor: a plain ``dict`` under one ``trio.Lock``.
"""

import asyncio
import inspect
from typing import Any

import trio

from benchmarks._harness import (
    FLOOR,
    LANGGRAPH,
    OURS,
    PYDANTIC_GRAPH,
    Config,
    Sample,
    Trial,
    WorkloadResult,
    alternate,
    now,
    prepare,
    require,
    rows_from,
    verdict,
)

KEY = "W3"
TITLE = "contended store, 1,000 tasks x 10 atomic increments of one key"
UNIT = "ops/s"


def _increment(value: int | None) -> int:
    return (value or 0) + 1


# -- floor -------------------------------------------------------------------------


def floor_trial(tasks: int, increments: int, runs: int) -> Trial:
    async def contend(counts: dict[str, int]) -> None:
        lock = trio.Lock()

        async def branch() -> None:
            for _ in range(increments):
                async with lock:
                    counts["n"] = _increment(counts.get("n"))

        async with trio.open_nursery() as nursery:
            for _ in range(tasks):
                nursery.start_soon(branch)

    async def batch() -> tuple[float, int]:
        await contend({})  # warm-up
        elapsed, count = 0.0, 0
        for _ in range(runs):
            counts: dict[str, int] = {}
            start = now()
            await contend(counts)
            elapsed += now() - start
            count = counts["n"]
        return elapsed, count

    def trial() -> Sample:
        elapsed, count = trio.run(batch)
        total = tasks * increments
        require(count == total, f"count {count} != {total}")
        return Sample(total * runs / elapsed, f"count={count}")

    return trial


# -- dagon_actors ------------------------------------------------------------------------


def ours_trial(tasks: int, increments: int, runs: int) -> Trial:
    from dagon_actors import MemoryStore

    async def contend(store: Any) -> None:
        async def branch() -> None:
            for _ in range(increments):
                await store.update("n", _increment)

        async with trio.open_nursery() as nursery:
            for _ in range(tasks):
                nursery.start_soon(branch)

    async def batch() -> tuple[float, Any]:
        await contend(MemoryStore())  # warm-up
        elapsed, count = 0.0, None
        for _ in range(runs):
            store = MemoryStore()
            start = now()
            await contend(store)
            elapsed += now() - start
            count = store.get("n")
            if inspect.isawaitable(count):
                count = await count
        return elapsed, count

    def trial() -> Sample:
        elapsed, count = trio.run(batch)
        total = tasks * increments
        require(count == total, f"count {count} != {total}")
        return Sample(total * runs / elapsed, f"count={count}")

    return trial


# -- LangGraph ------------------------------------------------------------------------------


def langgraph_trial(tasks: int, increments: int, runs: int) -> Trial:
    import operator
    from typing import Annotated, TypedDict

    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Send

    class CounterState(TypedDict):
        count: Annotated[int, operator.add]
        branches: int

    class Branch(TypedDict):
        add: int

    def fan_out(state: CounterState) -> list[Send]:
        return [Send("add", {"add": increments}) for _ in range(state["branches"])]

    async def add(state: Branch) -> dict[str, int]:
        return {"count": state["add"]}

    graph = StateGraph(CounterState)
    graph.add_node("add", add)
    graph.add_conditional_edges(START, fan_out, ["add"])
    graph.add_edge("add", END)
    compiled = graph.compile()

    async def batch() -> tuple[float, int]:
        await compiled.ainvoke({"count": 0, "branches": 10})  # warm-up
        elapsed, count = 0.0, 0
        for _ in range(runs):
            start = now()
            result = await compiled.ainvoke({"count": 0, "branches": tasks})
            elapsed += now() - start
            count = result["count"]
        return elapsed, count

    def trial() -> Sample:
        elapsed, count = asyncio.run(batch())
        total = tasks * increments
        require(count == total, f"count {count} != {total}")
        return Sample(total * runs / elapsed, f"count={count}")

    return trial


# -- pydantic-graph ---------------------------------------------------------------------------


def pydantic_graph_trial(tasks: int, increments: int, runs: int) -> Trial:
    from pydantic_graph import GraphBuilder, StepContext, reduce_sum

    builder = GraphBuilder(input_type=list[int], output_type=int)

    async def add(ctx: StepContext[None, None, int]) -> int:
        return ctx.inputs

    add_step = builder.step(add)
    total = builder.join(reduce_sum, initial=0)
    builder.add(
        builder.edge_from(builder.start_node).map().to(add_step),
        builder.edge_from(add_step).to(total),
        builder.edge_from(total).to(builder.end_node),
    )
    graph = builder.build()

    async def batch() -> tuple[float, int]:
        await graph.run(inputs=[increments] * 10)  # warm-up
        elapsed, count = 0.0, 0
        for _ in range(runs):
            start = now()
            count = await graph.run(inputs=[increments] * tasks)
            elapsed += now() - start
        return elapsed, count

    def trial() -> Sample:
        elapsed, count = asyncio.run(batch())
        expected = tasks * increments
        require(count == expected, f"count {count} != {expected}")
        return Sample(expected * runs / elapsed, f"count={count}")

    return trial


LANGGRAPH_NOTE = (
    "LangGraph W3: LangGraph has no shared mutable store inside a run; concurrent writes meet "
    "in a reducer at the superstep barrier. So 1,000 `Send` branches each return `{'count': 10}` "
    "into `Annotated[int, operator.add]`: 1,000 reducer applications standing for the 10,000 "
    "increments (ops/s counts 10,000; this favours LangGraph)."
)
PYDANTIC_GRAPH_NOTE = (
    "pydantic-graph W3: `.map()` over 1,000 branches, each returning 10, folded by a "
    "`reduce_sum` join (1,000 reducer applications standing for 10,000 increments; ops/s "
    "counts 10,000; this favours pydantic-graph)."
)


def run(config: Config) -> WorkloadResult:
    tasks, increments = 1_000, 10
    rounds = config.pick(7, 2)
    runs = config.pick(3, 1)
    trials: dict[str, Trial | str] = {}
    if config.wants(FLOOR):
        trials[FLOOR] = prepare(FLOOR, lambda: floor_trial(tasks, increments, runs))
    if config.wants(OURS):
        trials[OURS] = prepare(OURS, lambda: ours_trial(tasks, increments, runs))
    if config.wants(LANGGRAPH):
        trials[LANGGRAPH] = prepare(LANGGRAPH, lambda: langgraph_trial(tasks, increments, runs))
    if config.wants(PYDANTIC_GRAPH):
        trials[PYDANTIC_GRAPH] = prepare(
            PYDANTIC_GRAPH, lambda: pydantic_graph_trial(tasks, increments, runs)
        )
    outcome = alternate(trials, rounds, label=KEY)
    rows = rows_from(
        KEY,
        outcome,
        unit=UNIT,
        higher_is_better=True,
        footnotes={LANGGRAPH: LANGGRAPH_NOTE, PYDANTIC_GRAPH: PYDANTIC_GRAPH_NOTE},
    )
    result = WorkloadResult(KEY, TITLE, rows)
    ours, floor = result.row(OURS), result.row(FLOOR)
    if ours is not None and floor is not None:
        share = ours.median / floor.median
        result.targets = [
            f"W3 ours ≥50% of the floor's ops/s: {share:.0%} — {verdict(share >= 0.5)}"
        ]
    else:
        result.targets = [f"W3 ours ≥50% of the floor's ops/s: {verdict(None)}"]
    return result
