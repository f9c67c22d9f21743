"""W1 — linear chain: 100 trivial placements in sequence, µs per placement.

Floor: a plain Trio loop of 100 awaits of a trivial async function, each
followed by ``trio.lowlevel.checkpoint()`` (the one scheduling point a
placement boundary must at least cost).
"""

import asyncio
import itertools
from typing import Any

import trio

from benchmarks._harness import (
    FLOOR,
    LANGGRAPH,
    OURS,
    PYDANTIC_GRAPH,
    Config,
    Row,
    Sample,
    Trial,
    WorkloadResult,
    alternate,
    now,
    prepare,
    require,
    rows_from,
    speedup,
    verdict,
)

KEY = "W1"
TITLE = "linear chain, 100 trivial placements"
PLACEMENTS = 100
UNIT = "µs/placement"
PG_STEPS = "pydantic-graph (steps)"


def _per_placement(elapsed: float, runs: int) -> float:
    return elapsed / (runs * PLACEMENTS) * 1e6


# -- floor -----------------------------------------------------------------------


def floor_trial(runs: int) -> Trial:
    async def trivial() -> None:
        return None

    async def chain() -> None:
        for _ in range(PLACEMENTS):
            await trivial()
            await trio.lowlevel.checkpoint()

    async def batch() -> float:
        await chain()  # warm-up
        start = now()
        for _ in range(runs):
            await chain()
        return now() - start

    def trial() -> Sample:
        return Sample(_per_placement(trio.run(batch), runs), f"{PLACEMENTS} awaits")

    return trial


# -- dagon_actors -------------------------------------------------------------------


def ours_trial(runs: int) -> Trial:
    from dagon_actors import DAGBuilder, Dagonizer, NodeStateBase, node

    @node("step", outputs=("next",))
    async def step(state: Any, ctx: Any) -> str:
        return "next"

    builder = DAGBuilder("chain", "1")
    for i in range(PLACEMENTS):
        builder.node(f"n{i}", step, {"next": f"n{i + 1}" if i + 1 < PLACEMENTS else None})
    dag = builder.build()

    async def batch() -> tuple[float, Any]:
        dispatcher = Dagonizer()
        dispatcher.register_dag(dag)
        result = await dispatcher.execute("chain", NodeStateBase())  # warm-up
        start = now()
        for _ in range(runs):
            result = await dispatcher.execute("chain", NodeStateBase())
        return now() - start, result

    def trial() -> Sample:
        elapsed, result = trio.run(batch)
        require(result.cursor is None, f"run stopped at {result.cursor!r}")
        require(
            len(result.executed_nodes) == PLACEMENTS,
            f"executed {len(result.executed_nodes)} placements, not {PLACEMENTS}",
        )
        return Sample(_per_placement(elapsed, runs), f"{PLACEMENTS} executed")

    return trial


# -- LangGraph --------------------------------------------------------------------------


def langgraph_trial(runs: int) -> Trial:
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    class ChainState(TypedDict):
        n: int

    async def step(state: ChainState) -> dict[str, int]:
        return {"n": state["n"] + 1}

    graph = StateGraph(ChainState)
    for i in range(PLACEMENTS):
        graph.add_node(f"n{i}", step)
    graph.add_edge(START, "n0")
    for i in range(PLACEMENTS - 1):
        graph.add_edge(f"n{i}", f"n{i + 1}")
    graph.add_edge(f"n{PLACEMENTS - 1}", END)
    compiled = graph.compile()
    # One superstep per node: the default recursion_limit (25) would stop the chain.
    config: Any = {"recursion_limit": PLACEMENTS * 2}

    async def batch() -> tuple[float, Any]:
        result = await compiled.ainvoke({"n": 0}, config=config)  # warm-up
        start = now()
        for _ in range(runs):
            result = await compiled.ainvoke({"n": 0}, config=config)
        return now() - start, result

    def trial() -> Sample:
        elapsed, result = asyncio.run(batch())
        require(result["n"] == PLACEMENTS, f"chain counted {result['n']}")
        return Sample(_per_placement(elapsed, runs), f"n={PLACEMENTS}")

    return trial


# -- pydantic-graph ------------------------------------------------------------------------


def pydantic_graph_trial(runs: int) -> Trial:
    """The BaseNode idiom of pydantic-graph's docs: a node returns the next node (here itself)."""
    from dataclasses import dataclass

    from pydantic_graph import BaseNode, End, GraphBuilder, GraphRunContext

    @dataclass
    class Hop(BaseNode[None, None, int]):
        i: int = 0

        async def run(self, ctx: GraphRunContext[None, None]) -> "Hop | End[int]":
            if self.i + 1 < PLACEMENTS:
                return Hop(self.i + 1)
            return End(self.i + 1)

    builder = GraphBuilder(input_type=Hop, output_type=int)
    builder.add(builder.edge_from(builder.start_node).to(Hop), builder.node(Hop))
    graph = builder.build()

    async def batch() -> tuple[float, int]:
        result = await graph.run(inputs=Hop(0))  # warm-up
        start = now()
        for _ in range(runs):
            result = await graph.run(inputs=Hop(0))
        return now() - start, result

    def trial() -> Sample:
        elapsed, result = asyncio.run(batch())
        require(result == PLACEMENTS, f"chain counted {result}")
        return Sample(_per_placement(elapsed, runs), f"{PLACEMENTS} node runs")

    return trial


