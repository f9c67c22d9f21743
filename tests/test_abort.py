"""Abort: the exit table, scatter and embedded children, shared controllers, no leaks.

Abort is Trio-native (DESIGN.md "Execution"): ``AbortController.abort``
cancels whatever is in flight at its next checkpoint, so every time below is
exact under ``autojump_clock``. Node bodies never poll the signal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import trio
from _helpers import (
    GUARD,
    FlowState,
    RecordingDagonizer,
    Timetable,
    abort_at,
    collect,
    event_rows,
    live_tasks,
    register_scatter,
    sleeper,
)

from dagon_actors import (
    AbortController,
    BackoffStrategy,
    DAGBuilder,
    Dagonizer,
    Gather,
    LifecycleVariant,
    RetryPolicy,
    node,
)

if TYPE_CHECKING:
    from trio.testing import MockClock

    from dagon_actors import ExecutionResult, NodeContext


def _chain(dispatcher: Dagonizer[Any, Any], table: Timetable, *, post: bool = False) -> None:
    """Register DAG ``chain``: a (1 s) -> b (10 s) -> c (1 s) -> end, optionally with a
    post phase ``cleanup`` that sleeps 1 s."""
    builder = (
        DAGBuilder("chain")
        .node("a", sleeper("a", 1.0, table), {"success": "b"})
        .node("b", sleeper("b", 10.0, table), {"success": "c"})
        .node("c", sleeper("c", 1.0, table), {"success": None})
    )
    if post:
        builder.phase("cleanup", sleeper("cleanup", 1.0, table), "post")
    dispatcher.register_dag(builder.build())


# -- the exit table ------------------------------------------------------------------------


async def test_abort_before_start_runs_nothing(autojump_clock: MockClock) -> None:
    """A signal aborted before execute: cancelled, cursor on the entrypoint, nothing ran."""
    table = Timetable()
    dispatcher = RecordingDagonizer()
    _chain(dispatcher, table)
    controller = AbortController()
    controller.abort("too early")
    state = FlowState()
    with trio.fail_after(GUARD):
        events, result = await collect(dispatcher.execute("chain", state, abort=controller.signal))

    assert table.rows == {}
    assert events == []
    assert result.state.lifecycle.variant is LifecycleVariant.CANCELLED
    assert result.cursor == "a"
    assert result.executed_nodes == []
    assert result.interrupted_at is not None
    assert (result.interrupted_at.node_name, result.interrupted_at.reason) == ("a", "abort")
    assert result.interrupted_at.detail == "too early"
    assert dispatcher.starts == []
    assert trio.current_time() == 0.0


async def test_abort_between_events_stops_before_the_next_placement(
    autojump_clock: MockClock,
) -> None:
    """Aborting right after the first event (the seed's pattern): cancelled, cursor on
    the next placement, which never starts."""
    table = Timetable()
    dispatcher = RecordingDagonizer()
    _chain(dispatcher, table)
    controller = AbortController()
    execution = dispatcher.execute("chain", FlowState(), abort=controller.signal)
    seen = []
    with trio.fail_after(GUARD):
        async for event in execution:
            seen.append(event)
            controller.abort("user pressed stop")
        result = await execution

    assert event_rows(seen) == [("a", "success", ("a",))]
    assert table.rows == {"a": (0.0, 1.0)}
    assert result.state.lifecycle.variant is LifecycleVariant.CANCELLED
    assert result.cursor == "b"
    assert result.executed_nodes == ["a"]
    assert result.interrupted_at is not None
    assert (result.interrupted_at.node_name, result.interrupted_at.reason) == ("b", "abort")
    assert result.interrupted_at.detail == "user pressed stop"
    assert dispatcher.errors == []
    assert trio.current_time() == 1.0


async def test_break_after_abort_then_await_returns_the_cancelled_result(
    autojump_clock: MockClock,
) -> None:
    """Breaking out of the loop after aborting and then awaiting ends the run cancelled."""
    table = Timetable()
    dispatcher = Dagonizer()
    _chain(dispatcher, table)
    controller = AbortController()
    execution = dispatcher.execute("chain", FlowState(), abort=controller.signal)
    with trio.fail_after(GUARD):
        async for _event in execution:
            controller.abort()
            break
        result = await execution
    assert (result.cursor, result.state.lifecycle.variant) == ("b", LifecycleVariant.CANCELLED)
    assert result.interrupted_at is not None
    assert result.interrupted_at.detail is None
    assert table.rows == {"a": (0.0, 1.0)}


async def test_abort_is_idempotent_and_the_first_reason_wins(autojump_clock: MockClock) -> None:
    """A second ``abort()`` changes nothing: the signal and ``interrupted_at`` keep the
    first reason."""
    table = Timetable()
    dispatcher = Dagonizer()
    _chain(dispatcher, table)
    controller = AbortController()
    execution = dispatcher.execute("chain", FlowState(), abort=controller.signal)
    with trio.fail_after(GUARD):
        async for _event in execution:
            controller.abort("first")
            controller.abort("second")
        result = await execution
    assert (controller.signal.aborted, controller.signal.reason) == (True, "first")
    assert result.interrupted_at is not None
    assert (result.interrupted_at.reason, result.interrupted_at.detail) == ("abort", "first")
    assert result.cursor == "b"
    assert table.rows == {"a": (0.0, 1.0)}


async def test_abort_while_a_node_sleeps_cancels_it_at_the_abort_time(
    autojump_clock: MockClock,
) -> None:
    """An abort at t=3 while b sleeps (1..11) ends the run at t=3, cursor on b."""
    table = Timetable()
    dispatcher = RecordingDagonizer()
    _chain(dispatcher, table)
    controller = AbortController()
    state = FlowState()
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(abort_at, 3.0, controller, "stop b")
            events, result = await collect(
                dispatcher.execute("chain", state, abort=controller.signal)
            )
            assert trio.current_time() == 3.0

    assert table.rows == {"a": (0.0, 1.0), "b": (1.0, None)}
    assert event_rows(events) == [("a", "success", ("a",))]  # b was interrupted: no event
    assert result.state.lifecycle.variant is LifecycleVariant.CANCELLED
    assert result.cursor == "b"
    assert result.executed_nodes == ["a"]
    assert result.interrupted_at is not None
    assert (result.interrupted_at.node_name, result.interrupted_at.reason) == ("b", "abort")
    assert result.interrupted_at.detail == "stop b"
    assert state.errors == []
    assert dispatcher.errors == []  # on_error is never called for an abort


async def test_callers_own_cancel_scope_propagates_and_marks_cancelled(
    autojump_clock: MockClock,
) -> None:
    """The caller's move_on_after cancelling the run: Trio's Cancelled propagates to the
    caller's scope, and the state is marked cancelled."""
    table = Timetable()
    dispatcher = RecordingDagonizer()
    _chain(dispatcher, table)
    state = FlowState()
    after_await: list[Any] = []
    with trio.fail_after(GUARD):
        with trio.move_on_after(2.5) as scope:
            result = await dispatcher.execute("chain", state)
            after_await.append(result)  # never reached

    assert scope.cancelled_caught
    assert after_await == []
    assert trio.current_time() == 2.5
    assert state.lifecycle.variant is LifecycleVariant.CANCELLED
    assert table.rows == {"a": (0.0, 1.0), "b": (1.0, None)}
    assert state.errors == []
    assert dispatcher.errors == []


async def test_callers_cancel_scope_while_iterating(autojump_clock: MockClock) -> None:
    """Cancelled also propagates out of ``async for`` over the execution."""
    table = Timetable()
    dispatcher = Dagonizer()
    _chain(dispatcher, table)
    state = FlowState()
    seen = []
    with trio.fail_after(GUARD):
        with trio.move_on_after(2.5) as scope:
            async for event in dispatcher.execute("chain", state):
                seen.append(event)
    assert scope.cancelled_caught
    assert event_rows(seen) == [("a", "success", ("a",))]
    assert state.lifecycle.variant is LifecycleVariant.CANCELLED
    assert trio.current_time() == 2.5


# -- post phases -----------------------------------------------------------------------------


@pytest.mark.parametrize("exit_path", ["abort-in-node", "abort-between-events", "caller-scope"])
async def test_post_phase_runs_shielded_on_abort(autojump_clock: MockClock, exit_path: str) -> None:
    """A post phase (1 s) still runs, to completion, after an abort or the caller's cancel."""
    table = Timetable()
    dispatcher = Dagonizer()
    _chain(dispatcher, table, post=True)
    controller = AbortController()
    state = FlowState()
    with trio.fail_after(GUARD):
        if exit_path == "abort-in-node":
            async with trio.open_nursery() as nursery:
                nursery.start_soon(abort_at, 2.0, controller)
                result = await dispatcher.execute("chain", state, abort=controller.signal)
            stop = 2.0
        elif exit_path == "abort-between-events":
            execution = dispatcher.execute("chain", state, abort=controller.signal)
            async for _event in execution:
                controller.abort()
            result = await execution
            stop = 1.0
        else:
            with trio.move_on_after(2.0):
                await dispatcher.execute("chain", state)
            result = None
            stop = 2.0

    assert table.rows["cleanup"] == (stop, stop + 1.0)
    assert trio.current_time() == stop + 1.0
    assert state.lifecycle.variant is LifecycleVariant.CANCELLED
    if result is not None:
        assert result.executed_nodes == ["a", "cleanup"]  # phases are listed too
        assert result.cursor == "b"


# -- composite placements ------------------------------------------------------------------------


async def test_abort_during_a_scatter_keeps_completed_items_and_cancels_the_rest(
    autojump_clock: MockClock,
) -> None:
    """12 one-second items at concurrency 4, abort at t=1.5: items 0-3 completed and
    gathered, 4-7 cancelled in flight (none finishes later), 8-11 never started."""
    table = Timetable()

    async def body(state: FlowState, ctx: NodeContext[Any]) -> str:
        await table.work(state.metadata["item"], 1.0)
        return "success"

    dispatcher = Dagonizer()
    register_scatter(
        dispatcher,
        "node",
        body,
        source="items",
        concurrency=4,
        gather=Gather.append("collected"),
    )
    controller = AbortController()
    state = FlowState(items=list(range(12)))
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            before = live_tasks()
            nursery.start_soon(abort_at, 1.5, controller, "enough")
            result = await dispatcher.execute("main", state, abort=controller.signal)
            assert trio.current_time() == 1.5
            assert {t.name for t in live_tasks() - before} <= {_abort_task_name()}
        # Run the clock on: nothing the run started may finish later.
        await trio.sleep(100.0)

    assert table.rows == {
        **dict.fromkeys(range(4), (0.0, 1.0)),
        **dict.fromkeys(range(4, 8), (1.0, None)),
    }
    assert state.collected == [0, 1, 2, 3]
    assert result.state.lifecycle.variant is LifecycleVariant.CANCELLED
    assert result.cursor == "s"
    assert result.executed_nodes == []
    assert result.interrupted_at is not None
    assert (result.interrupted_at.node_name, result.interrupted_at.reason) == ("s", "abort")
    assert result.interrupted_at.detail == "enough"
    assert state.errors == []


async def test_abort_inside_an_embedded_child_stops_it_midway(autojump_clock: MockClock) -> None:
    """An abort while the child's c2 sleeps stops the child there; the parent's cursor
    stays on the embedded placement and the child's outputs are not copied back."""
    table = Timetable()

    @node("c3", outputs=("success",))
    async def c3(state: FlowState, ctx: NodeContext[Any]) -> str:
        table.start("c3")
        state.value = 42
        table.finish("c3")
        return "success"

    dispatcher = RecordingDagonizer()
    child = (
        DAGBuilder("child")
        .node("c1", sleeper("c1", 1.0, table), {"success": "c2"})
        .node("c2", sleeper("c2", 10.0, table), {"success": "c3"})
        .node("c3", c3, {"success": None})
        .build()
    )
    dispatcher.register_dag(child)
    parent = (
        DAGBuilder("parent")
        .node("prep", sleeper("prep", 1.0, table), {"success": "emb"})
        .embedded_dag(
            "emb", "child", {"success": "after", "error": None}, outputs={"value": "value"}
        )
        .node("after", sleeper("after", 1.0, table), {"success": None})
        .build()
    )
    dispatcher.register_dag(parent)
    controller = AbortController()
    state = FlowState(value=-1)
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(abort_at, 3.0, controller, "mid-child")
            events, result = await collect(
                dispatcher.execute("parent", state, abort=controller.signal)
            )
            assert trio.current_time() == 3.0
        await trio.sleep(100.0)

    assert table.rows == {"prep": (0.0, 1.0), "c1": (1.0, 2.0), "c2": (2.0, None)}
    assert result.state.lifecycle.variant is LifecycleVariant.CANCELLED
    assert result.cursor == "emb"
    assert result.executed_nodes == ["prep"]
    assert result.interrupted_at is not None
    assert (result.interrupted_at.node_name, result.interrupted_at.reason) == ("emb", "abort")
    assert state.value == -1  # outputs are not copied back when aborted
    assert state.errors == []
    assert dispatcher.errors == []
    assert ("c2", ("emb", "c2")) in dispatcher.starts
    assert [row for row in event_rows(events) if row[0] == "emb"] == []


async def test_one_controller_aborts_two_concurrent_runs(autojump_clock: MockClock) -> None:
    """One AbortController shared by two runs in flight aborts both at the same time."""
    table_1, table_2 = Timetable(), Timetable()
    dispatcher_1, dispatcher_2 = Dagonizer(), Dagonizer()
    _chain(dispatcher_1, table_1)
    dispatcher_2.register_dag(
        DAGBuilder("other")
        .node("x", sleeper("x", 0.5, table_2), {"success": "y"})
        .node("y", sleeper("y", 60.0, table_2), {"success": None})
        .build()
    )
    controller = AbortController()
    results: dict[str, ExecutionResult[Any]] = {}

    async def run(name: str, dispatcher: Dagonizer[Any, Any], dag: str) -> None:
        results[name] = await dispatcher.execute(dag, FlowState(), abort=controller.signal)
        results[name].state.set_metadata("returned_at", trio.current_time())

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run, "first", dispatcher_1, "chain")
            nursery.start_soon(run, "second", dispatcher_2, "other")
            nursery.start_soon(abort_at, 2.0, controller, "both")

    assert {name: r.cursor for name, r in results.items()} == {"first": "b", "second": "y"}
    for r in results.values():
        assert r.state.lifecycle.variant is LifecycleVariant.CANCELLED
        assert r.interrupted_at is not None
        assert (r.interrupted_at.reason, r.interrupted_at.detail) == ("abort", "both")
        assert r.state.get_metadata("returned_at") == 2.0
    assert table_1.rows == {"a": (0.0, 1.0), "b": (1.0, None)}
    assert table_2.rows == {"x": (0.0, 0.5), "y": (0.5, None)}


