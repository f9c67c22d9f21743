"""Resume from a checkpoint never repeats a completed unit of work and never skips one.

Every test here follows one script (DESIGN.md "Checkpoints", issue 6 "Must
show"): run a flow under ``autojump_clock``, stop it part-way, capture the
state together with a store in which every body counts its own executions,
send the checkpoint through JSON text into a *fresh* store, a *fresh* state
and a *fresh* dispatcher, resume, and find

* every unit executed exactly once, across both runs;
* the gathered results complete and in source order;
* the flow routed on the combined outcome of both runs.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import trio
from _ckpt_helpers import (
    RESUME_KEY,
    Services,
    count,
    counts_of,
    elapsed,
    resume_progress,
    run_until,
    through_json,
)

from dagon_actors import (
    DAG,
    AbortController,
    Checkpoint,
    DAGBuilder,
    Dagonizer,
    Gather,
    LifecycleVariant,
    MemoryStore,
    NodeContext,
    NodeStateBase,
    node,
    transient,
)

# ============================================================================ scatter

ITEMS = list(range(12))
# Item 0 is slow, so items after it finish first and wait in the reorder buffer.
LENGTHS = [9, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2]
VERDICT_ROUTES = {
    "all-success": "t-all-success",
    "partial": "t-partial",
    "all-error": "t-all-error",
    "empty": "t-empty",
}


@attrs.define
class ScatterState(NodeStateBase):
    items: list[int] = attrs.field(factory=list)
    results: list[int] = attrs.field(factory=list)
    value: int = 0  # set on each clone by the body, gathered into ``results``


def scatter_dag(fails: frozenset[int]) -> DAG:
    @node("work", outputs=("success", "error"))
    async def work(state: ScatterState, ctx: NodeContext[Services]) -> str:
        item: int = state.get_metadata("item")
        ctx.services.started.append((f"item-{item}", elapsed()))
        await trio.sleep(LENGTHS[item])
        await count(ctx.services, str(item))
        ctx.services.finished.append((f"item-{item}", elapsed()))
        state.value = item * 10
        return "error" if item in fails else "success"

    builder = DAGBuilder("scatter-flow").scatter(
        "s",
        work,
        source="items",
        routes=VERDICT_ROUTES,
        concurrency=3,
        gather=Gather.append("results", field="value"),
    )
    for verdict_node in VERDICT_ROUTES.values():
        builder.terminal(verdict_node)
    return builder.build()


def scatter_dispatcher(fails: frozenset[int], services: Services) -> Dagonizer[Any, Services]:
    dispatcher: Dagonizer[Any, Services] = Dagonizer(services=services)
    dispatcher.register_dag(scatter_dag(fails))
    return dispatcher


# (abort time, what the checkpoint must show). Item i ends, uninterrupted, at:
# 1→1 2→2 4→3 3→4 5→5 7→6 6→7 8→8 0→9 10→9 9→10 11→11.
SCATTER_ABORTS = [
    pytest.param(None, "not-started", id="already-aborted"),
    pytest.param(0.5, "none-completed", id="before-any-completes"),
    pytest.param(1.0, "any", id="at-first-completion"),
    pytest.param(1.5, "reorder-buffer", id="first-finisher-waits-for-item-0"),
    pytest.param(4.5, "reorder-buffer", id="slow-first-item-buffers-later-ones"),
    pytest.param(8.5, "reorder-buffer", id="buffer-nearly-full"),
    pytest.param(9.0, "any", id="as-slow-item-completes"),
    pytest.param(9.5, "folded", id="after-slow-item"),
    pytest.param(10.5, "folded", id="last-item-in-flight"),
]


@pytest.mark.parametrize("fails", [frozenset(), frozenset({4, 9})], ids=["ok", "some-fail"])
@pytest.mark.parametrize(("abort_time", "shows"), SCATTER_ABORTS)
async def test_scatter_resume_runs_every_item_exactly_once(
    autojump_clock: trio.abc.Clock,
    abort_time: float | None,
    shows: str,
    fails: frozenset[int],
) -> None:
    """A 12-item scatter aborted at any moment resumes the rest, gathers all, in order."""
    with trio.fail_after(120):
        counts = MemoryStore()
        services = Services(counts=counts)
        first = scatter_dispatcher(fails, services)
        state = ScatterState(items=list(ITEMS))
        start = trio.current_time()
        if abort_time is None:
            services.controller.abort("before start")
        result = await run_until(
            first,
            "scatter-flow",
            state,
            services.controller,
            None if abort_time is None else start + abort_time,
        )

        assert result.cursor == "s"
        assert result.interrupted_at is not None
        assert result.interrupted_at.reason == "abort"
        assert state.lifecycle.variant is LifecycleVariant.CANCELLED
        assert result.executed_nodes == []

        crossing = await through_json(
            "scatter-flow", result, {"counts": counts}, ScatterState.restore
        )
        progress = resume_progress(crossing.wire)
        counted_before = await counts_of(crossing.stores["counts"])
        assert counted_before == await counts_of(counts)
        assert all(n == 1 for n in counted_before.values())
        # The checkpoint really is mid-scatter in the way this case says.
        if shows == "not-started":
            assert progress is None
            assert counted_before == {}
        else:
            assert progress is not None
            assert progress["kind"] == "scatter"
            assert progress["placement"] == "s"
        if shows == "none-completed":
            assert counted_before == {}
            assert progress is not None
            assert [p["index"] for p in progress["pending"]] == [0, 1, 2]
        if shows == "reorder-buffer":
            assert progress is not None
            assert progress["next_fold"] == 0  # item 0 is still running ...
            assert progress["done"]  # ... so finished later items wait for it
            assert 0 in [p["index"] for p in progress["pending"]]
        if shows == "folded":
            assert progress is not None
            assert progress["next_fold"] > 0
        # The state in the checkpoint holds the already-folded prefix, in order.
        assert (
            crossing.restored.state.results
            == [i * 10 for i in ITEMS][: len(crossing.restored.state.results)]
        )

        # Resume on a fresh store, a fresh dispatcher and the restored state.
        services2 = Services(counts=crossing.stores["counts"])
        second = scatter_dispatcher(fails, services2)
        restored = crossing.restored
        assert restored.state.lifecycle.variant is LifecycleVariant.PENDING
        final = await second.resume(restored.dag_name, restored.state, restored.cursor)

        assert final.cursor is None
        assert final.interrupted_at is None
        assert restored.state.lifecycle.variant is LifecycleVariant.COMPLETED
        assert await counts_of(services2.counts) == {str(i): 1 for i in ITEMS}
        # Items that completed before the abort never start again.
        restarted = {name for name, _ in services2.started}
        assert restarted.isdisjoint({f"item-{i}" for i in map(int, counted_before)})
        assert restored.state.results == [i * 10 for i in ITEMS]
        verdict = "partial" if fails else "all-success"
        assert final.executed_nodes == ["s", VERDICT_ROUTES[verdict]]
        assert final.terminal_outcome == "completed"


async def test_scatter_resume_timetable_runs_pulled_items_first(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Items pulled but not completed run first on resume; the pool refills in source order.

    Aborted at t=4.5: items 1-4 finished (waiting behind slow item 0), items
    0, 5 and 6 were in flight. The resume starts 0, 5 and 6 at once, then
    pulls 7, 8, ... as slots free, exactly as an uninterrupted run would.
    """
    with trio.fail_after(60):
        counts = MemoryStore()
        services = Services(counts=counts)
        state = ScatterState(items=list(ITEMS))
        t0 = trio.current_time()
        result = await run_until(
            scatter_dispatcher(frozenset(), services),
            "scatter-flow",
            state,
            services.controller,
            t0 + 4.5,
        )
        assert [(name, when - t0) for name, when in services.finished] == [
            ("item-1", 1.0),
            ("item-2", 2.0),
            ("item-4", 3.0),
            ("item-3", 4.0),
        ]
        crossing = await through_json(
            "scatter-flow", result, {"counts": counts}, ScatterState.restore
        )
        progress = resume_progress(crossing.wire)
        assert progress is not None
        assert progress["pulled"] == 7
        assert [p["index"] for p in progress["pending"]] == [0, 5, 6]
        assert [d["index"] for d in progress["done"]] == [1, 2, 3, 4]

        services2 = Services(counts=crossing.stores["counts"])
        restored = crossing.restored
        t1 = trio.current_time()
        final = await scatter_dispatcher(frozenset(), services2).resume(
            restored.dag_name, restored.state, restored.cursor
        )
        assert final.cursor is None
        # Tasks started at one instant start in scheduler order: compare sets.
        started: dict[float, set[str]] = {}
        for name, when in services2.started:
            started.setdefault(when - t1, set()).add(name)
        # Pulled-but-unfinished items first, then the rest as slots free.
        assert started == {
            0.0: {"item-0", "item-5", "item-6"},
            2.0: {"item-7"},  # 5 (2s) frees a slot
            3.0: {"item-8", "item-9"},  # 6 (3s) and 7 (1s) free two
            5.0: {"item-10"},  # 8 (2s)
            6.0: {"item-11"},  # 9 (3s) and 10 (1s); the window (12) never binds
        }
        assert trio.current_time() - t1 == 9.0  # item 0 (9s) decides
        assert restored.state.results == [i * 10 for i in ITEMS]
        assert await counts_of(services2.counts) == {str(i): 1 for i in ITEMS}


