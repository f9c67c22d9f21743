"""Scatter: clones as Trio tasks in a bounded pool, backpressure, verdicts, isolation.

Every timing is asserted exactly under ``autojump_clock``. Most tests run
twice: with a node body (``kind="node"``) and with a registered DAG body
(``kind="dag"``, DAG ``item-flow`` whose placement ``work`` runs the same
function); see ``_helpers.register_scatter``.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import weakref
from typing import TYPE_CHECKING, Any

import pytest
import trio
from _helpers import (
    AGGREGATE_VERDICTS,
    GUARD,
    FlowState,
    Gauge,
    RecordingDagonizer,
    Timetable,
    clone_path,
    collect,
    event_rows,
    register_scatter,
    routes_to_terminals,
    verdict_terminals,
)

from dagon_actors import (
    DAGBuilder,
    Dagonizer,
    ErrorRecord,
    Gather,
    GatherRecord,
    LifecycleVariant,
    NodeEvent,
    ValidationError,
    node,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator, Sequence

    from trio.testing import MockClock

    from dagon_actors import NodeContext

KINDS = pytest.mark.parametrize("kind", ["node", "dag"])


# -- the pool: concurrency limit and schedule ------------------------------------------


@KINDS
async def test_pool_peak_equals_limit_and_schedule_is_exact(
    autojump_clock: MockClock, kind: str
) -> None:
    """12 one-second items at concurrency 3 run in 4 waves: peak 3, done at t=4."""
    table = Timetable()
    gauge = Gauge()

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        with gauge:
            await table.work(state.metadata["item"], 1.0)
        return "success"

    dispatcher = Dagonizer()
    register_scatter(dispatcher, kind, body, source="items", concurrency=3)
    with trio.fail_after(GUARD):
        result = await dispatcher.execute("main", FlowState(items=list(range(12))))

    assert gauge.peak == 3
    assert table.rows == {i: (float(i // 3), float(i // 3 + 1)) for i in range(12)}
    assert trio.current_time() == 4.0
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert result.executed_nodes == ["s", "on-all-success"]


@KINDS
async def test_concurrency_none_runs_a_whole_list_at_once(
    autojump_clock: MockClock, kind: str
) -> None:
    """concurrency=None with a list starts every item at t=0."""
    table = Timetable()
    gauge = Gauge()

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        with gauge:
            await table.work(state.metadata["item"], 1.0)
        return "success"

    dispatcher = Dagonizer()
    register_scatter(dispatcher, kind, body, source="items")
    with trio.fail_after(GUARD):
        await dispatcher.execute("main", FlowState(items=list(range(7))))

    assert gauge.peak == 7
    assert table.rows == dict.fromkeys(range(7), (0.0, 1.0))
    assert trio.current_time() == 1.0


def _sync_gen(n: int) -> Iterator[int]:
    yield from range(n)


async def _async_gen(n: int) -> AsyncIterator[int]:
    for i in range(n):
        yield i


@KINDS
@pytest.mark.parametrize("source_kind", ["iterator", "async"])
async def test_concurrency_none_runs_other_iterables_one_at_a_time(
    autojump_clock: MockClock, kind: str, source_kind: str
) -> None:
    """concurrency=None with a non-list iterable (sync or async) runs items one by one."""
    table = Timetable()
    gauge = Gauge()

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        with gauge:
            await table.work(state.metadata["item"], 1.0)
        return "success"

    dispatcher = Dagonizer()
    register_scatter(dispatcher, kind, body, source="source")
    source = _sync_gen(4) if source_kind == "iterator" else _async_gen(4)
    with trio.fail_after(GUARD):
        await dispatcher.execute("main", FlowState(source=source))

    assert gauge.peak == 1
    assert table.rows == {i: (float(i), float(i + 1)) for i in range(4)}
    assert trio.current_time() == 4.0


# -- backpressure -------------------------------------------------------------------------


@KINDS
async def test_async_source_is_never_read_ahead_of_the_pool(
    autojump_clock: MockClock, kind: str
) -> None:
    """Item k is pulled only once k + 1 - completed <= concurrency; the bound is reached."""
    completed = 0
    pulls: list[tuple[int, int, float]] = []  # (index, completed at pull, time)

    async def source() -> AsyncIterator[int]:
        for i in range(10):
            pulls.append((i, completed, trio.current_time()))
            yield i

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        nonlocal completed
        item = state.metadata["item"]
        await trio.sleep(1.0 + item % 3)  # 1, 2, 3, 1, 2, 3, ...
        completed += 1
        return "success"

    dispatcher = Dagonizer()
    register_scatter(dispatcher, kind, body, source="source", concurrency=3)
    with trio.fail_after(GUARD):
        result = await dispatcher.execute("main", FlowState(source=source()))

    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert [index for index, _, _ in pulls] == list(range(10))
    ahead = [index + 1 - done for index, done, _ in pulls]
    assert max(ahead) == 3
    # Items 0-2 at t=0; each later pull waits for a slot: the schedule of a
    # 3-slot pool with durations 1, 2, 3, 1, 2, 3, ...
    assert [t for _, _, t in pulls] == [0.0, 0.0, 0.0, 1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 5.0]


async def test_endless_async_source_stops_with_the_pool(autojump_clock: MockClock) -> None:
    """An endless source at concurrency 2 under a 5.5 s deadline: 12 pulled, 10 completed."""
    pulled = 0
    completed = 0

    async def endless() -> AsyncIterator[int]:
        nonlocal pulled
        i = 0
        while True:
            pulled += 1
            yield i
            i += 1

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        nonlocal completed
        await trio.sleep(1.0)
        completed += 1
        return "success"

    dispatcher = Dagonizer()
    register_scatter(dispatcher, "node", body, source="source", concurrency=2)
    # The caller owns the source: the engine never closes one it did not exhaust.
    async with contextlib.aclosing(endless()) as source:
        with trio.fail_after(GUARD):
            result = await dispatcher.execute("main", FlowState(source=source), deadline=5.5)

    assert result.state.lifecycle.variant is LifecycleVariant.TIMED_OUT
    assert result.cursor == "s"
    assert trio.current_time() == 5.5
    assert (pulled, completed) == (12, 10)


@pytest.mark.parametrize(("concurrency", "window"), [(2, 3), (2, None)])
async def test_reorder_window_bounds_pulls_while_an_early_item_is_slow(
    autojump_clock: MockClock, concurrency: int, window: int | None
) -> None:
    """Item 0 is slow: pulling stops while the newest pulled index is more than
    ``reorder_window`` (default 4 x concurrency) ahead of item 0, and resumes
    when item 0 is folded (DESIGN.md "DAGs and placements")."""
    effective = window if window is not None else 4 * concurrency
    pulls: list[tuple[int, float]] = []

    async def source() -> AsyncIterator[int]:
        for i in range(effective + 6):
            pulls.append((i, trio.current_time()))
            yield i

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        await trio.sleep(30.0 if ctx.item_index == 0 else 1.0)
        return "success"

    dispatcher = Dagonizer()
    register_scatter(
        dispatcher,
        "node",
        body,
        source="source",
        concurrency=concurrency,
        reorder_window=window,
        gather=Gather.append("collected"),
    )
    with trio.fail_after(GUARD):
        result = await dispatcher.execute("main", FlowState(source=source()))

    # Pulling goes on while newest - 0 <= window, so the last pull before item
    # 0 finishes is index window + 1 (then newest - 0 > window); the next pull
    # happens exactly when item 0 completes at t=30.
    before = [index for index, t in pulls if t < 30.0]
    assert before == list(range(effective + 2))
    assert pulls[effective + 2] == (effective + 2, 30.0)
    assert result.state.collected == list(range(effective + 6))


# -- clone isolation ---------------------------------------------------------------------------


@KINDS
async def test_clones_are_isolated_from_the_parent(autojump_clock: MockClock, kind: str) -> None:
    """A clone starts from defaults plus the item, its index and deep-copied inputs;
    its writes reach the parent only through the gather."""
    seen: list[dict[str, Any]] = []
    parent = FlowState(
        items=[10, 20, 30],
        value=7,
        label="parent",
        config={"nested": {"k": [1]}},
        metadata={"shared": {"x": 1}},
    )

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        seen.append(
            {
                "is_parent": state is parent,
                "type": type(state),
                "value": state.value,
                "label": state.label,
                "item": state.metadata["job"],
                "meta_index": state.metadata["item_index"],
                "ctx_index": ctx.item_index,
                "config": {"nested": {"k": list(state.config["nested"]["k"])}},
                "shared": dict(state.metadata["shared"]),
            }
        )
        await trio.sleep(1.0)
        # Writes to every kind of field: none may reach the parent.
        state.config["nested"]["k"].append(state.metadata["job"])
        state.metadata["shared"]["x"] = 99
        state.metadata["from-clone"] = True
        state.touched.append("clone")
        state.value = state.metadata["job"] + 1
        state.label = "clone"
        return "success"

    dispatcher = Dagonizer()
    register_scatter(
        dispatcher,
        kind,
        body,
        source="items",
        item_key="job",
        inputs={"config": "config"},
        gather=Gather.map({"value": "values"}),
    )
    with trio.fail_after(GUARD):
        result = await dispatcher.execute("main", parent)

    assert result.state is parent
    assert sorted(seen, key=lambda s: s["item"]) == [
        {
            "is_parent": False,
            "type": FlowState,
            "value": 0,
            "label": "",
            "item": item,
            "meta_index": index,
            "ctx_index": index,
            "config": {"nested": {"k": [1]}},
            "shared": {"x": 1},
        }
        for index, item in enumerate([10, 20, 30])
    ]
    assert parent.values == [11, 21, 31]  # the gather
    assert parent.value == 7
    assert parent.label == "parent"
    assert parent.config == {"nested": {"k": [1]}}
    assert parent.metadata == {"shared": {"x": 1}}
    assert parent.touched == []
    assert parent.errors == []


# -- failures of a clone ---------------------------------------------------------------------


@KINDS
async def test_a_body_that_raises_is_an_error_of_its_item_only(
    autojump_clock: MockClock, kind: str
) -> None:
    """Item 2 raises: its error is on the parent with item_index 2; siblings finish;
    the verdict is partial and the run completes."""
    table = Timetable()

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        item = state.metadata["item"]
        table.start(item)
        if item == 2:
            await trio.sleep(0.5)
            raise RuntimeError("boom 2")
        await trio.sleep(1.25 if item == 1 else 1.0)  # no two clones finish together
        table.finish(item)
        return "success"

    dispatcher = RecordingDagonizer()
    register_scatter(
        dispatcher, kind, body, source="items", concurrency=2, gather=Gather.append("collected")
    )
    state = FlowState(items=[0, 1, 2, 3, 4])
    with trio.fail_after(GUARD):
        events, result = await collect(dispatcher.execute("main", state))

    assert table.rows == {
        0: (0.0, 1.0),
        1: (0.0, 1.25),
        2: (1.0, None),
        3: (1.25, 2.25),
        4: (1.5, 2.5),
    }
    assert trio.current_time() == 2.5
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert result.executed_nodes == ["s", "on-partial"]
    # A raising node body has no output, so append skips it; a DAG body whose
    # child failed completed with output "error", and append takes it.
    assert state.collected == ([0, 1, 3, 4] if kind == "node" else [0, 1, 2, 3, 4])
    [record] = state.errors
    assert isinstance(record, ErrorRecord)
    assert record.code == "RuntimeError"
    assert isinstance(record.exception, RuntimeError)
    assert record.item_index == 2
    assert record.placement_path == clone_path(kind)
    assert dispatcher.errors == [(clone_path(kind)[-1], "RuntimeError", clone_path(kind))]
    # Completion order 0, 1, 2 (raised: no output), 3, 4.
    if kind == "node":
        clone_rows = [("body", out, ("s", "body")) for out in ["success", "success", None]]
        clone_rows += [("body", "success", ("s", "body"))] * 2
    else:
        ok = [("work", "success", ("s", "work")), ("done", None, ("s", "done"))]
        clone_rows = [*ok, *ok, ("work", None, ("s", "work")), *ok, *ok]
    assert event_rows(events) == [
        *clone_rows,
        ("s", "partial", ("s",)),
        ("on-partial", None, ("on-partial",)),
    ]


# -- sources: empty, None, errors ------------------------------------------------------------


@KINDS
@pytest.mark.parametrize("items", [[], None], ids=["empty-list", "none"])
@pytest.mark.parametrize(("reducer", "verdict"), [("aggregate", "empty"), ("terminal", "error")])
async def test_no_items_routes_the_no_clone_verdict_and_is_skipped(
    autojump_clock: MockClock, kind: str, items: list[int] | None, reducer: str, verdict: str
) -> None:
    """An empty or None source runs no clone, reports the scatter skipped and routes
    ``empty`` (aggregate) or ``error`` (terminal)."""
    ran: list[Any] = []

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        ran.append(state.metadata["item"])
        return "success"

    dispatcher = Dagonizer()
    register_scatter(dispatcher, kind, body, source="items", reducer=reducer)
    with trio.fail_after(GUARD):
        events, result = await collect(dispatcher.execute("main", FlowState(items=items)))

    assert ran == []
    assert result.skipped_nodes == ["s"]
    assert result.executed_nodes == [f"on-{verdict}"]
    assert result.cursor is None
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert events == [
        NodeEvent(node_name="s", output=verdict, placement_path=("s",), skipped=True),
        NodeEvent(node_name=f"on-{verdict}", output=None, placement_path=(f"on-{verdict}",)),
    ]
    assert trio.current_time() == 0.0


@pytest.mark.parametrize(
    "broken_source",
    ["async", "iterator"],
)
async def test_a_source_that_raises_fails_the_placement(
    autojump_clock: MockClock, broken_source: str
) -> None:
    """A source raising after two items fails the scatter: lifecycle failed, cursor on it."""

    async def broken_async() -> AsyncIterator[int]:
        yield 0
        yield 1
        await trio.sleep(0.5)
        raise RuntimeError("source broke")

    def broken_sync() -> Iterator[int]:
        yield 0
        yield 1
        raise RuntimeError("source broke")

    table = Timetable()

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        await table.work(state.metadata["item"], 1.0)
        return "success"

    dispatcher = Dagonizer()
    register_scatter(dispatcher, "node", body, source="source", concurrency=4)
    source = broken_async() if broken_source == "async" else broken_sync()
    state = FlowState(source=source)
    with trio.fail_after(GUARD):
        result = await dispatcher.execute("main", state)

    assert result.state.lifecycle.variant is LifecycleVariant.FAILED
    assert result.cursor == "s"
    assert result.interrupted_at is None
    assert result.executed_nodes == []
    assert trio.current_time() == (0.5 if broken_source == "async" else 0.0)
    [record] = state.errors
    assert record.code == "RuntimeError"
    assert record.message == "source broke"
    assert record.placement_path == ("s",)
    # The two clones already running were cancelled with the scatter.
    assert table.rows == {0: (0.0, None), 1: (0.0, None)}


@pytest.mark.parametrize(
    ("path", "options"),
    [
        ("no-such-dag", {"dag": "no-such-dag", "source": "items"}),
        ("missing.items", {"source": "missing.items"}),
        ("config.nope", {"source": "config.nope"}),
        ("nowhere", {"source": "items", "gather": Gather.append("nowhere")}),
        (
            "config.missing",
            {"source": "items", "gather": Gather.partition({"success": "config.missing"})},
        ),
        ("config.absent", {"source": "items", "inputs": {"config": "config.absent"}}),
        ("label", {"source": "items", "gather": Gather.append("label")}),
        ("config", {"source": "items", "gather": Gather.map({"value": "config"})}),
    ],
    ids=[
        "body-dag",
        "source-attr",
        "source-key",
        "gather-append",
        "gather-partition",
        "inputs",
        "gather-target-is-a-str",
        "gather-target-is-a-dict",
    ],
)
async def test_run_time_definition_errors_fail_the_placement(
    autojump_clock: MockClock, path: str, options: dict[str, Any]
) -> None:
    """An unregistered body DAG, a missing source path, a missing gather target or one
    that is not a list fails the scatter at run time, before any clone runs, with a
    ValidationError naming placement and path."""
    ran: list[Any] = []

    @node("body", outputs=("success",))
    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        ran.append(state.metadata["item"])
        return "success"

    builder = DAGBuilder("main")
    if "dag" in options:
        builder.scatter("fan-out", routes=routes_to_terminals(AGGREGATE_VERDICTS), **options)
    else:
        builder.scatter("fan-out", body, routes=routes_to_terminals(AGGREGATE_VERDICTS), **options)
    verdict_terminals(builder, AGGREGATE_VERDICTS)
    dispatcher = RecordingDagonizer()
    dispatcher.register_dag(builder.build())  # accepted: a DAG knows no state class
    state = FlowState(items=[1, 2, 3])
    with trio.fail_after(GUARD):
        events, result = await collect(dispatcher.execute("main", state))

    assert ran == []
    assert result.state.lifecycle.variant is LifecycleVariant.FAILED
    assert result.cursor == "fan-out"
    assert result.interrupted_at is None
    assert result.executed_nodes == []
    [record] = state.errors
    assert record.code == "ValidationError"
    assert isinstance(record.exception, ValidationError)
    assert "fan-out" in record.message
    assert path in record.message
    assert record.placement_path == ("fan-out",)
    assert dispatcher.errors == [("fan-out", "ValidationError", ("fan-out",))]
    # A failed placement emits exactly one event (DESIGN.md "Execution").
    assert events == [NodeEvent(node_name="fan-out", output=None, placement_path=("fan-out",))]


# -- reducers and verdicts -------------------------------------------------------------------


async def _outcome_body(state: FlowState, ctx: NodeContext[Any]) -> str:
    """Items say what their clone does: ok -> success, bad -> failure, raise -> raise."""
    item = state.metadata["item"]
    await trio.sleep(1.0)
    if item == "raise":
        raise RuntimeError("raised on purpose")
    return "success" if item == "ok" else "failure"


@KINDS
@pytest.mark.parametrize(
    ("reducer", "items", "verdict"),
    [
        ("aggregate", ["ok", "ok", "ok"], "all-success"),
        ("aggregate", ["ok", "bad", "ok"], "partial"),
        ("aggregate", ["ok", "raise"], "partial"),
        ("aggregate", ["bad", "bad"], "all-error"),
        ("aggregate", ["bad", "raise"], "all-error"),
        ("aggregate", [], "empty"),
        ("terminal", ["ok", "ok"], "success"),
        ("terminal", ["ok", "bad"], "error"),
        ("terminal", ["raise", "ok"], "error"),
        ("terminal", [], "error"),
    ],
)
async def test_every_built_in_verdict_routes(
    autojump_clock: MockClock, kind: str, reducer: str, items: list[str], verdict: str
) -> None:
    """aggregate routes all-success / partial / all-error / empty; terminal routes
    success only when every clone succeeded."""
    dispatcher = Dagonizer()
    register_scatter(dispatcher, kind, _outcome_body, source="items", reducer=reducer)
    with trio.fail_after(GUARD):
        events, result = await collect(dispatcher.execute("main", FlowState(items=items)))

    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert result.terminal_outcome == "completed"
    if items:
        assert (result.executed_nodes, result.skipped_nodes) == (["s", f"on-{verdict}"], [])
    else:
        assert (result.executed_nodes, result.skipped_nodes) == ([f"on-{verdict}"], ["s"])
    [scatter_event] = [e for e in events if e.placement_path == ("s",)]
    assert scatter_event.output == verdict
    assert trio.current_time() == (1.0 if items else 0.0)


async def test_success_outputs_decide_what_counts_as_success(autojump_clock: MockClock) -> None:
    """With success_outputs=("ok", "meh"), "meh" counts as a success and "bad" does not."""

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        return state.metadata["item"]

    outcomes: dict[str, list[str]] = {}
    for items in (["ok", "meh"], ["ok", "bad"], ["bad", "bad"], ["success"]):
        dispatcher = Dagonizer()
        register_scatter(
            dispatcher,
            "node",
            body,
            outputs=("ok", "meh", "bad", "success"),
            source="items",
            success_outputs=("ok", "meh"),
        )
        with trio.fail_after(GUARD):
            result = await dispatcher.execute("main", FlowState(items=items))
        outcomes["+".join(items)] = result.executed_nodes
    assert outcomes == {
        "ok+meh": ["s", "on-all-success"],
        "ok+bad": ["s", "on-partial"],
        "bad+bad": ["s", "on-all-error"],
        "success": ["s", "on-all-error"],  # "success" is not among success_outputs
    }


@KINDS
@pytest.mark.parametrize(("items", "verdict"), [([3, 2, 1, 0], "most"), ([0, 0, 1], "few")])
async def test_registered_reducer_gets_records_in_source_order(
    autojump_clock: MockClock, kind: str, items: list[int], verdict: str
) -> None:
    """A reducer added with register_reducer receives every GatherRecord in source order
    (completion order is reversed) and its verdict is routed."""
    seen: list[list[GatherRecord]] = []

    def majority(records: Sequence[GatherRecord]) -> str:
        seen.append(list(records))
        wins = sum(r.output == "success" for r in records)
        return "most" if wins * 2 > len(records) else "few"

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        item = state.metadata["item"]
        await trio.sleep(10.0 - ctx.item_index)  # later items finish first
        state.value = item * 100
        return "success" if item else "failure"

    dispatcher = Dagonizer()
    dispatcher.register_reducer("majority", majority, {"most", "few"})
    register_scatter(
        dispatcher,
        kind,
        body,
        source="items",
        reducer="majority",
        routes={"most": "on-most", "few": "on-few"},
    )
    with trio.fail_after(GUARD):
        result = await dispatcher.execute("main", FlowState(items=items))

    assert result.executed_nodes == ["s", f"on-{verdict}"]
    [records] = seen
    expected_outputs = [
        ("success" if item else ("failure" if kind == "node" else "error")) for item in items
    ]
    assert [(r.index, r.item, r.output) for r in records] == [
        (i, item, out) for i, (item, out) in enumerate(zip(items, expected_outputs, strict=True))
    ]
    assert [r.clone_state.value for r in records] == [item * 100 for item in items]


def test_register_dag_refuses_unrouted_or_unknown_reducer_verdicts() -> None:
    """Every verdict of a registered reducer must be routed; unknown reducers are refused."""
    dispatcher = Dagonizer()
    dispatcher.register_reducer("majority", lambda records: "most", {"most", "few"})

    @node("body", outputs=("success",))
    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        return "success"

    partial_routes = (
        DAGBuilder("partial-routes")
        .scatter("s", body, source="items", reducer="majority", routes={"most": None})
        .build()
    )
    with pytest.raises(ValidationError, match="few"):
        dispatcher.register_dag(partial_routes)

    unknown = (
        DAGBuilder("unknown-reducer")
        .scatter("s", body, source="items", reducer="nope", routes={"most": None})
        .build()
    )
    with pytest.raises(ValidationError, match="nope"):
        dispatcher.register_dag(unknown)

    routed = (
        DAGBuilder("routed")
        .scatter("s", body, source="items", reducer="majority", routes={"most": None, "few": None})
        .build()
    )
    dispatcher.register_dag(routed)
    assert dispatcher.list_dags() == ["routed"]


def test_built_in_verdicts_must_be_routed_and_concurrency_positive() -> None:
    """build() names the unrouted aggregate verdict and a concurrency below 1."""

    @node("body", outputs=("success",))
    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        return "success"

    builder = DAGBuilder("bad").scatter(
        "s",
        body,
        source="items",
        concurrency=0,
        routes={"all-success": None, "partial": None, "all-error": None},
    )
    with pytest.raises(ValidationError) as info:
        builder.build()
    text = str(info.value)
    assert text.startswith("Invalid DAG:")
    assert "bad.s" in text
    assert "empty" in text
    assert "concurrency" in text


# -- events and hooks ---------------------------------------------------------------------------


@KINDS
async def test_events_one_per_clone_in_completion_order_then_the_scatter(
    autojump_clock: MockClock, kind: str
) -> None:
    """Each clone (or each inner placement of a DAG body) emits an event, in completion
    order, before the scatter's own event; node hooks see the same paths."""

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        item = state.metadata["item"]
        await trio.sleep(4.0 - item)  # completion order 3, 2, 1, 0
        return "success" if item % 2 == 0 else "failure"

    dispatcher = RecordingDagonizer()
    register_scatter(dispatcher, kind, body, source="items")
    with trio.fail_after(GUARD):
        events, result = await collect(dispatcher.execute("main", FlowState(items=[0, 1, 2, 3])))

    if kind == "node":
        clone_rows = [
            ("body", out, ("s", "body")) for out in ["failure", "success", "failure", "success"]
        ]
    else:
        clone_rows = []
        for out in ["failure", "success", "failure", "success"]:
            end = "done" if out == "success" else "failed"
            clone_rows += [("work", out, ("s", "work")), (end, None, ("s", end))]
    assert event_rows(events) == [
        *clone_rows,
        ("s", "partial", ("s",)),
        ("on-partial", None, ("on-partial",)),
    ]
    assert all(not e.skipped for e in events)
    # Hooks fire for the inner nodes with the same paths, in the same order.
    assert dispatcher.ends == event_rows(events)
    assert sorted(set(dispatcher.starts)) == sorted(
        {(name, path) for name, _, path in event_rows(events)}
    )
    assert result.executed_nodes == ["s", "on-partial"]