async def test_abort_during_a_retry_backoff_stops_it_immediately(
    autojump_clock: MockClock,
) -> None:
    """A node retrying with a 5 s backoff is stopped by an abort at t=1, mid-wait."""
    attempts: list[float] = []

    @node(
        "flaky",
        outputs=("success",),
        retry=RetryPolicy(
            max_attempts=3, strategy=BackoffStrategy.CONSTANT, base_delay=5.0, jitter=0
        ),
    )
    async def flaky(state: FlowState, ctx: NodeContext[Any]) -> str:
        attempts.append(trio.current_time())
        raise RuntimeError("always")

    dispatcher = RecordingDagonizer()
    dispatcher.register_dag(DAGBuilder("retry").node("flaky", flaky, {"success": None}).build())
    controller = AbortController()
    state = FlowState()
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(abort_at, 1.0, controller, "stop retrying")
            result = await dispatcher.execute("retry", state, abort=controller.signal)
            assert trio.current_time() == 1.0
        await trio.sleep(100.0)

    assert attempts == [0.0]
    assert result.state.lifecycle.variant is LifecycleVariant.CANCELLED
    assert result.cursor == "flaky"
    assert result.interrupted_at is not None
    assert result.interrupted_at.reason == "abort"
    assert state.errors == []
    assert dispatcher.errors == []
    assert [w.code for w in state.warnings] == ["RuntimeError"]  # the failed first attempt


