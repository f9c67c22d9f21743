"""Nodes: the protocol, ``@node``, NodeContext and NodeOutput (DESIGN.md "Nodes")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import pytest

from dagon_actors import (
    AbortSignal,
    DAGBuilder,
    Dagonizer,
    ErrorRecord,
    LifecycleVariant,
    NodeContext,
    NodeOutput,
    NodeStateBase,
    node,
)


async def run(dispatcher: Dagonizer[Any, Any], builder: DAGBuilder, state: Any = None) -> Any:
    """Register ``builder``'s DAG and run it to the end."""
    dag = builder.build()
    dispatcher.register_dag(dag)
    return await dispatcher.execute(dag.name, state if state is not None else NodeStateBase())


# -- making nodes -----------------------------------------------------------------------


async def test_node_decorator_makes_a_node() -> None:
    """``@node(name, outputs=...)`` gives an object with name, outputs and async execute."""

    @node("step-a", outputs=("done", "skip"))
    async def step_a(state: NodeStateBase, ctx: NodeContext[Any]) -> str:
        state.set_metadata("ran", True)
        return "done"

    assert step_a.name == "step-a"
    assert tuple(step_a.outputs) == ("done", "skip")
    state = NodeStateBase()
    ctx = NodeContext(
        services=None,
        dag_name="d",
        node_name="step-a",
        placement_path=("step-a",),
        signal=AbortSignal(),
    )
    assert await step_a.execute(state, ctx) == "done"
    assert state.get_metadata("ran") is True


def test_node_decorator_keeps_timeout_and_retry() -> None:
    """``timeout`` and ``retry`` given to ``@node`` are attributes the engine reads."""

    @node("slow", outputs=("done",), timeout=2.5)
    async def slow(state: NodeStateBase, ctx: NodeContext[Any]) -> str:
        return "done"

    assert slow.timeout == 2.5
    assert getattr(slow, "retry", None) is None


@attrs.frozen
class FrozenNode:
    """A frozen attrs class satisfies the protocol (read-only name and outputs)."""

    name: str
    outputs: Sequence[str] = ("done",)

    async def execute(self, state: NodeStateBase, ctx: NodeContext[Any]) -> str:
        state.set_metadata(self.name, ctx.node_name)
        return "done"


class PlainNode:
    """Any object with name, outputs and an async execute is a node."""

    name = "plain"
    outputs = ("done",)

    async def execute(self, state: NodeStateBase, ctx: NodeContext[Any]) -> str:
        state.set_metadata("plain", True)
        return "done"


async def test_frozen_attrs_classes_and_plain_objects_are_nodes() -> None:
    """Class-based nodes run like decorated ones."""
    result = await run(
        Dagonizer(),
        DAGBuilder("flow")
        .node("first", FrozenNode("frozen"), {"done": "second"})
        .node("second", PlainNode(), {"done": None}),
    )
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert result.state.metadata == {"frozen": "first", "plain": True}


# -- NodeContext --------------------------------------------------------------------------


async def test_context_fields_at_top_level(recorder) -> None:
    """A node gets the services bag, the DAG name, its placement name and path, a signal."""
    services = {"db": object()}
    await run(
        Dagonizer(services=services),
        DAGBuilder("flow").node("place", recorder.node("n"), {"done": None}),
    )
    (ctx,) = recorder.contexts
    assert ctx.services is services
    assert ctx.dag_name == "flow"
    assert ctx.node_name == "place"
    assert ctx.placement_path == ("place",)
    assert isinstance(ctx.signal, AbortSignal)
    assert ctx.signal.aborted is False
    assert ctx.item_index is None


async def test_context_in_an_embedded_child(recorder) -> None:
    """Children see the same services object, their own DAG name and the full placement path."""
    services = object()
    dispatcher = Dagonizer(services=services)
    dispatcher.register_dag(
        DAGBuilder("child").node("c1", recorder.node("inner"), {"done": None}).build()
    )
    await run(
        dispatcher,
        DAGBuilder("parent")
        .node("top", recorder.node("outer"), {"done": "emb"})
        .embedded_dag("emb", "child", {"success": None, "error": None}),
    )
    top, c1 = recorder.contexts
    assert top.services is services
    assert c1.services is services
    assert c1.dag_name == "child"
    assert c1.node_name == "c1"
    assert c1.placement_path == ("emb", "c1")
    assert c1.signal is not None
    assert c1.item_index is None