async def test_scatter_survives_two_interruptions(autojump_clock: trio.abc.Clock) -> None:
    """A resumed scatter that is aborted again resumes again, still exactly once."""
    with trio.fail_after(60):
        counts: Any = MemoryStore()
        services = Services(counts=counts)
        state = ScatterState(items=list(ITEMS))
        result = await run_until(
            scatter_dispatcher(frozenset(), services),
            "scatter-flow",
            state,
            services.controller,
            trio.current_time() + 4.5,
        )
        for abort_in in (3.5, 2.5):
            crossing = await through_json(
                "scatter-flow", result, {"counts": counts}, ScatterState.restore
            )
            counts = crossing.stores["counts"]
            services = Services(counts=counts)
            restored = crossing.restored
            async with trio.open_nursery() as nursery:
                nursery.start_soon(
                    _abort_later, services.controller, trio.current_time() + abort_in
                )
                result = await scatter_dispatcher(frozenset(), services).resume(
                    restored.dag_name,
                    restored.state,
                    restored.cursor,
                    abort=services.controller.signal,
                )
            assert result.cursor == "s"
        crossing = await through_json(
            "scatter-flow", result, {"counts": counts}, ScatterState.restore
        )
        services = Services(counts=crossing.stores["counts"])
        restored = crossing.restored
        final = await scatter_dispatcher(frozenset(), services).resume(
            restored.dag_name, restored.state, restored.cursor
        )
        assert final.executed_nodes == ["s", "t-all-success"]
        assert restored.state.results == [i * 10 for i in ITEMS]
        assert await counts_of(services.counts) == {str(i): 1 for i in ITEMS}


