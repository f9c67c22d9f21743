"""W4 — checkpoint round trip: a state with a 10,000-entry list plus a store of 10,000 keys.

Milliseconds per round trip: capture + serialise + load + restore.

Floor: ``json.dumps`` + ``json.loads`` of the same data.
"""

import asyncio
import inspect
import json
import statistics
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
    fmt,
    now,
    prepare,
    require,
    rows_from,
    verdict,
)

KEY = "W4"
TITLE = "checkpoint round trip, 10,000-entry list + 10,000-key store"
UNIT = "ms/round trip"
ENTRIES = 10_000


def _items() -> list[int]:
    return list(range(ENTRIES))


def _store_data() -> dict[str, int]:
    return {f"k{i}": i for i in range(ENTRIES)}


def _per_trip(elapsed: float, trips: int) -> float:
    return elapsed / trips * 1e3


# -- floor -------------------------------------------------------------------------


def floor_trial(trips: int) -> Trial:
    data = {"state": {"items": _items()}, "store": _store_data()}

    def batch() -> tuple[float, Any]:
        back = json.loads(json.dumps(data))  # warm-up
        start = now()
        for _ in range(trips):
            back = json.loads(json.dumps(data))
        return now() - start, back

    def trial() -> Sample:
        elapsed, back = batch()
        require(back == data, "JSON round trip changed the data")
        return Sample(_per_trip(elapsed, trips), "equal")

    return trial


# -- dagon_actors ------------------------------------------------------------------------


PHASES = ("capture", "to_json", "load", "restore_stores", "restore_state")


def ours_trial(trips: int, phases: dict[str, list[float]]) -> Trial:
    """Ours; after the timed trips, a few more are timed phase by phase into `phases` (ms)."""
    import attrs

    from dagon_actors import (
        AbortController,
        Checkpoint,
        DAGBuilder,
        Dagonizer,
        MemoryStore,
        NodeStateBase,
        node,
    )

    @attrs.define
    class CheckpointState(NodeStateBase):
        items: list[int] = attrs.Factory(list)

    @node("first", outputs=("next",))
    async def first(state: Any, ctx: Any) -> str:
        return "next"

    @node("second", outputs=("done",))
    async def second(state: Any, ctx: Any) -> str:
        return "done"

    dag = (
        DAGBuilder("flow", "1")
        .node("a", first, {"next": "b"})
        .node("b", second, {"done": None})
        .build()
    )

    async def aborted_run(dispatcher: Any) -> Any:
        """A run aborted after its first event: cursor on the second placement."""
        controller = AbortController()
        execution = dispatcher.execute(
            "flow", CheckpointState(items=_items()), abort=controller.signal
        )
        async for _event in execution:
            controller.abort()
        return await execution

    async def round_trip(result: Any, store: Any) -> tuple[Any, Any]:
        ckpt = await Checkpoint.capture("flow", result, stores={"s": store})
        text = ckpt.to_json()
        ck2 = Checkpoint.load(text)
        fresh = MemoryStore()
        await ck2.restore_stores({"s": fresh})
        restored = ck2.restore_state(CheckpointState.restore)
        return restored, fresh

    async def phased_trip(result: Any, store: Any) -> None:
        marks = [now()]
        ckpt = await Checkpoint.capture("flow", result, stores={"s": store})
        marks.append(now())
        text = ckpt.to_json()
        marks.append(now())
        ck2 = Checkpoint.load(text)
        marks.append(now())
        await ck2.restore_stores({"s": MemoryStore()})
        marks.append(now())
        ck2.restore_state(CheckpointState.restore)
        marks.append(now())
        for name, before, after in zip(PHASES, marks, marks[1:], strict=False):
            phases.setdefault(name, []).append((after - before) * 1e3)

    async def batch() -> tuple[float, Any, Any]:
        dispatcher = Dagonizer()
        dispatcher.register_dag(dag)
        store = MemoryStore()
        for key, value in _store_data().items():
            await store.set(key, value)
        result = await aborted_run(dispatcher)
        require(result.cursor == "b", f"aborted run has cursor {result.cursor!r}, not 'b'")
        restored, fresh = await round_trip(result, store)  # warm-up
        start = now()
        for _ in range(trips):
            restored, fresh = await round_trip(result, store)
        elapsed = now() - start
        for _ in range(3):
            await phased_trip(result, store)
        keys = fresh.keys()
        if inspect.isawaitable(keys):
            keys = await keys
        return elapsed, restored, list(keys)

    def trial() -> Sample:
        elapsed, restored, keys = trio.run(batch)
        require(restored.cursor == "b", f"restored cursor {restored.cursor!r}")
        require(restored.state.items == _items(), "restored list differs")
        require(keys == list(_store_data()), f"restored store has {len(keys)} keys")
        return Sample(_per_trip(elapsed, trips), "equal")

    return trial