async def test_node_context_exposes_the_runs_signal(autojump_clock: MockClock) -> None:
    """ctx.signal is the signal passed as abort= (or a fresh one), never None."""
    signals: list[Any] = []

    @node("look", outputs=("success",))
    async def look(state: FlowState, ctx: NodeContext[Any]) -> str:
        signals.append((ctx.signal, ctx.signal.aborted))
        return "success"

    dispatcher = Dagonizer()
    dispatcher.register_dag(DAGBuilder("look").node("look", look, {"success": None}).build())
    controller = AbortController()
    with trio.fail_after(GUARD):
        await dispatcher.execute("look", FlowState(), abort=controller.signal)
        await dispatcher.execute("look", FlowState())
    assert signals[0] == (controller.signal, False)
    assert signals[1][0] is not None
    assert signals[1][1] is False


# -- no task outlives the run --------------------------------------------------------------------


def _abort_task_name() -> str:
    return f"{abort_at.__module__}.{abort_at.__qualname__}"


EXITS = [
    "completed",
    "abort-before-start",
    "abort-between-events",
    "abort-in-node",
    "abort-in-scatter",
    "abort-in-embedded-scatter",
    "deadline",
    "node-timeout",
    "node-raises",
    "caller-scope",
]


@pytest.mark.parametrize("exit_path", EXITS)
async def test_no_task_started_by_the_run_outlives_it(
    autojump_clock: MockClock, exit_path: str
) -> None:
    """After every exit path, the only tasks alive are the ones that were alive before
    (and the test's own aborter), and nothing the run started finishes later."""
    table = Timetable()

    async def item_body(state: FlowState, ctx: NodeContext[Any]) -> str:
        await table.work((ctx.placement_path, state.metadata["item"]), 1.0)
        return "success"

    async def step(state: FlowState, ctx: NodeContext[Any]) -> str:
        await table.work(ctx.node_name, 2.0)
        if exit_path == "node-raises":
            raise RuntimeError("step failed")
        return "success"

    dispatcher = Dagonizer()
    timeout = 0.5 if exit_path == "node-timeout" else None
    step_node = node("step", outputs=("success",), timeout=timeout)(step)
    register_scatter(dispatcher, "node", item_body, name="inner", source="items", concurrency=3)
    # DAG "main" from register_scatter is the scatter alone; wrap it for embedding.
    dispatcher.register_dag(
        DAGBuilder("flow")
        .node("step", step_node, {"success": "fan"})
        .scatter(
            "fan",
            node("item", outputs=("success",))(item_body),
            source="items",
            concurrency=3,
            routes={"all-success": "nested", "partial": None, "all-error": None, "empty": None},
        )
        .embedded_dag("nested", "main", {"success": None, "error": None}, inputs={"items": "items"})
        .build()
    )
    controller = AbortController()
    abort_time = {
        "abort-in-node": 1.0,
        "abort-in-scatter": 2.5,
        "abort-in-embedded-scatter": 4.5,
    }.get(exit_path)
    if exit_path == "abort-before-start":
        controller.abort()
    deadline = 2.5 if exit_path == "deadline" else None
    state = FlowState(items=list(range(6)))

    own_nurseries = list(trio.lowlevel.current_task().child_nurseries)
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            before = live_tasks()
            if abort_time is not None:
                nursery.start_soon(abort_at, abort_time, controller)
            execution = dispatcher.execute(
                "flow", state, abort=controller.signal, deadline=deadline
            )
            result = None
            if exit_path == "caller-scope":
                with trio.move_on_after(2.5):
                    await execution
            elif exit_path == "abort-between-events":
                async for _event in execution:
                    controller.abort()
                result = await execution
            else:
                result = await execution
            leftover = {t.name for t in live_tasks() - before}
            assert leftover <= {_abort_task_name()}
            assert {t.name for t in nursery.child_tasks} <= {_abort_task_name()}
            assert trio.lowlevel.current_task().child_nurseries == [*own_nurseries, nursery]
        finished_at_return = table.finished()
        await trio.sleep(100.0)

    assert table.finished() == finished_at_return
    variant, cursor = {
        "completed": (LifecycleVariant.COMPLETED, None),
        "abort-before-start": (LifecycleVariant.CANCELLED, "step"),
        "abort-between-events": (LifecycleVariant.CANCELLED, "fan"),
        "abort-in-node": (LifecycleVariant.CANCELLED, "step"),
        "abort-in-scatter": (LifecycleVariant.CANCELLED, "fan"),
        "abort-in-embedded-scatter": (LifecycleVariant.CANCELLED, "nested"),
        "deadline": (LifecycleVariant.TIMED_OUT, "fan"),
        "node-timeout": (LifecycleVariant.FAILED, "step"),
        "node-raises": (LifecycleVariant.FAILED, "step"),
        "caller-scope": (LifecycleVariant.CANCELLED, None),
    }[exit_path]
    assert state.lifecycle.variant is variant
    if result is not None:
        assert result.cursor == cursor