async def _abort_later(controller: AbortController, when: float) -> None:
    await trio.sleep_until(when)
    controller.abort("again")


# ============================================================================ embedded


@attrs.define
class ChainState(NodeStateBase):
    base: int = 0
    total: int = 0
    trail: list[str] = attrs.field(factory=list)
    results: list[list[str]] = attrs.field(factory=list)
    items: list[int] = attrs.field(factory=list)


def chain_node(name: str, seconds: float = 1.0) -> Any:
    """A child placement: counts itself, adds ``base`` to ``total``, extends ``trail``.

    It can abort its own run through the shared controller: at its start
    (before any work) or at its end (after it has done and counted its work).
    """

    @node(name, outputs=("next",))
    async def step(state: ChainState, ctx: NodeContext[Services]) -> str:
        services = ctx.services
        item = state.get_metadata("item")
        unit = name if item is None else f"{item}/{name}"
        services.started.append((unit, elapsed()))
        if services.abort_before == unit:
            services.controller.abort(f"inside {unit}")
        await trio.sleep(seconds if item is None else seconds * (1 + item % 3))
        await count(services, unit)
        state.total += state.base
        state.trail.append(unit)
        if services.abort_after == unit:
            services.controller.abort(f"after {unit}")
        return "next"

    return step


@node("prep", outputs=("next",))
async def prep(state: ChainState, ctx: NodeContext[Services]) -> str:
    await count(ctx.services, "prep")
    state.base = 5
    return "next"


@node("after", outputs=("done",))
async def after(state: ChainState, ctx: NodeContext[Services]) -> str:
    await count(ctx.services, "after")
    return "done"


def child_dag(name: str = "child", prefix: str = "c") -> DAG:
    """Three placements, ``c1 → c2 → c3``, each one second long."""
    return (
        DAGBuilder(name)
        .node(f"{prefix}1", chain_node(f"{prefix}1"), {"next": f"{prefix}2"})
        .node(f"{prefix}2", chain_node(f"{prefix}2"), {"next": f"{prefix}3"})
        .node(f"{prefix}3", chain_node(f"{prefix}3"), {"next": None})
        .build()
    )


def parent_dag() -> DAG:
    return (
        DAGBuilder("parent")
        .node("prep", prep, {"next": "emb"})
        .embedded_dag(
            "emb",
            "child",
            {"success": "after", "error": "t-failed"},
            inputs={"base": "base"},
            outputs={"total": "total", "trail": "trail"},
        )
        .node("after", after, {"done": None})
        .terminal("t-failed", outcome="failed")
        .build()
    )


class AbortingDagonizer(Dagonizer[Any, Services]):
    """Aborts from the node-end hook of one placement path (``services.abort_after``)."""

    def on_node_end(
        self, node_name: str, output: str | None, state: Any, placement_path: tuple[str, ...]
    ) -> None:
        services = self.services
        if services is not None and "/".join(placement_path) == services.abort_after:
            services.controller.abort(f"hook after {node_name}")


def embedded_dispatcher(services: Services, *, hooks: bool = False) -> Dagonizer[Any, Services]:
    cls = AbortingDagonizer if hooks else Dagonizer
    dispatcher: Dagonizer[Any, Services] = cls(services=services)
    dispatcher.register_dag(child_dag())
    dispatcher.register_dag(parent_dag())
    return dispatcher


