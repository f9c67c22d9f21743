"""Gather strategies: clone results fold into the parent in source order.

Bodies sleep longer for earlier items, so clones complete in the reverse of
source order; every gather must still fold in source order. Each strategy
runs with a node body and with a registered DAG body (``_helpers``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import trio
from _helpers import (
    AGGREGATE_VERDICTS,
    GUARD,
    FlowState,
    Timetable,
    register_scatter,
    routes_to_terminals,
    verdict_terminals,
)

from dagon_actors import (
    DAG,
    DAGBuilder,
    Dagonizer,
    Gather,
    GatherRecord,
    LifecycleVariant,
    ValidationError,
    node,
)

if TYPE_CHECKING:
    from trio.testing import MockClock

    from dagon_actors import NodeContext

KINDS = pytest.mark.parametrize("kind", ["node", "dag"])
ITEMS = [0, 1, 2, 3, 4, 5]


def _reversed_body(table: Timetable) -> Any:
    """A body for ITEMS: item i sleeps 6 - i seconds (so item 5 finishes first),
    sets ``value`` and ``label`` on its clone, and succeeds for even items."""

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        item = state.metadata["item"]
        await table.work(item, float(len(ITEMS) - item))
        state.value = item * 10
        state.label = f"x{item}"
        return "success" if item % 2 == 0 else "failure"

    return body


async def _run_reversed(kind: str, gather: Any) -> tuple[FlowState, Timetable]:
    table = Timetable()
    dispatcher = Dagonizer()
    register_scatter(dispatcher, kind, _reversed_body(table), source="items", gather=gather)
    state = FlowState(items=list(ITEMS))
    with trio.fail_after(GUARD):
        result = await dispatcher.execute("main", state)
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert table.finish_order == [5, 4, 3, 2, 1, 0]
    assert trio.current_time() == 6.0
    return state, table


@KINDS
async def test_partition_folds_in_source_order(autojump_clock: MockClock, kind: str) -> None:
    """Gather.partition appends each item to the list named for its output, in source order."""
    failed_output = "failure" if kind == "node" else "error"  # a DAG body's output
    state, _ = await _run_reversed(
        kind, Gather.partition({"success": "successes", failed_output: "failures"})
    )
    assert state.successes == [0, 2, 4]
    assert state.failures == [1, 3, 5]


@KINDS
async def test_partition_with_field_and_unmapped_outputs(
    autojump_clock: MockClock, kind: str
) -> None:
    """partition(field=...) takes a clone field; outputs it does not map are skipped."""
    state, _ = await _run_reversed(kind, Gather.partition({"success": "labels"}, field="label"))
    assert state.labels == ["x0", "x2", "x4"]
    assert state.failures == []


@KINDS
async def test_map_folds_clone_fields_in_source_order(autojump_clock: MockClock, kind: str) -> None:
    """Gather.map appends each completed clone's fields, whatever its output."""
    state, _ = await _run_reversed(kind, Gather.map({"value": "values", "label": "labels"}))
    assert state.values == [0, 10, 20, 30, 40, 50]
    assert state.labels == ["x0", "x1", "x2", "x3", "x4", "x5"]


@KINDS
async def test_append_folds_items_in_source_order(autojump_clock: MockClock, kind: str) -> None:
    """Gather.append collects every completed item, whatever its output."""
    state, _ = await _run_reversed(kind, Gather.append("collected"))
    assert state.collected == ITEMS


@KINDS
async def test_append_with_field_folds_clone_values(autojump_clock: MockClock, kind: str) -> None:
    """Gather.append(target, field=...) collects a clone field instead of the item."""
    state, _ = await _run_reversed(kind, Gather.append("values", field="value"))
    assert state.values == [0, 10, 20, 30, 40, 50]


@KINDS
async def test_custom_gets_every_record_in_source_order(
    autojump_clock: MockClock, kind: str
) -> None:
    """Gather.custom's fn(state, records) sees index, item, output and clone_state in
    source order, once."""
    calls: list[tuple[FlowState, list[GatherRecord]]] = []

    def fold(state: FlowState, records: list[GatherRecord]) -> None:
        calls.append((state, list(records)))
        state.collected.extend(r.item for r in records)

    state, _ = await _run_reversed(kind, Gather.custom(fold))
    [(seen_state, records)] = calls
    assert seen_state is state
    failed_output = "failure" if kind == "node" else "error"
    assert [(r.index, r.item, r.output) for r in records] == [
        (i, i, "success" if i % 2 == 0 else failed_output) for i in ITEMS
    ]
    assert [r.clone_state.value for r in records] == [0, 10, 20, 30, 40, 50]
    assert all(r.clone_state is not state for r in records)
    assert state.collected == ITEMS


