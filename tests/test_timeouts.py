"""Run deadlines, per-node timeouts and engine retries, timed exactly on Trio's clock.

Scenario rows are (placement, start, finish) in virtual seconds under
``autojump_clock``; ``None`` as a finish means the work never finished.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import pytest
import trio
from _helpers import (
    AGGREGATE_VERDICTS,
    GUARD,
    FlowState,
    RecordingDagonizer,
    Timetable,
    collect,
    event_rows,
    register_scatter,
    routes_to_terminals,
    sleeper,
    verdict_terminals,
)

from dagon_actors import (
    BackoffStrategy,
    DAGBuilder,
    Dagonizer,
    Gather,
    LifecycleVariant,
    NodeEvent,
    NodeTimeoutError,
    RetryPolicy,
    node,
)

if TYPE_CHECKING:
    from trio.testing import MockClock

    from dagon_actors import NodeContext


class Boom(Exception):
    """A failure the flaky nodes below raise."""


def _chain(dispatcher: Dagonizer[Any, Any], table: Timetable, durations: dict[str, float]) -> None:
    """Register DAG ``chain``: a -> b -> c, each sleeping its duration."""
    names = list(durations)
    builder = DAGBuilder("chain")
    for name, following in zip(names, [*names[1:], None], strict=True):
        builder.node(name, sleeper(name, durations[name], table), {"success": following})
    dispatcher.register_dag(builder.build())


# -- run deadline ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deadline", "cursor", "rows"),
    [
        (3.0, "b", {"a": (0.0, 1.0), "b": (1.0, None)}),
        (1.0 + 10.0 + 0.5, "c", {"a": (0.0, 1.0), "b": (1.0, 11.0), "c": (11.0, None)}),
        (0.25, "a", {"a": (0.0, None)}),
    ],
)
async def test_deadline_ends_the_run_timed_out_exactly_at_the_deadline(
    autojump_clock: MockClock, deadline: float, cursor: str, rows: dict[str, Any]
) -> None:
    """deadline=N: lifecycle timed_out at t=N, reason "timeout", cursor on the placement
    in flight; no error record and no on_error call."""
    table = Timetable()
    dispatcher = RecordingDagonizer()
    _chain(dispatcher, table, {"a": 1.0, "b": 10.0, "c": 1.0})
    state = FlowState()
    with trio.fail_after(GUARD):
        events, result = await collect(dispatcher.execute("chain", state, deadline=deadline))

    assert trio.current_time() == deadline
    assert table.rows == rows
    assert result.state.lifecycle.variant is LifecycleVariant.TIMED_OUT
    assert result.cursor == cursor
    assert result.interrupted_at is not None
    assert (result.interrupted_at.node_name, result.interrupted_at.reason) == (cursor, "timeout")
    assert result.executed_nodes == [name for name, (_, end) in rows.items() if end is not None]
    assert cursor not in [e.node_name for e in events]  # interrupted: no event
    assert state.errors == []
    assert dispatcher.errors == []


async def test_deadline_counts_from_the_start_of_the_run(autojump_clock: MockClock) -> None:
    """A run started at t=5 with deadline=3 times out at t=8."""
    table = Timetable()
    dispatcher = Dagonizer()
    _chain(dispatcher, table, {"a": 1.0, "b": 10.0})
    await trio.sleep(5.0)
    with trio.fail_after(GUARD):
        result = await dispatcher.execute("chain", FlowState(), deadline=3.0)
    assert trio.current_time() == 8.0
    assert table.rows == {"a": (5.0, 6.0), "b": (6.0, None)}
    assert result.state.lifecycle.variant is LifecycleVariant.TIMED_OUT


async def test_a_run_within_its_deadline_completes(autojump_clock: MockClock) -> None:
    """A deadline that is not reached changes nothing."""
    table = Timetable()
    dispatcher = Dagonizer()
    _chain(dispatcher, table, {"a": 1.0, "b": 2.0})
    with trio.fail_after(GUARD):
        result = await dispatcher.execute("chain", FlowState(), deadline=3.5)
    assert trio.current_time() == 3.0
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert result.interrupted_at is None
    assert result.executed_nodes == ["a", "b"]


async def test_deadline_during_a_scatter_cancels_every_clone(autojump_clock: MockClock) -> None:
    """A deadline inside a scatter stops it with the cursor on the scatter."""
    table = Timetable()

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        await table.work(state.metadata["item"], 1.0)
        return "success"

    dispatcher = RecordingDagonizer()
    register_scatter(dispatcher, "node", body, source="items", concurrency=2)
    with trio.fail_after(GUARD):
        result = await dispatcher.execute("main", FlowState(items=list(range(6))), deadline=1.5)
        assert trio.current_time() == 1.5
        await trio.sleep(100.0)
    assert table.rows == {0: (0.0, 1.0), 1: (0.0, 1.0), 2: (1.0, None), 3: (1.0, None)}
    assert result.state.lifecycle.variant is LifecycleVariant.TIMED_OUT
    assert result.cursor == "s"
    assert result.interrupted_at is not None
    assert result.interrupted_at.reason == "timeout"
    assert dispatcher.errors == []


# -- per-node timeout ---------------------------------------------------------------------------


async def test_node_timeout_fails_the_placement_at_the_timeout(autojump_clock: MockClock) -> None:
    """A node with timeout=2 that would sleep 10: lifecycle failed at t=1+2, cursor on it,
    a NodeTimeoutError record, interrupted_at reason "timeout"."""
    table = Timetable()
    dispatcher = RecordingDagonizer()
    dispatcher.register_dag(
        DAGBuilder("chain")
        .node("a", sleeper("a", 1.0, table), {"success": "slow"})
        .node("slow", sleeper("slow", 10.0, table, timeout=2.0), {"success": "c"})
        .node("c", sleeper("c", 1.0, table), {"success": None})
        .build()
    )
    state = FlowState()
    with trio.fail_after(GUARD):
        result = await dispatcher.execute("chain", state)
        assert trio.current_time() == 3.0
        await trio.sleep(100.0)

    assert table.rows == {"a": (0.0, 1.0), "slow": (1.0, None)}
    assert result.state.lifecycle.variant is LifecycleVariant.FAILED
    assert result.cursor == "slow"
    assert result.executed_nodes == ["a"]
    assert result.terminal_outcome is None
    assert result.interrupted_at is not None
    assert (result.interrupted_at.node_name, result.interrupted_at.reason) == ("slow", "timeout")
    [record] = state.errors
    assert record.code == "NodeTimeoutError"
    assert isinstance(record.exception, NodeTimeoutError)
    assert record.placement_path == ("slow",)
    assert record.timestamp == 3.0
    # A timeout adds an error record, so on_error fires once (unlike a deadline).
    assert dispatcher.errors == [("slow", "NodeTimeoutError", ("slow",))]


async def test_node_within_its_timeout_completes(autojump_clock: MockClock) -> None:
    """A node finishing before its timeout is untouched."""
    table = Timetable()
    dispatcher = Dagonizer()
    dispatcher.register_dag(
        DAGBuilder("one")
        .node("n", sleeper("n", 1.5, table, timeout=2.0), {"success": None})
        .build()
    )
    with trio.fail_after(GUARD):
        result = await dispatcher.execute("one", FlowState())
    assert table.rows == {"n": (0.0, 1.5)}
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert result.interrupted_at is None


async def test_node_timeout_of_a_scatter_body_is_an_error_of_that_item(
    autojump_clock: MockClock,
) -> None:
    """A clone body that times out is an error outcome of its item: siblings go on."""
    table = Timetable()

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        item = state.metadata["item"]
        await table.work(item, 5.0 if item == 1 else 1.0)
        return "success"

    dispatcher = Dagonizer()
    register_scatter(dispatcher, "node", body, source="items", timeout=2.0)
    state = FlowState(items=[0, 1, 2])
    with trio.fail_after(GUARD):
        result = await dispatcher.execute("main", state)
    assert table.rows == {0: (0.0, 1.0), 1: (0.0, None), 2: (0.0, 1.0)}
    assert trio.current_time() == 2.0
    assert result.executed_nodes == ["s", "on-partial"]
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert [(r.code, r.item_index) for r in state.errors] == [("NodeTimeoutError", 1)]


# -- retries through a node's retry attribute -----------------------------------------------------


def _flaky(name: str, failures: int, starts: list[float], **options: Any) -> Any:
    """A node that raises Boom on its first ``failures`` attempts, recording each start."""

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        starts.append(trio.current_time())
        await trio.lowlevel.checkpoint()
        if len(starts) <= failures:
            raise Boom(f"attempt {len(starts)}")
        return "success"

    return node(name, outputs=("success",), **options)(body)


EXPONENTIAL_005 = RetryPolicy(
    max_attempts=3, strategy=BackoffStrategy.EXPONENTIAL, base_delay=0.05, jitter=0
)


async def test_retry_attribute_waits_0_05_then_0_1(autojump_clock: MockClock) -> None:
    """Exponential backoff from 0.05 (jitter 0): attempts at 0, 0.05, 0.05 + 0.1; one
    placement in events and executed_nodes; each failed attempt is a warning."""
    starts: list[float] = []
    dispatcher = RecordingDagonizer()
    flaky = _flaky("flaky", 2, starts, retry=EXPONENTIAL_005)
    dispatcher.register_dag(DAGBuilder("retry").node("flaky", flaky, {"success": None}).build())
    state = FlowState()
    with trio.fail_after(GUARD):
        events, result = await collect(dispatcher.execute("retry", state))

    assert starts == [0.0, 0.05, 0.05 + 0.1]
    assert trio.current_time() == 0.05 + 0.1
    assert event_rows(events) == [("flaky", "success", ("flaky",))]
    assert result.executed_nodes == ["flaky"]
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert [(w.code, w.placement_path, w.timestamp) for w in state.warnings] == [
        ("Boom", ("flaky",), 0.0),
        ("Boom", ("flaky",), 0.05),
    ]
    assert all(isinstance(w.exception, Boom) for w in state.warnings)
    assert state.errors == []
    assert dispatcher.errors == []
    assert dispatcher.starts == [("flaky", ("flaky",))]


async def test_retried_scatter_body_warns_with_its_item_index(autojump_clock: MockClock) -> None:
    """A scatter body with a retry attribute retries its own item only: the failed attempt
    is a warning on the parent state carrying the item's index and the body's path, and
    the item is still one event and one gathered result."""
    attempts: list[tuple[int, float]] = []

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        item = state.metadata["item"]
        attempts.append((item, trio.current_time()))
        tries = [at for index, at in attempts if index == item]
        await trio.sleep(1.0)
        if item == 1 and len(tries) == 1:
            raise Boom("item 1, attempt 1")
        return "success"

    policy = RetryPolicy(
        max_attempts=2, strategy=BackoffStrategy.CONSTANT, base_delay=0.5, jitter=0
    )
    builder = DAGBuilder("main").scatter(
        "s",
        node("body", outputs=("success",), retry=policy)(body),
        source="items",
        gather=Gather.append("collected"),
        routes=routes_to_terminals(AGGREGATE_VERDICTS),
    )
    dispatcher = RecordingDagonizer()
    dispatcher.register_dag(verdict_terminals(builder, AGGREGATE_VERDICTS).build())
    state = FlowState(items=[0, 1, 2])
    with trio.fail_after(GUARD):
        events, result = await collect(dispatcher.execute("main", state))

    assert sorted(attempts) == [(0, 0.0), (1, 0.0), (1, 1.5), (2, 0.0)]
    assert trio.current_time() == 2.5
    assert result.executed_nodes == ["s", "on-all-success"]
    assert state.collected == [0, 1, 2]
    warnings = [(w.code, w.item_index, w.placement_path, w.timestamp) for w in state.warnings]
    assert warnings == [("Boom", 1, ("s", "body"), 1.0)]
    assert state.errors == []
    assert dispatcher.errors == []
    assert [e.node_name for e in events] == ["body", "body", "body", "s", "on-all-success"]


async def test_retry_budget_spent_fails_the_placement(autojump_clock: MockClock) -> None:
    """Every attempt fails: the last is an error (the others warnings), the placement
    fails with the cursor on it, and it still emits exactly one event."""
    starts: list[float] = []
    dispatcher = RecordingDagonizer()
    flaky = _flaky("flaky", 99, starts, retry=EXPONENTIAL_005)
    dispatcher.register_dag(DAGBuilder("retry").node("flaky", flaky, {"success": None}).build())
    state = FlowState()
    with trio.fail_after(GUARD):
        events, result = await collect(dispatcher.execute("retry", state))

    assert starts == [0.0, 0.05, 0.05 + 0.1]
    assert [str(w.exception) for w in state.warnings] == ["attempt 1", "attempt 2"]
    [record] = state.errors
    assert (record.code, str(record.exception)) == ("Boom", "attempt 3")
    assert dispatcher.errors == [("flaky", "Boom", ("flaky",))]
    assert result.state.lifecycle.variant is LifecycleVariant.FAILED
    assert result.cursor == "flaky"
    assert result.interrupted_at is None  # a raise is not an interruption
    assert result.executed_nodes == []
    # A failed placement emits exactly one event (DESIGN.md "Execution").
    assert events == [NodeEvent(node_name="flaky", output=None, placement_path=("flaky",))]


async def test_node_timeout_applies_per_attempt_when_retrying(autojump_clock: MockClock) -> None:
    """timeout=1 with retries (0.5 s, then 1 s): attempts 1 and 2 time out at 1 and 2.5,
    attempt 3 succeeds in 0.5 s at 4.0, longer than one timeout in total."""
    starts: list[float] = []

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        starts.append(trio.current_time())
        await trio.sleep(0.5 if len(starts) == 3 else 10.0)
        return "success"

    slow = node(
        "slow",
        outputs=("success",),
        timeout=1.0,
        retry=RetryPolicy(max_attempts=3, base_delay=0.5, multiplier=2.0, jitter=0),
    )(body)
    dispatcher = RecordingDagonizer()
    dispatcher.register_dag(DAGBuilder("one").node("slow", slow, {"success": None}).build())
    state = FlowState()
    with trio.fail_after(GUARD):
        result = await dispatcher.execute("one", state)

    assert starts == [0.0, 1.5, 3.5]
    assert trio.current_time() == 4.0
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert [(w.code, w.timestamp) for w in state.warnings] == [
        ("NodeTimeoutError", 1.0),
        ("NodeTimeoutError", 2.5),
    ]
    assert state.errors == []


async def test_node_timeout_on_every_attempt_fails_with_a_timeout(
    autojump_clock: MockClock,
) -> None:
    """All three attempts time out: failed at t=4.5, NodeTimeoutError, reason "timeout"."""
    starts: list[float] = []

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        starts.append(trio.current_time())
        await trio.sleep(10.0)
        return "success"

    slow = node(
        "slow",
        outputs=("success",),
        timeout=1.0,
        retry=RetryPolicy(max_attempts=3, base_delay=0.5, multiplier=2.0, jitter=0),
    )(body)
    dispatcher = RecordingDagonizer()
    dispatcher.register_dag(DAGBuilder("one").node("slow", slow, {"success": None}).build())
    state = FlowState()
    with trio.fail_after(GUARD):
        result = await dispatcher.execute("one", state)

    assert starts == [0.0, 1.5, 3.5]
    assert trio.current_time() == 4.5
    assert result.state.lifecycle.variant is LifecycleVariant.FAILED
    assert result.cursor == "slow"
    assert result.interrupted_at is not None
    assert (result.interrupted_at.node_name, result.interrupted_at.reason) == ("slow", "timeout")
    assert [w.code for w in state.warnings] == ["NodeTimeoutError", "NodeTimeoutError"]
    assert [(r.code, r.timestamp) for r in state.errors] == [("NodeTimeoutError", 4.5)]
    assert dispatcher.errors == [("slow", "NodeTimeoutError", ("slow",))]


async def test_seeded_jitter_makes_engine_retries_reproducible(autojump_clock: MockClock) -> None:
    """With rng=random.Random(seed), the engine waits exactly policy.delays() of an
    identically seeded generator, run after run."""
    timetables: list[list[float]] = []
    for _ in range(2):
        policy = RetryPolicy(max_attempts=4, base_delay=0.5, jitter=0.3, rng=random.Random(7))
        starts: list[float] = []
        dispatcher = Dagonizer()
        flaky = _flaky("flaky", 3, starts, retry=policy)
        dispatcher.register_dag(DAGBuilder("r").node("flaky", flaky, {"success": None}).build())
        began = trio.current_time()
        with trio.fail_after(GUARD):
            result = await dispatcher.execute("r", FlowState())
        assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
        expected = [began]
        for delay in policy.delays(rng=random.Random(7)):
            expected.append(expected[-1] + delay)
        assert starts == expected
        timetables.append([t - began for t in starts])
    assert timetables[0] == timetables[1]