# how, parameter, expected child cursor in the checkpoint (None: not mid-child)
EMBEDDED_ABORTS = [
    pytest.param("node", ("after", "c1"), "c2", id="node-aborts-after-c1"),
    pytest.param("node", ("after", "c2"), "c3", id="node-aborts-after-c2"),
    pytest.param("node", ("before", "c2"), "c2", id="node-aborts-at-start-of-c2"),
    pytest.param("node", ("before", "c3"), "c3", id="node-aborts-at-start-of-c3"),
    pytest.param("hook", "emb/c1", "c2", id="hook-after-first-child-placement"),
    pytest.param("hook", "emb/c2", "c3", id="hook-after-second-child-placement"),
    pytest.param("time", 0.5, "c1", id="clock-during-c1"),
    pytest.param("time", 1.5, "c2", id="clock-during-c2"),
    pytest.param("time", 2.5, "c3", id="clock-during-c3"),
    pytest.param("iterate", "emb", None, id="iterating-after-first-child-event"),
    pytest.param("iterate", "prep", None, id="iterating-after-prep-event"),
]


@pytest.mark.parametrize(("how", "where", "child_cursor"), EMBEDDED_ABORTS)
async def test_embedded_child_resumes_from_its_own_cursor(
    autojump_clock: trio.abc.Clock, how: str, where: Any, child_cursor: str | None
) -> None:
    """An embedded child interrupted between (or during) its placements is continued, not rerun.

    Child placements that completed before the abort never run again; the
    child continues on the state it had reached, and its outputs are copied
    back to the parent when it finishes.
    """
    with trio.fail_after(60):
        counts = MemoryStore()
        services = Services(counts=counts)
        if how == "node":
            when, unit = where
            if when == "after":
                services.abort_after = unit
            else:
                services.abort_before = unit
        elif how == "hook":
            services.abort_after = where
        first = embedded_dispatcher(services, hooks=how == "hook")
        state = ChainState()
        controller = services.controller
        if how == "iterate":
            execution = first.execute("parent", state, abort=controller.signal)
            async for event in execution:
                if event.placement_path[0] == where:
                    controller.abort("after an event")
                    break
            result = await execution
        else:
            at = trio.current_time() + where if how == "time" else None
            result = await run_until(first, "parent", state, controller, at)

        assert result.interrupted_at is not None
        assert result.interrupted_at.reason == "abort"
        crossing = await through_json("parent", result, {"counts": counts}, ChainState.restore)
        progress = resume_progress(crossing.wire)
        before = await counts_of(crossing.stores["counts"])
        if child_cursor is not None:
            assert result.cursor == "emb"
            assert progress is not None
            assert progress["kind"] == "embedded"
            assert progress["placement"] == "emb"
            assert progress["child"]["cursor"] == child_cursor
            done = [f"c{i}" for i in range(1, int(child_cursor[1]))]
            # The child's own state, partway through, rides in the checkpoint.
            assert progress["child"]["state"]["fields"]["trail"] == done
            assert before == {"prep": 1, **dict.fromkeys(done, 1)}

        services2 = Services(counts=crossing.stores["counts"])
        second = embedded_dispatcher(services2)
        restored = crossing.restored
        final = await second.resume(restored.dag_name, restored.state, restored.cursor)

        assert final.cursor is None
        assert final.terminal_outcome is None
        assert restored.state.lifecycle.variant is LifecycleVariant.COMPLETED
        assert await counts_of(services2.counts) == {
            "prep": 1,
            "c1": 1,
            "c2": 1,
            "c3": 1,
            "after": 1,
        }
        assert result.executed_nodes + final.executed_nodes == ["prep", "emb", "after"]
        # Outputs were copied back from the (continued) child.
        assert restored.state.trail == ["c1", "c2", "c3"]
        assert restored.state.total == 15
        if child_cursor is not None:
            restarted = [unit for unit, _ in services2.started]
            assert restarted == [f"c{i}" for i in range(int(child_cursor[1]), 4)]


def grandparent_dag() -> DAG:
    return (
        DAGBuilder("grandparent")
        .node("prep", prep, {"next": "outer"})
        .embedded_dag(
            "outer",
            "middle",
            {"success": "after", "error": None},
            inputs={"base": "base"},
            outputs={"trail": "trail", "total": "total"},
        )
        .node("after", after, {"done": None})
        .build()
    )


def middle_dag() -> DAG:
    return (
        DAGBuilder("middle")
        .node("m1", chain_node("m1"), {"next": "inner"})
        .embedded_dag(
            "inner",
            "child",
            {"success": "m2", "error": None},
            inputs={"base": "base", "trail": "trail"},
            outputs={"trail": "trail", "total": "total"},
        )
        .node("m2", chain_node("m2"), {"next": None})
        .build()
    )