@KINDS
async def test_discard_keeps_only_the_outcome(autojump_clock: MockClock, kind: str) -> None:
    """Gather.discard (the default) writes nothing to the parent."""
    state, _ = await _run_reversed(kind, Gather.discard())
    assert (state.collected, state.values, state.labels) == ([], [], [])
    assert (state.successes, state.failures) == ([], [])
    assert state.value == 0


async def test_map_and_append_skip_a_node_body_that_raised(autojump_clock: MockClock) -> None:
    """A node body that raised has no output and did not complete: map and append skip it,
    and the folds of its neighbours stay in source order."""

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        item = state.metadata["item"]
        await trio.sleep(5.0 - item)
        if item == 1:
            raise ValueError("no value for 1")
        state.value = item + 100
        return "success"

    dispatcher = Dagonizer()
    register_scatter(
        dispatcher,
        "node",
        body,
        source="items",
        gather=Gather.map({"value": "values"}),
    )
    state = FlowState(items=[0, 1, 2, 3])
    with trio.fail_after(GUARD):
        result = await dispatcher.execute("main", state)
    assert result.executed_nodes == ["s", "on-partial"]
    assert state.values == [100, 102, 103]
    assert [r.item_index for r in state.errors] == [1]


@KINDS
async def test_gather_order_holds_with_a_bounded_pool(autojump_clock: MockClock, kind: str) -> None:
    """With concurrency 2 and uneven durations, completion order differs from source
    order and append still folds in source order."""
    durations = [5.0, 1.0, 1.0, 3.0, 1.0, 1.0]
    table = Timetable()

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        item = state.metadata["item"]
        await table.work(item, durations[item])
        return "success"

    dispatcher = Dagonizer()
    register_scatter(
        dispatcher, kind, body, source="items", concurrency=2, gather=Gather.append("collected")
    )
    state = FlowState(items=list(range(6)))
    with trio.fail_after(GUARD):
        await dispatcher.execute("main", state)
    assert table.rows == {
        0: (0.0, 5.0),
        1: (0.0, 1.0),
        2: (1.0, 2.0),
        3: (2.0, 5.0),
        4: (5.0, 6.0),
        5: (5.0, 6.0),
    }
    assert table.finish_order[:2] == [1, 2]
    assert state.collected == list(range(6))
    assert trio.current_time() == 6.0


# -- definitions as data ---------------------------------------------------------------------


@node("body", outputs=("success", "failure"))
async def _body(state: FlowState, ctx: NodeContext[Any]) -> str:
    return "success"


def _scatter_dag(gather: Any) -> DAG:
    builder = DAGBuilder("main").scatter(
        "fan-out",
        _body,
        source="items",
        gather=gather,
        routes=routes_to_terminals(AGGREGATE_VERDICTS),
    )
    return verdict_terminals(builder, AGGREGATE_VERDICTS).build()


@pytest.mark.parametrize(
    "gather",
    [
        Gather.partition({"success": "successes", "failure": "failures"}),
        Gather.partition({"success": "labels"}, field="label"),
        Gather.map({"value": "values", "label": "labels"}),
        Gather.append("collected"),
        Gather.append("values", field="value"),
        Gather.discard(),
    ],
    ids=["partition", "partition-field", "map", "append", "append-field", "discard"],
)
def test_data_gathers_round_trip_through_to_dict(gather: Any) -> None:
    """Every gather but custom is data: DAG.from_dict(dag.to_dict()) == dag."""
    dag = _scatter_dag(gather)
    assert DAG.from_dict(dag.to_dict()) == dag


def test_custom_gather_cannot_be_written_as_data() -> None:
    """to_dict refuses Gather.custom with a ValidationError naming the placement."""
    dag = _scatter_dag(Gather.custom(lambda state, records: None))
    with pytest.raises(ValidationError, match="fan-out"):
        dag.to_dict()