async def test_services_is_the_same_object_for_every_node_at_every_depth() -> None:
    """Phases, top-level nodes, embedded children, parallel members, scatter clones
    (node and DAG bodies) all get the dispatcher's one services object, never a copy."""
    services = {"db": object()}
    seen: list[tuple[tuple[str, ...], Any]] = []

    @node("look", outputs=("done",))
    async def look(state: NodeStateBase, ctx: NodeContext[Any]) -> str:
        seen.append((ctx.placement_path, ctx.services))
        return "done"

    dispatcher = Dagonizer(services=services)
    dispatcher.register_dag(DAGBuilder("child").node("c1", look, {"done": None}).build())
    dispatcher.register_dag(DAGBuilder("item-flow").node("w", look, {"done": None}).build())
    verdicts = ("all-success", "partial", "all-error", "empty")
    state = NodeStateBase()
    state.set_metadata("items", [1, 2])
    await run(
        dispatcher,
        DAGBuilder("flow")
        .phase("setup", look, "pre")
        .node("top", look, {"done": "emb"})
        .embedded_dag("emb", "child", {"success": "par", "error": None})
        .parallel("par", ["m"], "collect", {"success": "s"})
        .node("m", look, {"done": None})
        .scatter("s", look, source="metadata.items", routes=dict.fromkeys(verdicts, "s2"))
        .scatter("s2", dag="item-flow", source="metadata.items", routes=dict.fromkeys(verdicts))
        .phase("teardown", look, "post"),
        state,
    )
    assert sorted(path for path, _ in seen) == [
        ("emb", "c1"),
        ("par", "m"),
        ("s", "look"),
        ("s", "look"),
        ("s2", "w"),
        ("s2", "w"),
        ("setup",),
        ("teardown",),
        ("top",),
    ]
    assert [path for path, bag in seen if bag is not services] == []


async def test_parallel_members_see_their_own_placement(recorder) -> None:
    """A parallel member's context names the member, under the parallel placement's path."""
    await run(
        Dagonizer(),
        DAGBuilder("flow")
        .parallel("par", ["m"], "collect", {"success": None})
        .node("m", recorder.node("member"), {"done": None}),
    )
    (ctx,) = recorder.contexts
    assert ctx.node_name == "m"
    assert ctx.placement_path == ("par", "m")
    assert ctx.item_index is None


# -- NodeOutput ----------------------------------------------------------------------------


def test_node_output_defaults_to_no_errors() -> None:
    """``NodeOutput(output)`` carries no errors."""
    assert tuple(NodeOutput("done").errors) == ()


async def test_node_output_errors_are_recorded(recorder) -> None:
    """Exceptions and records a node returns land on ``state.errors``, then the flow routes on."""
    output = NodeOutput(
        "done",
        errors=(ValueError("bad row"), ErrorRecord(code="quota", message="over quota")),
    )
    result = await run(
        Dagonizer(),
        DAGBuilder("flow")
        .node("check", recorder.node("check", output), {"done": "next"})
        .node("next", recorder.node("next"), {"done": None}),
    )
    assert recorder.started == ["check", "next"]
    assert result.executed_nodes == ["check", "next"]
    first, second = result.state.errors
    assert (first.code, first.message) == ("ValueError", "bad row")
    assert isinstance(first.exception, ValueError)
    assert (second.code, second.message) == ("quota", "over quota")
    for record in (first, second):
        assert record.node == "check"
        assert tuple(record.placement_path) == ("check",)
        assert record.item_index is None


@pytest.mark.parametrize("returned", [None, 3, ("done",)])
async def test_returning_a_non_output_fails_the_run(returned: Any) -> None:
    """A node returning something that is not an output name fails its placement."""

    @node("odd", outputs=("done",))
    async def odd(state: NodeStateBase, ctx: NodeContext[Any]) -> Any:
        return returned

    result = await run(Dagonizer(), DAGBuilder("flow").node("odd", odd, {"done": None}))
    assert result.state.lifecycle.variant is LifecycleVariant.FAILED
    assert result.cursor == "odd"
    assert len(result.state.errors) == 1
