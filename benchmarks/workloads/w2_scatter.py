"""W2 — scatter: 10,000 trivial items at concurrency 64, gathered in item order.

Throughput (items/second) for every system, alternating in one process; then
peak RSS for 10k / 100k / 1M items pulled from an async generator (floor and
ours only), each size in its own subprocess, because peak RSS never goes down
within a process.

Floor: a Trio nursery whose spawning is gated by ``CapacityLimiter(64)`` (a
token is acquired before ``start_soon`` and released when the task ends),
each task writing its result into a preallocated list by index.

Run as a script (``--rss-child SYSTEM N``) it is the RSS child process.
"""

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import trio

from benchmarks._harness import (
    FLOOR,
    LANGGRAPH,
    OURS,
    PYDANTIC_GRAPH,
    BenchmarkError,
    Config,
    Row,
    Sample,
    Trial,
    WorkloadResult,
    alternate,
    describe,
    fmt,
    measure_rss,
    now,
    prepare,
    progress,
    report_rss,
    require,
    reset_peak_rss,
    rows_from,
    speedup,
    verdict,
)

KEY = "W2"
TITLE = "scatter, 10,000 trivial items at concurrency 64, gathered in order"
CONCURRENCY = 64
UNIT = "items/s"
SCATTER_ROUTES: dict[str, str | None] = {
    "all-success": None,
    "partial": None,
    "all-error": None,
    "empty": None,
}


def _expected(n: int) -> list[int]:
    return [item * 2 for item in range(n)]


# -- floor -------------------------------------------------------------------------


async def floor_scatter(items: list[int]) -> list[int]:
    results = [0] * len(items)
    limiter = trio.CapacityLimiter(CONCURRENCY)

    async def work(index: int, token: object) -> None:
        try:
            results[index] = items[index] * 2
        finally:
            limiter.release_on_behalf_of(token)

    async with trio.open_nursery() as nursery:
        for index in range(len(items)):
            token = object()
            await limiter.acquire_on_behalf_of(token)
            nursery.start_soon(work, index, token)
    return results


def floor_trial(n: int) -> Trial:
    async def batch() -> tuple[float, list[int]]:
        await floor_scatter(list(range(100)))  # warm-up
        items = list(range(n))
        start = now()
        results = await floor_scatter(items)
        return now() - start, results

    def trial() -> Sample:
        elapsed, results = trio.run(batch)
        require(results == _expected(n), "results out of order or missing")
        return Sample(n / elapsed, "in order")

    return trial


# -- dagon_actors ------------------------------------------------------------------------


def ours_kit() -> Any:
    """The scatter DAG and its state class (built lazily: the engine may not import)."""
    import attrs

    from dagon_actors import DAGBuilder, Gather, NodeStateBase, node

    @attrs.define
    class ScatterState(NodeStateBase):
        items: list[int] = attrs.Factory(list)
        results: list[int] = attrs.Factory(list)
        out: int = 0

    @node("double", outputs=("success",))
    async def double(state: Any, ctx: Any) -> str:
        state.out = state.get_metadata("item") * 2
        return "success"

    dag = (
        DAGBuilder("scatter", "1")
        .scatter(
            "s",
            double,
            source="items",
            concurrency=CONCURRENCY,
            gather=Gather.map({"out": "results"}),
            routes=SCATTER_ROUTES,
        )
        .build()
    )
    return ScatterState, dag


def ours_trial(n: int) -> Trial:
    from dagon_actors import Dagonizer

    state_class, dag = ours_kit()

    async def batch() -> tuple[float, Any]:
        dispatcher = Dagonizer()
        dispatcher.register_dag(dag)
        await dispatcher.execute("scatter", state_class(items=list(range(100))))  # warm-up
        state = state_class(items=list(range(n)))
        start = now()
        result = await dispatcher.execute("scatter", state)
        return now() - start, result

    def trial() -> Sample:
        elapsed, result = trio.run(batch)
        require(result.cursor is None, f"run stopped at {result.cursor!r}")
        require(not result.state.errors, f"errors: {result.state.errors[:1]}")
        require(result.state.results == _expected(n), "results out of order or missing")
        return Sample(n / elapsed, "in order")

    return trial


