"""DAGBuilder: the fluent way to describe a DAG (DESIGN.md "DAGs and placements")."""

from __future__ import annotations

import pytest

from dagon_actors import DAG, DAGBuilder, Dagonizer, Gather, NodeStateBase, ValidationError, node


@node("step", outputs=("done",))
async def step(state: NodeStateBase, ctx: object) -> str:
    """Always ``done``."""
    return "done"


@node("other", outputs=("done",))
async def other(state: NodeStateBase, ctx: object) -> str:
    """Always ``done``."""
    return "done"


def test_every_method_returns_the_builder() -> None:
    """Each builder method returns the builder itself, so calls chain."""
    builder = DAGBuilder("flow", "1")
    assert builder.node("a", step, {"done": "emb"}) is builder
    assert builder.embedded_dag("emb", "child", {"success": "sc", "error": None}) is builder
    assert (
        builder.scatter(
            "sc",
            step,
            source="items",
            routes={"all-success": "par", "partial": None, "all-error": None, "empty": None},
        )
        is builder
    )
    assert builder.node("m1", other, {"done": None}) is builder
    assert builder.parallel("par", ["m1"], "collect", {"success": "end"}) is builder
    assert builder.terminal("end") is builder
    assert builder.phase("setup", step, "pre") is builder
    assert builder.entrypoint("a") is builder
    assert isinstance(builder.build(), DAG)


def test_build_keeps_name_version_and_placement_order() -> None:
    """The built DAG has the builder's name and version and placements in the order added."""
    dag = (
        DAGBuilder("flow", "3")
        .node("a", step, {"done": "b"})
        .node("b", step, {"done": "end"})
        .terminal("end")
        .build()
    )
    assert dag.name == "flow"
    assert dag.version == "3"
    assert [p.name for p in dag.placements] == ["a", "b", "end"]


def test_first_placement_is_the_entrypoint() -> None:
    """Without ``.entrypoint()``, the first placement added is where the flow starts."""
    dag = DAGBuilder("flow", "1").node("a", step, {"done": "b"}).node("b", step, {"done": None})
    assert dag.build().entrypoint == "a"


def test_entrypoint_overrides_the_first_placement() -> None:
    """``.entrypoint(name)`` chooses another start, even when called before it is added."""
    dag = (
        DAGBuilder("flow", "1")
        .entrypoint("b")
        .node("a", step, {"done": None})
        .node("b", step, {"done": "a"})
        .build()
    )
    assert dag.entrypoint == "b"


async def test_entrypoint_is_where_the_run_starts(recorder) -> None:
    """A run of a DAG with an explicit entrypoint starts there."""
    dag = (
        DAGBuilder("flow", "1")
        .node("a", recorder.node("a"), {"done": None})
        .node("b", recorder.node("b"), {"done": "a"})
        .entrypoint("b")
        .build()
    )
    dispatcher = Dagonizer()
    dispatcher.register_dag(dag)
    result = await dispatcher.execute("flow", NodeStateBase())
    assert recorder.started == ["b", "a"]
    assert result.executed_nodes == ["b", "a"]


def test_dag_stores_node_names_not_objects() -> None:
    """A placement given a node object stores its name; the object rides along in ``nodes``."""
    dag = DAGBuilder("flow", "1").node("first", step, {"done": None}).build()
    assert dag.to_dict()["placements"][0]["node"] == "step"
    assert dag.nodes["step"] is step


def test_node_may_be_a_registered_name() -> None:
    """A node given by name builds; its outputs are checked when the DAG is registered."""
    dag = DAGBuilder("flow", "1").node("a", "step", {"done": None}).build()
    assert dag.to_dict()["placements"][0]["node"] == "step"
    dispatcher = Dagonizer()
    dispatcher.register_node(step)
    dispatcher.register_dag(dag)
    assert dispatcher.list_dags() == ["flow"]


def test_same_node_object_twice_is_fine() -> None:
    """Using one node object in two placements is not a conflict."""
    dag = DAGBuilder("flow", "1").node("a", step, {"done": "b"}).node("b", step, {"done": None})
    assert dag.build().nodes == {"step": step}


def test_two_node_objects_with_one_name_are_rejected() -> None:
    """Two different node objects named alike make ``build()`` fail, naming the placement."""

    @node("step", outputs=("done",))
    async def impostor(state: NodeStateBase, ctx: object) -> str:
        return "done"

    builder = (
        DAGBuilder("flow", "1").node("a", step, {"done": "b"}).node("b", impostor, {"done": None})
    )
    with pytest.raises(ValidationError) as info:
        builder.build()
    message = str(info.value)
    assert message.startswith("Invalid DAG:")
    assert "  - flow.b: " in message
    assert "'step'" in message


def test_unregistered_embedded_and_scatter_dags_are_accepted() -> None:
    """A DAG naming child DAGs nobody has registered yet builds and registers."""
    dag = (
        DAGBuilder("flow", "1")
        .embedded_dag("emb", "later-child", {"success": "sc", "error": None})
        .scatter(
            "sc",
            dag="later-body",
            source="items",
            routes={"all-success": None, "partial": None, "all-error": None, "empty": None},
        )
        .build()
    )
    dispatcher = Dagonizer()
    dispatcher.register_dag(dag)
    assert dispatcher.get_dag("flow") == dag


def test_builder_records_every_option_of_a_placement() -> None:
    """Options given to the builder reach the DAG (and survive its data form)."""
    dag = (
        DAGBuilder("flow", "1")
        .embedded_dag(
            "emb",
            "child",
            {"success": "sc", "error": None},
            inputs={"title": "metadata.title"},
            outputs={"metadata.result": "title"},
        )
        .scatter(
            "sc",
            step,
            source="items",
            routes={"success": None, "error": None},
            item_key="entry",
            concurrency=2,
            gather=Gather.append("seen"),
            reducer="terminal",
            success_outputs=("done",),
        )
        .build()
    )
    emb, sc = dag.placements
    assert dict(emb.inputs) == {"title": "metadata.title"}
    assert dict(emb.outputs) == {"metadata.result": "title"}
    assert (sc.source, sc.item_key, sc.concurrency, sc.reducer) == ("items", "entry", 2, "terminal")
    assert tuple(sc.success_outputs) == ("done",)
    assert DAG.from_dict(dag.to_dict()) == dag
