"""Lifecycle phases at the edges: runs that never began, embedded children, resumes."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from dagon_actors import (
    AbortController,
    DAGBuilder,
    Dagonizer,
    LifecycleVariant,
    NodeContext,
    NodeStateBase,
    node,
)


def phased(calls: list[str]) -> Dagonizer[NodeStateBase, None]:
    def recording(name: str) -> Any:
        @node(name, outputs=("done",))
        async def body(state: NodeStateBase, ctx: NodeContext[Any]) -> str:
            calls.append(f"{name}@{ctx.placement_path}")
            await trio.sleep(1)
            return "done"

        return body

    dispatcher: Dagonizer[NodeStateBase, None] = Dagonizer()
    dispatcher.register_dag(
        DAGBuilder("child", "1")
        .node("c1", recording("c1"), {"done": None})
        .phase("child-pre", recording("child-pre"), "pre")
        .phase("child-post", recording("child-post"), "post")
        .build()
    )
    dispatcher.register_dag(
        DAGBuilder("flow", "1")
        .node("a", recording("a"), {"done": "emb"})
        .embedded_dag("emb", "child", {"success": None, "error": None})
        .phase("pre", recording("pre"), "pre")
        .phase("post", recording("post"), "post")
        .build()
    )
    return dispatcher


async def test_a_run_aborted_before_it_began_still_runs_post_phases(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Aborted at start: no pre phase, no placement, but the post phase (every exit path)."""
    calls: list[str] = []
    controller = AbortController()
    controller.abort("before start")
    with trio.fail_after(60):
        result = await phased(calls).execute("flow", NodeStateBase(), abort=controller.signal)
    assert result.state.lifecycle.variant == LifecycleVariant.CANCELLED
    assert result.cursor == "a"
    assert calls == ["post@('post',)"]


async def test_child_phases_run_around_each_child_run(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """An embedded DAG's own phases run around its run, with paths under the parent placement."""
    calls: list[str] = []
    with trio.fail_after(60):
        result = await phased(calls).execute("flow", NodeStateBase())
    assert result.state.lifecycle.variant == LifecycleVariant.COMPLETED
    assert calls == [
        "pre@('pre',)",
        "a@('a',)",
        "child-pre@('emb', 'child-pre')",
        "c1@('emb', 'c1')",
        "child-post@('emb', 'child-post')",
        "post@('post',)",
    ]
    assert result.executed_nodes == ["pre", "a", "emb", "post"]


async def test_a_failing_post_phase_is_a_warning_and_never_reaches_on_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """on_error is for records the run adds to errors; a post phase failure is only a warning."""
    reported: list[str] = []

    class Watching(Dagonizer[NodeStateBase, None]):
        def on_error(self, node_name: str, error: Any, state: Any, placement_path: Any) -> None:
            reported.append(node_name)

    @node("work", outputs=("done",))
    async def work(state: NodeStateBase, ctx: NodeContext[Any]) -> str:
        return "done"

    @node("cleanup", outputs=("done",))
    async def cleanup(state: NodeStateBase, ctx: NodeContext[Any]) -> str:
        raise RuntimeError("cleanup failed")

    dispatcher = Watching()
    dispatcher.register_dag(
        DAGBuilder("flow", "1")
        .node("work", work, {"done": None})
        .phase("cleanup", cleanup, "post")
        .build()
    )
    with trio.fail_after(60):
        result = await dispatcher.execute("flow", NodeStateBase())
    assert result.state.lifecycle.variant == LifecycleVariant.COMPLETED
    assert result.state.errors == []
    assert [(w.code, w.node) for w in result.state.warnings] == [("RuntimeError", "cleanup")]
    assert reported == []