# -- LangGraph ------------------------------------------------------------------------------


def langgraph_trial(n: int) -> Trial:
    import operator
    from typing import Annotated, TypedDict

    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Send

    class ScatterState(TypedDict):
        items: list[int]
        results: Annotated[list[int], operator.add]

    class WorkItem(TypedDict):
        item: int

    def fan_out(state: ScatterState) -> list[Send]:
        return [Send("work", {"item": item}) for item in state["items"]]

    async def work(state: WorkItem) -> dict[str, list[int]]:
        return {"results": [state["item"] * 2]}

    graph = StateGraph(ScatterState)
    graph.add_node("work", work)
    graph.add_conditional_edges(START, fan_out, ["work"])
    graph.add_edge("work", END)
    compiled = graph.compile()
    config: Any = {"max_concurrency": CONCURRENCY}

    async def batch() -> tuple[float, Any]:
        await compiled.ainvoke({"items": list(range(10)), "results": []}, config=config)
        items = list(range(n))
        start = now()
        result = await compiled.ainvoke({"items": items, "results": []}, config=config)
        return now() - start, result

    def trial() -> Sample:
        elapsed, result = asyncio.run(batch())
        require(result["results"] == _expected(n), "results out of order or missing")
        return Sample(n / elapsed, "in order")

    return trial


# -- pydantic-graph ---------------------------------------------------------------------------


def pydantic_graph_trial(n: int) -> Trial:
    from pydantic_graph import GraphBuilder, StepContext, reduce_list_append

    builder = GraphBuilder(input_type=list[int], output_type=list[int])

    async def number(ctx: StepContext[None, None, list[int]]) -> list[tuple[int, int]]:
        return list(enumerate(ctx.inputs))

    async def work(ctx: StepContext[None, None, tuple[int, int]]) -> tuple[int, int]:
        index, item = ctx.inputs
        return index, item * 2

    async def in_order(ctx: StepContext[None, None, list[tuple[int, int]]]) -> list[int]:
        return [value for _, value in sorted(ctx.inputs)]

    number_step = builder.step(number)
    work_step = builder.step(work)
    order_step = builder.step(in_order)
    collect = builder.join(reduce_list_append, initial_factory=list[tuple[int, int]])
    builder.add(
        builder.edge_from(builder.start_node).to(number_step),
        builder.edge_from(number_step).map().to(work_step),
        builder.edge_from(work_step).to(collect),
        builder.edge_from(collect).to(order_step),
        builder.edge_from(order_step).to(builder.end_node),
    )
    graph = builder.build()

    async def batch() -> tuple[float, list[int]]:
        await graph.run(inputs=list(range(10)))
        items = list(range(n))
        start = now()
        result = await graph.run(inputs=items)
        return now() - start, result

    def trial() -> Sample:
        elapsed, result = asyncio.run(batch())
        require(result == _expected(n), "results out of order or missing")
        return Sample(n / elapsed, "in order")

    return trial


# -- RSS children ------------------------------------------------------------------------------


async def _numbers(n: int, pulled: list[int]) -> AsyncIterator[int]:
    for item in range(n):
        pulled[0] += 1
        yield item


async def floor_stream(n: int) -> None:
    """The floor fed by an async generator; results are discarded."""
    pulled = [0]
    limiter = trio.CapacityLimiter(CONCURRENCY)
    sink = [0]

    async def work(item: int, token: object) -> None:
        try:
            sink[0] = item * 2
        finally:
            limiter.release_on_behalf_of(token)

    baseline = reset_peak_rss()
    start = now()
    async with trio.open_nursery() as nursery:
        async for item in _numbers(n, pulled):
            token = object()
            await limiter.acquire_on_behalf_of(token)
            nursery.start_soon(work, item, token)
    elapsed = now() - start
    if pulled[0] != n:
        raise BenchmarkError(f"pulled {pulled[0]} of {n}")
    report_rss(baseline, elapsed)