# -- memory --------------------------------------------------------------------------------------


async def test_a_long_async_source_with_discard_keeps_nothing_per_item(
    autojump_clock: MockClock,
) -> None:
    """200k items at concurrency 8 with Gather.discard(): early clone states are freed
    and allocated memory does not grow between item 20k and item 190k."""
    total = 200_000
    refs: list[weakref.ref[FlowState]] = []
    blocks: dict[int, int] = {}
    early_alive: list[bool] = []

    async def source() -> AsyncIterator[int]:
        for i in range(total):
            yield i

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        index = ctx.item_index
        if index == 0:
            refs.append(weakref.ref(state))
        elif index in (20_000, 190_000):
            gc.collect()
            early_alive.append(refs[0]() is not None)
            blocks[index] = sys.getallocatedblocks()
        return "success"

    dispatcher = Dagonizer()
    register_scatter(
        dispatcher, "node", body, source="source", concurrency=8, gather=Gather.discard()
    )
    state = FlowState(source=source())
    with trio.fail_after(GUARD):
        result = await dispatcher.execute("main", state)

    assert result.executed_nodes == ["s", "on-all-success"]
    assert state.errors == []
    assert state.warnings == []
    assert early_alive == [False, False]
    # Keeping anything per item would add at least 170,000 blocks.
    assert blocks[190_000] - blocks[20_000] < 2_000


async def test_a_body_returning_an_undeclared_output_names_the_scatter() -> None:
    """An undeclared body output is that item's error, and the record names body and scatter."""

    @node("w", outputs=("success",))
    async def body(state: FlowState, ctx: Any) -> str:
        return "weird" if state.get_metadata("item") == "odd" else "success"

    dispatcher: Dagonizer[FlowState, None] = Dagonizer()
    dispatcher.register_dag(
        DAGBuilder("sc", "1")
        .scatter(
            "s",
            body,
            source="items",
            routes={"all-success": None, "partial": None, "all-error": None, "empty": None},
        )
        .build()
    )
    state = FlowState(items=["ok", "odd"])
    with trio.fail_after(10):
        result = await dispatcher.execute("sc", state)
    assert result.executed_nodes == ["s"]
    [record] = state.errors
    assert record.code == "ExecutionError"
    assert record.item_index == 1
    assert "'w'" in record.message
    assert "'weird'" in record.message
    assert "scatter 's'" in record.message