@pytest.mark.parametrize("abort_time", [0.5, 1.5, 2.5, 3.5, 4.5])
async def test_nested_embedded_children_resume_at_every_depth(
    autojump_clock: trio.abc.Clock, abort_time: float
) -> None:
    """An abort two levels down resumes the grandchild from its cursor, then the child."""
    with trio.fail_after(60):
        counts = MemoryStore()
        services = Services(counts=counts)

        def make(services: Services) -> Dagonizer[Any, Services]:
            dispatcher: Dagonizer[Any, Services] = Dagonizer(services=services)
            for dag in (child_dag(), middle_dag(), grandparent_dag()):
                dispatcher.register_dag(dag)
            return dispatcher

        state = ChainState()
        result = await run_until(
            make(services),
            "grandparent",
            state,
            services.controller,
            trio.current_time() + abort_time,
        )
        assert result.cursor == "outer"
        crossing = await through_json("grandparent", result, {"counts": counts}, ChainState.restore)
        progress = resume_progress(crossing.wire)
        assert progress is not None
        # Time t in [1, 4) is inside the grandchild: c(t) is running.
        middle_cursor = "m1" if abort_time < 1 else "inner" if abort_time < 4 else "m2"
        assert progress["child"]["cursor"] == middle_cursor
        if middle_cursor == "inner":
            inner = progress["child"]["state"]["metadata"][RESUME_KEY]
            assert inner["kind"] == "embedded"
            assert inner["child"]["cursor"] == f"c{int(abort_time)}"

        services2 = Services(counts=crossing.stores["counts"])
        restored = crossing.restored
        final = await make(services2).resume(restored.dag_name, restored.state, restored.cursor)
        assert final.cursor is None
        expected = ["m1", "c1", "c2", "c3", "m2"]
        assert restored.state.trail == expected
        assert await counts_of(services2.counts) == {
            "prep": 1,
            **dict.fromkeys(expected, 1),
            "after": 1,
        }


# ============================================================================ DAG-body scatter


def item_flow() -> DAG:
    """The per-item child of a DAG-body scatter: ``p1 → p2 → p3``.

    Placement lengths depend on the item (1, 2 or 3 seconds each), so clones
    are at different placements when the abort lands.
    """
    return (
        DAGBuilder("item-flow")
        .node("p1", chain_node("p1"), {"next": "p2"})
        .node("p2", chain_node("p2"), {"next": "p3"})
        .node("p3", chain_node("p3"), {"next": None})
        .build()
    )


def dag_scatter_parent() -> DAG:
    return (
        DAGBuilder("dag-scatter")
        .scatter(
            "s",
            dag="item-flow",
            source="items",
            routes=VERDICT_ROUTES,
            concurrency=3,
            gather=Gather.append("results", field="trail"),
        )
        .terminal("t-all-success")
        .terminal("t-partial")
        .terminal("t-all-error")
        .terminal("t-empty")
        .build()
    )


def dag_scatter_dispatcher(services: Services) -> Dagonizer[Any, Services]:
    dispatcher: Dagonizer[Any, Services] = Dagonizer(services=services)
    dispatcher.register_dag(item_flow())
    dispatcher.register_dag(dag_scatter_parent())
    return dispatcher


BODY_ITEMS = list(range(7))


@pytest.mark.parametrize("abort_time", [0.5, 1.5, 2.5, 4.5, 5.5, 7.5, 10.5])
async def test_dag_body_scatter_resumes_each_clone_child_from_its_cursor(
    autojump_clock: trio.abc.Clock, abort_time: float
) -> None:
    """Clones interrupted mid-child continue their own child; finished clones never rerun."""
    with trio.fail_after(60):
        counts = MemoryStore()
        services = Services(counts=counts)
        state = ChainState(items=list(BODY_ITEMS))
        result = await run_until(
            dag_scatter_dispatcher(services),
            "dag-scatter",
            state,
            services.controller,
            trio.current_time() + abort_time,
        )
        assert result.cursor == "s"
        crossing = await through_json("dag-scatter", result, {"counts": counts}, ChainState.restore)
        progress = resume_progress(crossing.wire)
        assert progress is not None
        before = await counts_of(crossing.stores["counts"])
        # Every clone in flight carries its child's cursor and partial trail.
        for pending in progress["pending"]:
            item = pending["item"]
            child = pending["child"]
            assert child is not None
            done = child["state"]["fields"]["trail"]
            assert done == [f"{item}/p{i}" for i in range(1, len(done) + 1)]
            assert child["cursor"] == f"p{len(done) + 1}"
            assert child["state"]["metadata"]["item"] == item
        if abort_time > 2:
            assert any(p["child"]["cursor"] != "p1" for p in progress["pending"]), (
                "the abort should land with some clone mid-child"
            )

        services2 = Services(counts=crossing.stores["counts"])
        restored = crossing.restored
        final = await dag_scatter_dispatcher(services2).resume(
            restored.dag_name, restored.state, restored.cursor
        )
        assert final.cursor is None
        assert final.executed_nodes == ["s", "t-all-success"]
        units = [f"{i}/p{p}" for i in BODY_ITEMS for p in (1, 2, 3)]
        assert await counts_of(services2.counts) == dict.fromkeys(units, 1)
        assert restored.state.results == [[f"{i}/p{p}" for p in (1, 2, 3)] for i in BODY_ITEMS]
        assert {unit for unit, _ in services2.started}.isdisjoint(before)