async def ours_stream(n: int) -> None:
    """Ours fed by an async generator held in a transient field, with Gather.discard()."""
    import attrs

    from dagon_actors import DAGBuilder, Dagonizer, Gather, NodeStateBase, node

    @attrs.define
    class StreamState(NodeStateBase):
        source: Any = attrs.field(default=None, metadata={"transient": True})
        out: int = 0

    @node("double", outputs=("success",))
    async def double(state: Any, ctx: Any) -> str:
        state.out = state.get_metadata("item") * 2
        return "success"

    dag = (
        DAGBuilder("stream", "1")
        .scatter(
            "s",
            double,
            source="source",
            concurrency=CONCURRENCY,
            gather=Gather.discard(),
            routes=SCATTER_ROUTES,
        )
        .build()
    )
    dispatcher = Dagonizer()
    dispatcher.register_dag(dag)
    pulled = [0]
    state = StreamState(source=_numbers(n, pulled))
    baseline = reset_peak_rss()
    start = now()
    result = await dispatcher.execute("stream", state)
    elapsed = now() - start
    if result.cursor is not None or result.state.errors:
        raise BenchmarkError(f"run stopped at {result.cursor!r}: {result.state.errors[:1]}")
    if pulled[0] != n:
        raise BenchmarkError(f"pulled {pulled[0]} of {n}")
    report_rss(baseline, elapsed)


