"""Execution: one run, awaited or iterated or both (DESIGN.md "Execution")."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from dagon_actors import (
    DAGBuilder,
    DAGError,
    Dagonizer,
    Execution,
    ExecutionResult,
    LifecycleVariant,
    NodeContext,
    NodeEvent,
    NodeStateBase,
    node,
)


@pytest.fixture
def dispatcher(recorder) -> Dagonizer[Any, Any]:
    """``flow``: a → emb (child: c1 → c2) → par (m1, m2) → end, all logging to ``recorder``."""
    dispatcher: Dagonizer[Any, Any] = Dagonizer()
    dispatcher.register_dag(
        DAGBuilder("child")
        .node("c1", recorder.node("c1"), {"done": "c2"})
        .node("c2", recorder.node("c2"), {"done": None})
        .build()
    )
    dispatcher.register_dag(
        DAGBuilder("flow")
        .node("a", recorder.node("a"), {"done": "emb"})
        .embedded_dag("emb", "child", {"success": "par", "error": None})
        .parallel("par", ["m1"], "collect", {"success": "end"})
        .node("m1", recorder.node("m1"), {"done": None})
        .terminal("end")
        .build()
    )
    return dispatcher


EVENTS = [
    NodeEvent(node_name="a", output="done", placement_path=("a",), skipped=False),
    NodeEvent(node_name="c1", output="done", placement_path=("emb", "c1"), skipped=False),
    NodeEvent(node_name="c2", output="done", placement_path=("emb", "c2"), skipped=False),
    NodeEvent(node_name="emb", output="success", placement_path=("emb",), skipped=False),
    NodeEvent(node_name="m1", output="done", placement_path=("par", "m1"), skipped=False),
    NodeEvent(node_name="par", output="success", placement_path=("par",), skipped=False),
    NodeEvent(node_name="end", output=None, placement_path=("end",), skipped=False),
]


async def test_awaiting_runs_to_the_end(dispatcher, recorder) -> None:
    """``await dispatcher.execute(...)`` alone runs the whole flow and returns its result."""
    state = NodeStateBase()
    execution = dispatcher.execute("flow", state)
    assert isinstance(execution, Execution)
    result = await execution
    assert isinstance(result, ExecutionResult)
    assert result.state is state
    assert recorder.started == ["a", "c1", "c2", "m1"]
    assert result.executed_nodes == ["a", "emb", "par", "end"]


async def test_nothing_runs_until_consumed(dispatcher, recorder) -> None:
    """Calling ``execute`` starts nothing; the run happens when awaited or iterated."""
    state = NodeStateBase()
    execution = dispatcher.execute("flow", state)
    await trio.testing.wait_all_tasks_blocked()
    assert recorder.started == []
    assert state.lifecycle.variant is LifecycleVariant.PENDING
    await execution


async def test_iterating_yields_one_event_per_finished_placement(dispatcher) -> None:
    """Events cover every placement, embedded children and parallel members included, with paths."""
    events = [event async for event in dispatcher.execute("flow", NodeStateBase())]
    assert events == EVENTS


async def test_iterating_then_awaiting_is_one_run(dispatcher, recorder) -> None:
    """The flow body runs once however the execution is consumed."""
    execution = dispatcher.execute("flow", NodeStateBase())
    events = [event async for event in execution]
    result = await execution
    assert len(events) == len(EVENTS)
    assert recorder.started == ["a", "c1", "c2", "m1"]
    assert result.executed_nodes == ["a", "emb", "par", "end"]
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED


async def test_iteration_paces_the_run(dispatcher, recorder) -> None:
    """After the first event, the next placement waits until the next event is asked for."""
    execution = dispatcher.execute("flow", NodeStateBase())
    iterator = aiter(execution)
    first = await anext(iterator)
    assert first.node_name == "a"
    await trio.testing.wait_all_tasks_blocked()
    assert recorder.started == ["a"]
    second = await anext(iterator)
    assert second.placement_path == ("emb", "c1")
    assert recorder.started == ["a", "c1", "c2"]
    await execution


async def test_breaking_out_then_awaiting_finishes_the_run(dispatcher, recorder) -> None:
    """Leaving the loop early and then awaiting runs the rest of the flow."""
    execution = dispatcher.execute("flow", NodeStateBase())
    async for event in execution:
        if event.node_name == "a":
            break
    assert recorder.started == ["a"]
    result = await execution
    assert recorder.started == ["a", "c1", "c2", "m1"]
    assert result.cursor is None
    assert result.executed_nodes == ["a", "emb", "par", "end"]
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED


async def test_awaiting_twice_returns_the_same_result(dispatcher, recorder) -> None:
    """A second await does not re-run the flow; it returns the same result."""
    execution = dispatcher.execute("flow", NodeStateBase())
    first = await execution
    second = await execution
    assert second is first
    assert recorder.started == ["a", "c1", "c2", "m1"]


async def test_each_execute_is_a_new_run(dispatcher, recorder) -> None:
    """Two executions of one DAG run the flow twice."""
    await dispatcher.execute("flow", NodeStateBase())
    await dispatcher.execute("flow", NodeStateBase())
    assert recorder.started == ["a", "c1", "c2", "m1"] * 2


async def test_a_failed_placement_emits_one_event(recorder) -> None:
    """A placement that fails still finishes: it emits exactly one event (output None)."""
    dispatcher: Dagonizer[Any, Any] = Dagonizer()
    dispatcher.register_dag(
        DAGBuilder("flow")
        .node("a", recorder.node("a"), {"done": "b"})
        .node("b", recorder.node("b", raises=RuntimeError("boom")), {"done": None})
        .build()
    )
    execution = dispatcher.execute("flow", NodeStateBase())
    events = [event async for event in execution]
    result = await execution
    assert result.cursor == "b"
    assert events == [
        NodeEvent(node_name="a", output="done", placement_path=("a",)),
        NodeEvent(node_name="b", output=None, placement_path=("b",)),
    ]


async def test_events_from_concurrent_members_arrive_when_the_placement_ends(
    recorder, autojump_clock: trio.abc.Clock
) -> None:
    """A parallel placement hands over its members' events in completion order, then its own."""
    dispatcher: Dagonizer[Any, Any] = Dagonizer()
    dispatcher.register_dag(
        DAGBuilder("flow")
        .parallel("par", ["slow", "fast"], "collect", {"success": None})
        .node("slow", recorder.node("slow", delay=2), {"done": None})
        .node("fast", recorder.node("fast", delay=1), {"done": None})
        .build()
    )
    start = trio.current_time()
    with trio.fail_after(60):
        events = [
            (event.placement_path, trio.current_time())
            async for event in dispatcher.execute("flow", NodeStateBase())
        ]
    assert [(path, at - start) for path, at in events] == [
        (("par", "fast"), 2),
        (("par", "slow"), 2),
        (("par",), 2),
    ]


async def test_two_tasks_cannot_consume_one_execution(autojump_clock: trio.abc.Clock) -> None:
    """Awaiting an Execution while another task is iterating it is refused with DAGError."""

    @node("slow", outputs=("done",))
    async def slow(state: NodeStateBase, ctx: NodeContext[Any]) -> str:
        await trio.sleep(1)
        return "done"

    dispatcher: Dagonizer[NodeStateBase, None] = Dagonizer()
    dispatcher.register_dag(DAGBuilder("flow", "1").node("slow", slow, {"done": None}).build())
    execution = dispatcher.execute("flow", NodeStateBase())
    refused: list[DAGError] = []

    async def second_consumer() -> None:
        await trio.sleep(0.5)  # the first consumer is inside the placement now
        try:
            await execution
        except DAGError as exc:
            refused.append(exc)

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(second_consumer)
            events = [event async for event in execution]
    assert [event.node_name for event in events] == ["slow"]
    assert len(refused) == 1
    assert "one task at a time" in str(refused[0])
    assert (await execution).cursor is None  # the first consumer finished the run