def pydantic_graph_steps_trial(runs: int) -> Trial:
    """The builder idiom: 100 distinct step functions wired start → s0 → … → s99 → end."""
    from pydantic_graph import GraphBuilder, StepContext

    async def add_one(ctx: StepContext[None, None, int]) -> int:
        return ctx.inputs + 1

    builder = GraphBuilder(input_type=int, output_type=int)
    steps = [builder.step(add_one, node_id=f"s{i}") for i in range(PLACEMENTS)]
    builder.add(builder.edge_from(builder.start_node).to(steps[0]))
    for before, after in itertools.pairwise(steps):
        builder.add(builder.edge_from(before).to(after))
    builder.add(builder.edge_from(steps[-1]).to(builder.end_node))
    graph = builder.build()

    async def batch() -> tuple[float, int]:
        result = await graph.run(inputs=0)  # warm-up
        start = now()
        for _ in range(runs):
            result = await graph.run(inputs=0)
        return now() - start, result

    def trial() -> Sample:
        elapsed, result = asyncio.run(batch())
        require(result == PLACEMENTS, f"chain counted {result}")
        return Sample(_per_placement(elapsed, runs), f"{PLACEMENTS} steps")

    return trial


LANGGRAPH_NOTE = (
    "LangGraph W1: a StateGraph of 100 async nodes wired START → n0 → … → n99 → END; each "
    "node returns the one-key update `{'n': n + 1}` (LangGraph's node shape, and it lets the "
    "run be checked); `ainvoke` with recursion_limit 200 (one superstep per node)."
)
PYDANTIC_GRAPH_NOTE = (
    "pydantic-graph W1: the BaseNode idiom of its docs (one dataclass node returning "
    "`Hop(i + 1)` until 100, then `End`); the (steps) row is the GraphBuilder idiom with 100 "
    "distinct `@step`s wired start → s0 → … → s99 → end. Both with `await graph.run(...)`."
)


# -- workload -------------------------------------------------------------------------------


def run(config: Config) -> WorkloadResult:
    rounds = config.pick(7, 2)
    trials: dict[str, Trial | str] = {}
    if config.wants(FLOOR):
        trials[FLOOR] = prepare(FLOOR, lambda: floor_trial(config.pick(200, 20)))
    if config.wants(OURS):
        trials[OURS] = prepare(OURS, lambda: ours_trial(config.pick(50, 5)))
    if config.wants(LANGGRAPH):
        trials[LANGGRAPH] = prepare(LANGGRAPH, lambda: langgraph_trial(config.pick(10, 2)))
    if config.wants(PYDANTIC_GRAPH):
        trials[PYDANTIC_GRAPH] = prepare(
            PYDANTIC_GRAPH, lambda: pydantic_graph_trial(config.pick(10, 2))
        )
        trials[PG_STEPS] = prepare(PG_STEPS, lambda: pydantic_graph_steps_trial(config.pick(10, 2)))
    outcome = alternate(trials, rounds, label=KEY)
    rows = rows_from(
        KEY,
        outcome,
        unit=UNIT,
        higher_is_better=False,
        bases={PG_STEPS: PYDANTIC_GRAPH},
        footnotes={
            LANGGRAPH: LANGGRAPH_NOTE,
            PYDANTIC_GRAPH: PYDANTIC_GRAPH_NOTE,
            PG_STEPS: PYDANTIC_GRAPH_NOTE,
        },
    )
    result = WorkloadResult(KEY, TITLE, rows)
    result.targets = targets(result)
    return result


def _best(result: WorkloadResult, base: str) -> Row | None:
    """The fastest row counting as `base` (its variants included)."""
    rows = [row for row in result.rows if row.key == base and row.ok]
    return min(rows, key=lambda row: row.median) if rows else None


def targets(result: WorkloadResult) -> list[str]:
    ours, floor = result.row(OURS), result.row(FLOOR)
    lines: list[str] = []
    if ours is not None and floor is not None:
        ratio = ours.median / floor.median
        lines.append(f"W1 ours within 3x the floor: {ratio:.2f}x — {verdict(ratio <= 3)}")
    else:
        lines.append(f"W1 ours within 3x the floor: {verdict(None)}")
    for base, needed in ((PYDANTIC_GRAPH, 10.0), (LANGGRAPH, 20.0)):
        other = _best(result, base)
        if ours is not None and other is not None:
            factor = speedup(ours, other)
            lines.append(
                f"W1 ours ≥{needed:.0f}x faster than {base} (its fastest idiom): "
                f"{factor:.1f}x — {verdict(factor >= needed)}"
            )
        else:
            lines.append(f"W1 ours ≥{needed:.0f}x faster than {base}: {verdict(None)}")
    return lines