# -- LangGraph ------------------------------------------------------------------------------


def langgraph_trial(trips: int) -> Trial:
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.memory import InMemorySaver

    items, store = _items(), _store_data()
    config: Any = {"configurable": {"thread_id": "w4", "checkpoint_ns": ""}}

    async def round_trip(saver: InMemorySaver) -> dict[str, Any]:
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"items": items, "store": store}
        checkpoint["channel_versions"] = {"items": 1, "store": 1}
        saved = await saver.aput(
            config, checkpoint, {"source": "loop", "step": 1}, {"items": 1, "store": 1}
        )
        loaded = await saver.aget_tuple(saved)
        require(loaded is not None, "checkpoint not found")
        assert loaded is not None
        return loaded.checkpoint["channel_values"]

    async def batch() -> tuple[float, dict[str, Any]]:
        saver = InMemorySaver()
        values = await round_trip(saver)  # warm-up
        start = now()
        for _ in range(trips):
            values = await round_trip(saver)
        return now() - start, values

    def trial() -> Sample:
        elapsed, values = asyncio.run(batch())
        require(values["items"] == items and values["store"] == store, "checkpoint differs")
        return Sample(_per_trip(elapsed, trips), "equal")

    return trial


LANGGRAPH_NOTE = (
    "LangGraph W4: `InMemorySaver.aput` + `aget_tuple` of a checkpoint whose channel values "
    "hold the same list and a 10,000-key dict (LangGraph's own `BaseStore` is not part of a "
    "checkpoint, so the store's data rides as a channel). The saver serialises with its "
    "msgpack serde, not JSON; no graph runs."
)
PYDANTIC_GRAPH_NOTE = (
    "pydantic-graph W4: n/a — the installed release has no persistence/snapshot API for graph "
    "runs (the GraphBuilder API exposes none), so there is nothing idiomatic to time."
)


def run(config: Config) -> WorkloadResult:
    rounds = config.pick(7, 2)
    phases: dict[str, list[float]] = {}
    trials: dict[str, Trial | str] = {}
    if config.wants(FLOOR):
        trials[FLOOR] = prepare(FLOOR, lambda: floor_trial(config.pick(40, 3)))
    if config.wants(OURS):
        trials[OURS] = prepare(OURS, lambda: ours_trial(config.pick(20, 2), phases))
    if config.wants(LANGGRAPH):
        trials[LANGGRAPH] = prepare(LANGGRAPH, lambda: langgraph_trial(config.pick(40, 3)))
    outcome = alternate(trials, rounds, label=KEY)
    rows = rows_from(
        KEY, outcome, unit=UNIT, higher_is_better=False, footnotes={LANGGRAPH: LANGGRAPH_NOTE}
    )
    if config.wants(PYDANTIC_GRAPH):
        rows.append(
            Row(
                workload=KEY,
                system=PYDANTIC_GRAPH,
                unit=UNIT,
                higher_is_better=False,
                failure="n/a",
                footnote=PYDANTIC_GRAPH_NOTE,
            )
        )
    result = WorkloadResult(KEY, TITLE, rows)
    if phases:
        split = ", ".join(f"{name} {fmt(statistics.median(phases[name]))}" for name in PHASES)
        result.notes.append(f"W4 ours, where a round trip goes (median ms per phase): {split}")
    ours, floor = result.row(OURS), result.row(FLOOR)
    if ours is not None and floor is not None:
        ratio = ours.median / floor.median
        result.targets = [f"W4 ours within 3x raw JSON: {ratio:.2f}x — {verdict(ratio <= 3)}"]
    else:
        result.targets = [f"W4 ours within 3x raw JSON: {verdict(None)}"]
    return result