def rss_child(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rss-child", nargs=2, metavar=("SYSTEM", "N"), required=True)
    system, size = parser.parse_args(argv).rss_child
    n = int(size)
    if system == FLOOR:
        trio.run(floor_stream, n)
    elif system == OURS:
        trio.run(ours_stream, n)
    else:
        raise SystemExit(f"no RSS child for {system!r}")


def _mib(kib: int) -> float:
    return kib / 1024


def _label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def _rss_sizes(config: Config) -> tuple[int, ...]:
    return (100, 1_000, 10_000) if config.quick else (10_000, 100_000, 1_000_000)


def rss_rows(config: Config) -> list[Row]:
    sizes = _rss_sizes(config)
    systems = [s for s in (FLOOR, OURS) if config.wants(s)]
    readings: dict[str, dict[int, Any]] = {s: {} for s in systems}
    failures: dict[str, str] = {}
    script = Path(__file__).resolve()
    for index, size in enumerate(sizes):
        order = systems if index % 2 == 0 else systems[::-1]
        for system in order:
            if system in failures:
                continue
            try:
                reading = measure_rss(script, ["--rss-child", system, str(size)])
            except Exception as exc:
                failures[system] = describe(exc)
                progress(f"  W2 RSS {system} {size}: FAILED {failures[system]}")
                continue
            readings[system][size] = reading
            progress(f"  W2 RSS {system} {size}: peak {_mib(reading.peak_kib):.1f} MiB")
    big, mid = sizes[-1], sizes[-2]
    rows: list[Row] = []
    for system in systems:
        row = Row(
            workload="W2 RSS",
            system=system,
            unit=f"MiB peak @{_label(big)}",
            higher_is_better=False,
            footnote=RSS_NOTE,
        )
        got = readings[system]
        if system in failures:
            row.failure = failures[system]
        else:
            growth = got[big].peak_kib / got[mid].peak_kib
            row.samples = [_mib(got[big].peak_kib)]
            row.metrics["growth"] = growth
            sizes_text = ", ".join(f"{_label(s)}: {fmt(_mib(got[s].peak_kib))}" for s in sizes)
            above = ", ".join(
                f"{_label(s)}: +{fmt(_mib(got[s].peak_kib - got[s].baseline_kib))}" for s in sizes
            )
            row.check = (
                f"{_label(big)}/{_label(mid)} = {growth:.2f}x; peaks {sizes_text} MiB; "
                f"above baseline {above} MiB; "
                f"{_label(big)} at {fmt(big / got[big].seconds)} items/s"
            )
        rows.append(row)
    return rows


RSS_NOTE = (
    "W2 RSS: each size runs in a fresh interpreter; peak = `VmHWM` of the child (its "
    "`ru_maxrss` would carry the parent's peak over exec); items come from an async "
    "generator; ours holds it in a transient state field and uses `Gather.discard()`; the "
    "floor discards results too. The peak is reset to the current RSS after imports and setup "
    "(`/proc/self/clear_refs`), which is the baseline."
)
LANGGRAPH_NOTE = (
    "LangGraph W2: a conditional edge from START returns one `Send('work', {'item': i})` per "
    "item; `work` returns `{'results': [2 * i]}` into `Annotated[list, operator.add]`; "
    "`max_concurrency=64` in the run config. The list reducer concatenates, so its cost grows "
    "faster than linearly with the item count."
)
PYDANTIC_GRAPH_NOTE = (
    "pydantic-graph W2: `edge_from(number).map().to(work)` joined with `reduce_list_append`. "
    "Its API has no concurrency limit, so all items are in flight at once; the join collects "
    "in completion order, so items carry their index and a last step sorts them."
)


# -- workload ---------------------------------------------------------------------------------


def run(config: Config) -> WorkloadResult:
    n = config.pick(10_000, 1_000)
    rounds = config.pick(3, 2)
    trials: dict[str, Trial | str] = {}
    if config.wants(FLOOR):
        trials[FLOOR] = prepare(FLOOR, lambda: floor_trial(n))
    if config.wants(OURS):
        trials[OURS] = prepare(OURS, lambda: ours_trial(n))
    if config.wants(LANGGRAPH):
        trials[LANGGRAPH] = prepare(LANGGRAPH, lambda: langgraph_trial(n))
    if config.wants(PYDANTIC_GRAPH):
        trials[PYDANTIC_GRAPH] = prepare(PYDANTIC_GRAPH, lambda: pydantic_graph_trial(n))
    outcome = alternate(trials, rounds, label=KEY)
    rows = rows_from(
        KEY,
        outcome,
        unit=UNIT,
        higher_is_better=True,
        footnotes={LANGGRAPH: LANGGRAPH_NOTE, PYDANTIC_GRAPH: PYDANTIC_GRAPH_NOTE},
    )
    rss = rss_rows(config) if config.wants(FLOOR) or config.wants(OURS) else []
    result = WorkloadResult(KEY, TITLE if n == 10_000 else f"{TITLE} (n={n})", rows + rss)
    big, mid = _rss_sizes(config)[-1], _rss_sizes(config)[-2]
    result.targets = targets(
        result, rss, f"W2 ours peak RSS at {_label(big)} within 1.2x of {_label(mid)}"
    )
    return result


def targets(result: WorkloadResult, rss: list[Row], rss_target: str) -> list[str]:
    ours, floor, langgraph = result.row(OURS), result.row(FLOOR), result.row(LANGGRAPH)
    lines: list[str] = []
    if ours is not None and floor is not None:
        share = ours.median / floor.median
        lines.append(f"W2 ours ≥40% of the floor's items/s: {share:.0%} — {verdict(share >= 0.4)}")
    else:
        lines.append(f"W2 ours ≥40% of the floor's items/s: {verdict(None)}")
    if ours is not None and langgraph is not None:
        factor = speedup(ours, langgraph)
        lines.append(f"W2 ours ≥20x LangGraph's items/s: {factor:.1f}x — {verdict(factor >= 20)}")
    else:
        lines.append(f"W2 ours ≥20x LangGraph's items/s: {verdict(None)}")
    ours_rss = next((row for row in rss if row.system == OURS and row.ok), None)
    if ours_rss is not None:
        growth = ours_rss.metrics["growth"]
        lines.append(f"{rss_target}: {growth:.2f}x — {verdict(growth <= 1.2)}")
    else:
        lines.append(f"{rss_target}: {verdict(None)}")
    return lines


if __name__ == "__main__":
    rss_child(sys.argv[1:])