# ============================================================================ parallel


@attrs.define
class ParallelState(NodeStateBase):
    marks: list[str] = attrs.field(factory=list)


def member(name: str, seconds: float, output: str = "success") -> Any:
    @node(name, outputs=("success", "error"))
    async def run(state: ParallelState, ctx: NodeContext[Services]) -> str:
        ctx.services.started.append((name, elapsed()))
        await trio.sleep(seconds)
        await count(ctx.services, name)
        state.marks.append(name)
        return output

    return run


def parallel_dispatcher(services: Services, combine: str, a_output: str) -> Dagonizer[Any, Any]:
    routes = {"success": "t-ok"}
    if combine != "collect":
        routes["error"] = "t-bad"
    dag = (
        DAGBuilder("par-flow")
        .node("a", member("a", 1.0, a_output), {"success": None, "error": None})
        .node("b", member("b", 3.0), {"success": None, "error": None})
        .node("c", member("c", 5.0), {"success": None, "error": None})
        .parallel("p", ["a", "b", "c"], combine, routes)
        .terminal("t-ok")
        .terminal("t-bad", outcome="failed")
        .entrypoint("p")
        .build()
    )
    dispatcher: Dagonizer[Any, Any] = Dagonizer(services=services)
    dispatcher.register_dag(dag)
    return dispatcher


@pytest.mark.parametrize(
    ("combine", "a_output", "abort_time", "verdict_node"),
    [
        pytest.param("collect", "success", 2.0, "t-ok", id="collect-after-a"),
        pytest.param("collect", "success", 4.0, "t-ok", id="collect-after-a-and-b"),
        pytest.param("all-success", "error", 2.0, "t-bad", id="all-success-a-failed-before"),
        pytest.param("any-success", "success", 2.0, "t-ok", id="any-success-a-won-before"),
    ],
)
async def test_parallel_resume_does_not_rerun_finished_members(
    autojump_clock: trio.abc.Clock,
    combine: str,
    a_output: str,
    abort_time: float,
    verdict_node: str,
) -> None:
    """A parallel placement aborted after some members finished runs only the others.

    The outputs of members that finished before the abort count toward the
    combined verdict after the resume.
    """
    with trio.fail_after(60):
        counts = MemoryStore()
        services = Services(counts=counts)
        state = ParallelState()
        result = await run_until(
            parallel_dispatcher(services, combine, a_output),
            "par-flow",
            state,
            services.controller,
            trio.current_time() + abort_time,
        )
        assert result.cursor == "p"
        crossing = await through_json("par-flow", result, {"counts": counts}, ParallelState.restore)
        progress = resume_progress(crossing.wire)
        assert progress is not None
        assert progress["kind"] == "parallel"
        finished_before = sorted(progress["done"])
        assert finished_before == (["a"] if abort_time < 3 else ["a", "b"])

        services2 = Services(counts=crossing.stores["counts"])
        restored = crossing.restored
        final = await parallel_dispatcher(services2, combine, a_output).resume(
            restored.dag_name, restored.state, restored.cursor
        )
        assert final.cursor is None
        assert final.executed_nodes == ["p", verdict_node]
        assert await counts_of(services2.counts) == {"a": 1, "b": 1, "c": 1}
        assert sorted(name for name, _ in services2.started) == sorted(
            {"a", "b", "c"} - set(finished_before)
        )
        assert sorted(restored.state.marks) == ["a", "b", "c"]
        if combine == "collect":
            assert restored.state.metadata["parallel_outputs"] == {
                "a": "success",
                "b": "success",
                "c": "success",
            }


# ============================================================================ async source


class Feed:
    """An async iterator over ``items`` from ``start``; logs every item it hands out.

    It waits a little before each item (as a real source would), and hands
    out an item only once that wait is over, so an abort during the wait
    loses nothing.
    """

    def __init__(self, items: list[int], log: list[int], start: int = 0) -> None:
        self.items = items
        self.log = log
        self.position = start

    def __aiter__(self) -> Feed:
        return self

    async def __anext__(self) -> int:
        await trio.sleep(0.25)
        if self.position >= len(self.items):
            raise StopAsyncIteration
        item = self.items[self.position]
        self.position += 1
        self.log.append(item)
        return item


