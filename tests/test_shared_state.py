"""The Store on the services bag, written by parents, embedded children and scatter clones.

Every race here runs on Trio's test clock with real interleavings (sleeps
inside nodes and inside store updates), and each fix is shown beside the bad
outcome the naive pattern produces.
"""

from __future__ import annotations

from typing import Any

import attrs
import trio
import trio.testing

from dagon_actors import (
    DAGBuilder,
    Dagonizer,
    MemoryStore,
    NodeContext,
    NodeStateBase,
    Store,
    node,
)
from dagon_actors.testing import RecordingNode, RecordingStore

VERDICTS: dict[str, str | None] = {
    "all-success": None,
    "partial": None,
    "all-error": None,
    "empty": None,
}


@attrs.frozen
class Services:
    """The services bag: one store every node receives."""

    counts: Store


@attrs.define
class Items(NodeStateBase):
    items: list[int] = attrs.Factory(list)
    count: int = 0


def scatter_dispatcher(body: Any, store: Store) -> Dagonizer[Items, Services]:
    dispatcher: Dagonizer[Items, Services] = Dagonizer(services=Services(counts=store))
    dispatcher.register_dag(
        DAGBuilder("fan", "1").scatter("s", body, source="items", routes=VERDICTS).build()
    )
    return dispatcher


@node("naive", outputs=("success",))
async def naive_increment(state: Items, ctx: NodeContext[Services]) -> str:
    value = await ctx.services.counts.get("n", 0)
    await trio.sleep(0.01)  # the gap between read and write where others interleave
    await ctx.services.counts.set("n", value + 1)
    return "success"


@node("atomic", outputs=("success",))
async def atomic_increment(state: Items, ctx: NodeContext[Services]) -> str:
    async def slow_add(value: int | None) -> int:
        await trio.sleep(0.01)  # the same gap, inside the actor
        return (value or 0) + 1

    await ctx.services.counts.update("n", slow_add)
    return "success"


async def test_scatter_clones_doing_get_then_set_lose_updates(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The naive pattern: 100 concurrent clones read 0, sleep, and all write 1."""
    store = MemoryStore()
    with trio.fail_after(60):
        result = await scatter_dispatcher(naive_increment, store).execute(
            "fan", Items(items=list(range(100)))
        )
    assert result.state.lifecycle.variant == "completed"
    assert await store.get("n") == 1
    assert trio.current_time() == 0.01  # all 100 overlapped in one gap


async def test_scatter_clones_doing_slow_updates_end_exact(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """100 concurrent clones each awaiting inside `update` lose nothing; the actor serialises."""
    store = RecordingStore(MemoryStore())
    with trio.fail_after(60):
        result = await scatter_dispatcher(atomic_increment, store).execute(
            "fan", Items(items=list(range(100)))
        )
    assert result.state.lifecycle.variant == "completed"
    assert result.executed_nodes == ["s"]
    assert await store.get("n") == 100
    # Each update holds the store for 0.01 s: 100 of them take exactly 1 s.
    assert abs(trio.current_time() - 1.0) < 1e-9
    updates = [record for record in store.log if record.op == "update"]
    assert [record.value for record in updates] == [None, *range(1, 100)]
    finished = [record.finished for record in updates]
    assert finished == sorted(finished)


@node("step-a", outputs=("done",))
async def step_a(state: NodeStateBase, ctx: NodeContext[Services]) -> str:
    await trio.sleep(1)
    await ctx.services.counts.update("entries", lambda v: f"{v},step-a" if v else "step-a")
    return "done"


@node("child-step", outputs=("done",))
async def child_step(state: NodeStateBase, ctx: NodeContext[Services]) -> str:
    await trio.sleep(1)
    await ctx.services.counts.update("entries", lambda v: f"{v},child-step" if v else "child-step")
    return "done"


@node("step-b", outputs=("done",))
async def step_b(state: NodeStateBase, ctx: NodeContext[Services]) -> str:
    await trio.sleep(1)
    await ctx.services.counts.update("entries", lambda v: f"{v},step-b" if v else "step-b")
    return "done"


async def test_seed_sequence_accumulates_in_execution_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Parent, embedded child, parent: one store, three writers, entries in execution order."""
    store = RecordingStore(MemoryStore())
    recorded = [RecordingNode(n) for n in (step_a, child_step, step_b)]
    dispatcher: Dagonizer[NodeStateBase, Services] = Dagonizer(services=Services(counts=store))
    dispatcher.register_dag(
        DAGBuilder("sub-flow", "1")
        .node("child-step", recorded[1], {"done": "child-end"})
        .terminal("child-end")
        .build()
    )
    dispatcher.register_dag(
        DAGBuilder("main-flow", "1")
        .node("step-a", recorded[0], {"done": "run-child"})
        .embedded_dag("run-child", "sub-flow", {"success": "step-b", "error": "step-b"})
        .node("step-b", recorded[2], {"done": "end"})
        .terminal("end")
        .build()
    )
    with trio.fail_after(60):
        result = await dispatcher.execute("main-flow", NodeStateBase())
    assert await store.get("entries") == "step-a,child-step,step-b"
    assert result.executed_nodes == ["step-a", "run-child", "step-b", "end"]
    rows = [row for node in recorded for row in node.timetable()]
    assert [(path, start, end) for path, _, start, end, _ in rows] == [
        (("step-a",), 0.0, 1.0),
        (("run-child", "child-step"), 1.0, 2.0),
        (("step-b",), 2.0, 3.0),
    ]
    assert [record.task for record in store.log if record.op == "update"] == [
        store.log[0].task
    ] * 3  # the child ran in the parent's task, not a task of its own


@attrs.define
class Shared(NodeStateBase):
    count: int = 0


@node("bump-state", outputs=("success",))
async def bump_state(state: Shared, ctx: NodeContext[Services]) -> str:
    seen = state.count
    await trio.sleep(1)
    state.count = seen + 1
    return "success"


@node("bump-store", outputs=("success",))
async def bump_store(state: Shared, ctx: NodeContext[Services]) -> str:
    await trio.sleep(1)
    await ctx.services.counts.update("count", lambda v: (v or 0) + 1)
    return "success"


async def test_parallel_members_race_on_state_but_not_on_the_store(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Parallel members share the state (a write-write race); the store is the safe place."""
    store = MemoryStore()
    dispatcher: Dagonizer[Shared, Services] = Dagonizer(services=Services(counts=store))
    builder = DAGBuilder("par", "1")
    builder.parallel(
        "together",
        ["s1", "s2", "s3", "t1", "t2", "t3"],
        "all-success",
        {"success": None, "error": None},
    )
    for name in ("s1", "s2", "s3"):
        builder.node(name, bump_state, {"success": None})
    for name in ("t1", "t2", "t3"):
        builder.node(name, bump_store, {"success": None})
    dispatcher.register_dag(builder.build())
    with trio.fail_after(60):
        result = await dispatcher.execute("par", Shared())
    assert result.state.lifecycle.variant == "completed"
    assert trio.current_time() == 1.0  # members ran concurrently
    assert result.state.count == 1  # three read-modify-writes, two lost
    assert await store.get("count") == 3