@attrs.define
class FeedState(NodeStateBase):
    source: Any = transient()
    results: list[int] = attrs.field(factory=list)


FEED_ITEMS = [100 + i for i in range(10)]
FEED_LENGTHS = {100 + i: length for i, length in enumerate([4, 1, 2, 1, 3, 1, 1, 2, 1, 2])}


def feed_dispatcher(services: Services) -> Dagonizer[Any, Services]:
    @node("consume", outputs=("success",))
    async def consume(state: FeedState, ctx: NodeContext[Services]) -> str:
        item: int = state.get_metadata("item")
        ctx.services.started.append((str(item), elapsed()))
        await trio.sleep(FEED_LENGTHS[item])
        await count(ctx.services, str(item))
        return "success"

    dag = (
        DAGBuilder("feed-flow")
        .scatter(
            "s",
            consume,
            source="source",
            routes=VERDICT_ROUTES,
            concurrency=2,
            gather=Gather.append("results"),
        )
        .terminal("t-all-success")
        .terminal("t-partial")
        .terminal("t-all-error")
        .terminal("t-empty")
        .build()
    )
    dispatcher: Dagonizer[Any, Services] = Dagonizer(services=services)
    dispatcher.register_dag(dag)
    return dispatcher


@pytest.mark.parametrize("supply", ["positioned-iterator", "same-iterator"])
@pytest.mark.parametrize("abort_time", [0.1, 0.3, 1.3, 2.6, 4.4, 6.1, 8.0])
async def test_async_source_resume_loses_and_repeats_nothing(
    autojump_clock: trio.abc.Clock, abort_time: float, supply: str
) -> None:
    """An async-iterable source (a transient field) resumes from the checkpoint's pulled count.

    The source is left out of the checkpoint; the caller supplies an
    iterator positioned after the items the checkpoint pulled (it reads how
    many from the checkpoint), or the same live iterator. Items pulled but
    not completed are part of the checkpoint and run first.
    """
    with trio.fail_after(60):
        counts = MemoryStore()
        services = Services(counts=counts)
        log: list[int] = []
        feed = Feed(FEED_ITEMS, log)
        state = FeedState(source=feed)
        result = await run_until(
            feed_dispatcher(services),
            "feed-flow",
            state,
            services.controller,
            trio.current_time() + abort_time,
        )
        assert result.cursor == "s"
        crossing = await through_json("feed-flow", result, {"counts": counts}, FeedState.restore)
        assert "source" not in crossing.wire["state"]["fields"]
        progress = resume_progress(crossing.wire)
        assert progress is not None
        pulled = progress["pulled"]
        assert pulled == len(log)
        in_flight = [p["item"] for p in progress["pending"]]
        assert in_flight == [
            item for item in log if str(item) not in (crossing.wire["stores"]["counts"]["entries"])
        ]

        restored = crossing.restored
        assert restored.state.source is None  # transient: restored as its default
        if supply == "positioned-iterator":
            restored.state.source = Feed(FEED_ITEMS, log, start=pulled)
        else:
            restored.state.source = feed
        services2 = Services(counts=crossing.stores["counts"])
        final = await feed_dispatcher(services2).resume(
            restored.dag_name, restored.state, restored.cursor
        )
        assert final.cursor is None
        assert final.executed_nodes == ["s", "t-all-success"]
        assert log == FEED_ITEMS  # every item pulled once, in order
        assert await counts_of(services2.counts) == {str(i): 1 for i in FEED_ITEMS}
        assert restored.state.results == FEED_ITEMS
        # Pulled-but-unfinished items are the first to start on resume.
        first_started = [int(name) for name, _ in services2.started[: len(in_flight)]]
        assert sorted(first_started) == in_flight
        assert all(
            when == services2.started[0][1] for _, when in services2.started[: len(in_flight)]
        )


async def test_async_source_checkpoint_of_live_state_reports_pulled(
    autojump_clock: trio.abc.Clock,
) -> None:
    """The pulled count is readable from the checkpoint of the live (un-restored) state."""
    with trio.fail_after(30):
        services = Services(counts=MemoryStore())
        log: list[int] = []
        state = FeedState(source=Feed(FEED_ITEMS, log))
        result = await run_until(
            feed_dispatcher(services),
            "feed-flow",
            state,
            services.controller,
            trio.current_time() + 2.6,
        )
        ckpt = await Checkpoint.capture("feed-flow", result)
        wire = ckpt.to_dict()
        assert wire["state"]["metadata"][RESUME_KEY]["pulled"] == len(log)
        assert state.source.position == len(log)


# ============================================================================ deadline


async def test_a_run_stopped_by_its_deadline_resumes_like_an_aborted_one(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A ``deadline`` ends the run ``timed_out`` with progress kept; resume finishes the rest."""
    with trio.fail_after(60):
        counts = MemoryStore()
        services = Services(counts=counts)
        state = ScatterState(items=list(ITEMS))
        result = await scatter_dispatcher(frozenset(), services).execute(
            "scatter-flow", state, deadline=4.5
        )
        assert result.cursor == "s"
        assert result.interrupted_at is not None
        assert result.interrupted_at.reason == "timeout"
        assert state.lifecycle.variant is LifecycleVariant.TIMED_OUT
        crossing = await through_json(
            "scatter-flow", result, {"counts": counts}, ScatterState.restore
        )
        assert await counts_of(crossing.stores["counts"]) == {"1": 1, "2": 1, "3": 1, "4": 1}

        services2 = Services(counts=crossing.stores["counts"])
        restored = crossing.restored
        final = await scatter_dispatcher(frozenset(), services2).resume(
            restored.dag_name, restored.state, restored.cursor
        )
        assert final.executed_nodes == ["s", "t-all-success"]
        assert restored.state.results == [i * 10 for i in ITEMS]
        assert await counts_of(services2.counts) == {str(i): 1 for i in ITEMS}


@attrs.define
class Boxed(NodeStateBase):
    payload: int = 0


async def test_a_missing_output_path_keeps_the_finished_child_for_resume(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Copying outputs back fails the placement, but a resume copies them without rerunning."""
    runs: list[int] = []

    @node("work", outputs=("done",))
    async def work(state: Boxed, ctx: NodeContext[Any]) -> str:
        runs.append(1)
        state.payload = 42
        return "done"

    dispatcher: Dagonizer[Boxed, None] = Dagonizer()
    dispatcher.register_dag(DAGBuilder("child", "1").node("work", work, {"done": None}).build())
    dispatcher.register_dag(
        DAGBuilder("parent", "1")
        .embedded_dag(
            "emb", "child", {"success": None, "error": None}, outputs={"metadata.out.v": "payload"}
        )
        .build()
    )
    state = Boxed()
    failed = await dispatcher.execute("parent", state)
    assert failed.state.lifecycle.variant == LifecycleVariant.FAILED
    assert failed.cursor == "emb"
    assert [e.code for e in state.errors] == ["ValidationError"]
    assert "metadata.out.v" in state.errors[0].message
    assert "'emb'" in state.errors[0].message  # names the placement too
    assert tuple(state.errors[0].placement_path) == ("emb",)

    ckpt = Checkpoint.load((await Checkpoint.capture("parent", failed)).to_json())
    restored = ckpt.restore_state(Boxed.restore)
    restored.state.metadata["out"] = {}  # the caller supplies the missing container
    result = await dispatcher.resume("parent", restored.state, restored.cursor)
    assert result.state.lifecycle.variant == LifecycleVariant.COMPLETED
    assert restored.state.metadata["out"] == {"v": 42}
    assert runs == [1]  # the child ran once, before the checkpoint


@attrs.define
class Fed(NodeStateBase):
    source: Any = attrs.field(default=None, metadata={"transient": True})
    results: list[int] = attrs.Factory(list)


async def test_resuming_from_a_generator_the_abort_closed_fails_loudly(
    autojump_clock: trio.abc.Clock,
) -> None:
    """An abort inside the generator's own __anext__ ends it: resuming with it fails loudly."""

    async def slow_source() -> Any:
        for i in range(6):
            await trio.sleep(0.25)  # waits for its next item, like a real feed
            yield i

    @node("work", outputs=("success",))
    async def work(state: Fed, ctx: NodeContext[Any]) -> str:
        await trio.sleep(1)
        return "success"

    dispatcher: Dagonizer[Fed, None] = Dagonizer()
    dispatcher.register_dag(
        DAGBuilder("feed", "1")
        .scatter(
            "s",
            work,
            source="source",
            concurrency=2,
            gather=Gather.append("results"),
            routes={"all-success": None, "partial": None, "all-error": None, "empty": None},
        )
        .build()
    )
    source = slow_source()
    controller = AbortController()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:

            async def abort_later() -> None:
                await trio.sleep(1.4)  # the pool has a free slot: the generator is mid-pull
                controller.abort("stop")

            nursery.start_soon(abort_later)
            first = await dispatcher.execute("feed", Fed(source=source), abort=controller.signal)
        assert first.cursor == "s"
        restored = Checkpoint.load((await Checkpoint.capture("feed", first)).to_json())
        state = restored.restore_state(Fed.restore).state
        state.source = source  # the same, now closed, generator
        result = await dispatcher.resume("feed", state, "s")
    assert result.state.lifecycle.variant == LifecycleVariant.FAILED
    assert result.cursor == "s"
    [record] = state.errors
    assert record.code == "ExecutionError"
    assert "closed" in record.message
    assert "positioned after the 2 item(s)" in record.message
