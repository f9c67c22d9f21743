"""Dagonizer: registries, runs, composite placements, phases and hooks.

(DESIGN.md "Nodes", "DAGs and placements", "Execution".)
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from dagon_actors import (
    DAG,
    DAGBuilder,
    Dagonizer,
    ErrorRecord,
    ExecutionError,
    ExecutionResult,
    LifecycleVariant,
    NodeContext,
    NodeOutput,
    NodeStateBase,
    ValidationError,
    node,
)


@attrs.define
class Doc(NodeStateBase):
    """A domain state for flows."""

    title: str = ""
    notes: list[str] = attrs.Factory(list)
    count: int = 0


async def run(
    builder: DAGBuilder, state: Any = None, dispatcher: Any = None
) -> ExecutionResult[Any]:
    """Register ``builder``'s DAG on ``dispatcher`` (a fresh one by default) and run it."""
    dispatcher = dispatcher if dispatcher is not None else Dagonizer()
    dag = builder.build()
    dispatcher.register_dag(dag)
    return await dispatcher.execute(dag.name, state if state is not None else Doc())


def register(dispatcher: Dagonizer[Any, Any], builder: DAGBuilder) -> DAG:
    """Build and register ``builder``'s DAG."""
    dag = builder.build()
    dispatcher.register_dag(dag)
    return dag


# -- registries ----------------------------------------------------------------------------


def test_get_dag_and_list_dags() -> None:
    """Registered DAGs are listed in registration order and returned by name."""
    dispatcher = Dagonizer()
    first = register(dispatcher, DAGBuilder("first").terminal("end"))
    second = register(dispatcher, DAGBuilder("second").terminal("end"))
    assert dispatcher.list_dags() == ["first", "second"]
    assert dispatcher.get_dag("first") == first
    assert dispatcher.get_dag("second") == second


def test_get_dag_of_an_unknown_name() -> None:
    """Asking for a DAG nobody registered is a ValidationError naming it."""
    with pytest.raises(ValidationError, match="nope"):
        Dagonizer().get_dag("nope")


def test_register_node_refuses_a_different_object_under_a_taken_name(recorder) -> None:
    """Two node objects cannot share a name in one registry; the same one again is fine."""
    dispatcher = Dagonizer()
    original = recorder.node("n")
    dispatcher.register_node(original)
    dispatcher.register_node(original)
    with pytest.raises(ValidationError, match="'n'"):
        dispatcher.register_node(recorder.node("n"))


async def test_node_objects_given_to_the_builder_are_registered(recorder) -> None:
    """After registering a DAG built with a node object, other DAGs may name that node."""
    dispatcher = Dagonizer()
    register(dispatcher, DAGBuilder("first").node("a", recorder.node("shared"), {"done": None}))
    register(dispatcher, DAGBuilder("second").node("b", "shared", {"done": None}))
    result = await dispatcher.execute("second", Doc())
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert recorder.started == ["b"]


# -- linear flows ------------------------------------------------------------------------


async def test_linear_flow_runs_in_order(recorder) -> None:
    """Placements run one after another along their routes, to the terminal."""
    result = await run(
        DAGBuilder("flow")
        .node("a", recorder.node("a"), {"done": "b"})
        .node("b", recorder.node("b"), {"done": "c"})
        .node("c", recorder.node("c"), {"done": "end"})
        .terminal("end")
    )
    assert recorder.started == ["a", "b", "c"]
    assert result.executed_nodes == ["a", "b", "c", "end"]
    assert result.skipped_nodes == []
    assert result.cursor is None
    assert result.terminal_outcome == "completed"
    assert result.interrupted_at is None
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED


async def test_result_state_is_the_state_given(recorder) -> None:
    """The dispatcher mutates the state in place: ``result.state is state``."""

    @node("title", outputs=("done",))
    async def title(state: Doc, ctx: NodeContext[Any]) -> str:
        state.title = "set"
        return "done"

    doc = Doc()
    result = await run(DAGBuilder("flow").node("t", title, {"done": None}), doc)
    assert result.state is doc
    assert doc.title == "set"


async def test_routes_follow_the_output(recorder) -> None:
    """The output a node returns picks the next placement."""
    result = await run(
        DAGBuilder("flow")
        .node(
            "pick",
            recorder.node("pick", "right", outputs=("left", "right")),
            {"left": "l", "right": "r"},
        )
        .node("l", recorder.node("l"), {"done": None})
        .node("r", recorder.node("r"), {"done": None})
    )
    assert recorder.started == ["pick", "r"]
    assert result.executed_nodes == ["pick", "r"]


async def test_none_route_ends_completed_without_terminal_outcome(recorder) -> None:
    """A ``None`` route ends the run completed; ``terminal_outcome`` is None."""
    result = await run(DAGBuilder("flow").node("a", recorder.node("a"), {"done": None}))
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert result.terminal_outcome is None
    assert result.cursor is None
    assert result.executed_nodes == ["a"]


async def test_failed_terminal_marks_the_run_failed(recorder) -> None:
    """``terminal(outcome="failed")`` ends the run failed with that outcome."""
    result = await run(
        DAGBuilder("flow").node("a", recorder.node("a"), {"done": "bad"}).terminal("bad", "failed")
    )
    assert result.state.lifecycle.variant is LifecycleVariant.FAILED
    assert result.terminal_outcome == "failed"
    assert result.cursor is None
    assert result.executed_nodes == ["a", "bad"]


async def test_terminal_as_entrypoint() -> None:
    """A DAG that is only a terminal completes at once."""
    result = await run(DAGBuilder("flow").terminal("end"))
    assert result.executed_nodes == ["end"]
    assert result.terminal_outcome == "completed"


# -- failures ----------------------------------------------------------------------------


async def test_node_that_raises_fails_the_run(recorder) -> None:
    """A raise: lifecycle failed, cursor on it, the record keeps the exception, no interruption."""
    boom = RuntimeError("boom")
    result = await run(
        DAGBuilder("flow")
        .node("a", recorder.node("a"), {"done": "b"})
        .node("b", recorder.node("b", raises=boom), {"done": "c"})
        .node("c", recorder.node("c"), {"done": None})
    )
    assert recorder.started == ["a", "b"]
    assert result.state.lifecycle.variant is LifecycleVariant.FAILED
    assert result.cursor == "b"
    assert result.interrupted_at is None
    assert result.terminal_outcome is None
    assert result.executed_nodes == ["a"]
    (record,) = result.state.errors
    assert record.code == "RuntimeError"
    assert record.exception is boom
    assert "boom" in record.message
    assert record.node == "b"
    assert tuple(record.placement_path) == ("b",)


async def test_unrouted_output_fails_naming_node_output_and_dag() -> None:
    """Returning an output the placement does not route fails with the cursor on it."""

    @node("rogue", outputs=("done", "other"))
    async def rogue(state: Doc, ctx: NodeContext[Any]) -> str:
        return "elsewhere"

    result = await run(DAGBuilder("main-flow").node("place", rogue, {"done": None, "other": None}))
    assert result.state.lifecycle.variant is LifecycleVariant.FAILED
    assert result.cursor == "place"
    (record,) = result.state.errors
    for word in ("rogue", "elsewhere", "main-flow"):
        assert word in record.message


async def test_max_steps_stops_a_cycle(recorder) -> None:
    """A loop that never exits ends failed with an ExecutionError record after ``max_steps``."""
    dispatcher = Dagonizer(max_steps=5)
    result = await run(
        DAGBuilder("loop")
        .node("a", recorder.node("a"), {"done": "b"})
        .node("b", recorder.node("b"), {"done": "a"}),
        dispatcher=dispatcher,
    )
    assert result.state.lifecycle.variant is LifecycleVariant.FAILED
    assert recorder.started == ["a", "b", "a", "b", "a"]
    (record,) = result.state.errors
    assert record.code == "ExecutionError"
    assert isinstance(record.exception, ExecutionError)
    assert "max_steps" in record.message


def test_execute_unknown_dag_raises_at_call_time() -> None:
    """``execute`` of an unregistered DAG raises ValidationError before anything runs."""
    with pytest.raises(ValidationError, match="ghost"):
        Dagonizer().execute("ghost", Doc())


def test_resume_with_a_bad_cursor_raises_at_call_time(recorder) -> None:
    """``resume`` at a cursor that is not a placement raises ValidationError at once."""
    dispatcher = Dagonizer()
    register(dispatcher, DAGBuilder("flow").node("a", recorder.node("a"), {"done": None}))
    with pytest.raises(ValidationError, match="nowhere"):
        dispatcher.resume("flow", Doc(), "nowhere")
    with pytest.raises(ValidationError, match="ghost"):
        dispatcher.resume("ghost", Doc(), "a")


async def test_resume_starts_at_the_cursor(recorder) -> None:
    """``resume`` runs from the given placement and lists only what it ran."""
    dispatcher = Dagonizer()
    register(
        dispatcher,
        DAGBuilder("flow")
        .node("a", recorder.node("a"), {"done": "b"})
        .node("b", recorder.node("b"), {"done": "end"})
        .terminal("end"),
    )
    result = await dispatcher.resume("flow", Doc(), "b")
    assert recorder.started == ["b"]
    assert result.executed_nodes == ["b", "end"]
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED


# -- embedded DAGs ------------------------------------------------------------------------


@node("append-note", outputs=("done",))
async def append_note(state: Doc, ctx: NodeContext[Any]) -> str:
    """Appends to ``notes`` and sets the title from it."""
    state.notes.append("child")
    state.title = f"{len(state.notes)} notes"
    return "done"


async def test_embedded_dag_with_inputs_and_outputs() -> None:
    """Inputs are copied into the child (keys are destinations), outputs copied back."""
    dispatcher = Dagonizer()
    register(dispatcher, DAGBuilder("child").node("c1", append_note, {"done": None}))
    doc = Doc(notes=["parent"])
    result = await run(
        DAGBuilder("parent")
        .embedded_dag(
            "emb",
            "child",
            {"success": "end", "error": None},
            inputs={"notes": "notes"},
            outputs={"title": "title", "metadata.child_notes": "notes"},
        )
        .terminal("end"),
        doc,
        dispatcher,
    )
    assert result.executed_nodes == ["emb", "end"]
    assert doc.title == "2 notes"
    assert doc.get_metadata("child_notes") == ["parent", "child"]
    assert doc.notes == ["parent"]  # the child worked on a copy


async def test_embedded_child_starts_from_a_clone(recorder) -> None:
    """Without inputs, the child sees default domain fields and a copy of the metadata."""
    seen: list[tuple[str, Any]] = []

    @node("peek", outputs=("done",))
    async def peek(state: Doc, ctx: NodeContext[Any]) -> str:
        seen.append((state.title, state.get_metadata("flag")))
        state.set_metadata("flag", "child-changed")
        return "done"

    dispatcher = Dagonizer()
    register(dispatcher, DAGBuilder("child").node("c1", peek, {"done": None}))
    doc = Doc(title="parent")
    doc.set_metadata("flag", "parent-set")
    await run(
        DAGBuilder("parent").embedded_dag("emb", "child", {"success": None, "error": None}),
        doc,
        dispatcher,
    )
    assert seen == [("", "parent-set")]
    assert doc.get_metadata("flag") == "parent-set"


async def test_child_raise_routes_parent_error_and_copies_the_record(recorder) -> None:
    """A node raising in the child routes the parent ``error``; its record lands on the parent."""
    boom = ValueError("child broke")
    dispatcher = Dagonizer()
    register(
        dispatcher, DAGBuilder("child").node("c1", recorder.node("c1", raises=boom), {"done": None})
    )
    doc = Doc()
    result = await run(
        DAGBuilder("parent")
        .embedded_dag("emb", "child", {"success": "ok", "error": "recover"})
        .node("ok", recorder.node("ok"), {"done": None})
        .node("recover", recorder.node("recover"), {"done": None}),
        doc,
        dispatcher,
    )
    assert recorder.started == ["c1", "recover"]
    assert result.executed_nodes == ["emb", "recover"]
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    (record,) = doc.errors
    assert record.code == "ValueError"
    assert record.exception is boom
    assert tuple(record.placement_path) == ("emb", "c1")


async def test_child_error_records_fail_the_child(recorder) -> None:
    """A child node returning errors (``NodeOutput``) fails the child; the parent routes error."""
    output = NodeOutput("done", errors=(ErrorRecord(code="bad-data", message="row 3"),))
    dispatcher = Dagonizer()
    register(
        dispatcher, DAGBuilder("child").node("c1", recorder.node("c1", output), {"done": None})
    )
    doc = Doc()
    result = await run(
        DAGBuilder("parent")
        .embedded_dag("emb", "child", {"success": "ok", "error": "bad"})
        .node("ok", recorder.node("ok"), {"done": None})
        .node("bad", recorder.node("bad"), {"done": None}),
        doc,
        dispatcher,
    )
    assert result.executed_nodes == ["emb", "bad"]
    assert [r.code for r in doc.errors] == ["bad-data"]


async def test_child_warnings_do_not_fail_the_child(recorder) -> None:
    """A child that only adds warnings succeeds."""

    @node("warn", outputs=("done",))
    async def warn(state: Doc, ctx: NodeContext[Any]) -> str:
        state.warnings.append(ErrorRecord(code="meh", message="just saying"))
        return "done"

    dispatcher = Dagonizer()
    register(dispatcher, DAGBuilder("child").node("c1", warn, {"done": None}))
    doc = Doc()
    result = await run(
        DAGBuilder("parent")
        .embedded_dag("emb", "child", {"success": "ok", "error": "bad"})
        .node("ok", recorder.node("ok"), {"done": None})
        .node("bad", recorder.node("bad"), {"done": None}),
        doc,
        dispatcher,
    )
    assert result.executed_nodes == ["emb", "ok"]
    assert doc.errors == []
    # The child's warning is not lost: it lands on the parent state.
    assert [(w.code, w.message) for w in doc.warnings] == [("meh", "just saying")]


@pytest.mark.parametrize("how", ["raises", "returns-error-record", "failed-terminal"])
async def test_child_outputs_are_copied_back_when_the_child_fails(recorder, how: str) -> None:
    """``outputs`` are copied back when the child ends in error too (only an abort skips
    them): the parent routes ``error`` with what the child had written."""

    @node("write", outputs=("done",))
    async def write(state: Doc, ctx: NodeContext[Any]) -> str:
        state.title = "from child"
        state.count = 7
        return "done"

    routes: dict[str, str | None] = {"done": None}
    if how == "raises":
        c2 = recorder.node("c2", raises=RuntimeError("c2 broke"))
    elif how == "returns-error-record":
        c2 = recorder.node("c2", NodeOutput("done", errors=(ErrorRecord(code="bad", message="x"),)))
    else:
        c2 = recorder.node("c2")
        routes = {"done": "no"}
    child = DAGBuilder("child").node("c1", write, {"done": "c2"}).node("c2", c2, routes)
    if how == "failed-terminal":
        child.terminal("no", "failed")
    dispatcher = Dagonizer()
    register(dispatcher, child)
    doc = Doc(title="parent")
    result = await run(
        DAGBuilder("parent")
        .embedded_dag(
            "emb",
            "child",
            {"success": "ok", "error": "bad"},
            outputs={"title": "title", "count": "count"},
        )
        .node("ok", recorder.node("ok"), {"done": None})
        .node("bad", recorder.node("bad"), {"done": None}),
        doc,
        dispatcher,
    )
    assert result.executed_nodes == ["emb", "bad"]
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert (doc.title, doc.count) == ("from child", 7)
    assert [r.code for r in doc.errors] == {
        "raises": ["RuntimeError"],
        "returns-error-record": ["bad"],
        "failed-terminal": [],
    }[how]


async def test_child_ending_at_a_failed_terminal_routes_error(recorder) -> None:
    """A child that ends at a failed terminal routes the parent ``error``."""
    dispatcher = Dagonizer()
    register(
        dispatcher,
        DAGBuilder("child")
        .node("c1", recorder.node("c1"), {"done": "no"})
        .terminal("no", "failed"),
    )
    result = await run(
        DAGBuilder("parent")
        .embedded_dag("emb", "child", {"success": None, "error": "bad"})
        .node("bad", recorder.node("bad"), {"done": None}),
        Doc(),
        dispatcher,
    )
    assert result.executed_nodes == ["emb", "bad"]
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert result.terminal_outcome is None


async def test_missing_input_path_fails_the_placement(recorder) -> None:
    """A missing ``inputs`` path fails the placement with a ValidationError record."""
    dispatcher = Dagonizer()
    register(dispatcher, DAGBuilder("child").node("c1", recorder.node("c1"), {"done": None}))
    doc = Doc()
    result = await run(
        DAGBuilder("parent").embedded_dag(
            "emb", "child", {"success": None, "error": None}, inputs={"title": "metadata.missing"}
        ),
        doc,
        dispatcher,
    )
    assert recorder.started == []
    assert result.state.lifecycle.variant is LifecycleVariant.FAILED
    assert result.cursor == "emb"
    (record,) = doc.errors
    assert record.code == "ValidationError"
    assert "emb" in record.message
    assert "metadata.missing" in record.message
    assert isinstance(record.exception, ValidationError)
    assert (record.exception.placement, record.exception.path) == ("emb", "metadata.missing")
    assert tuple(record.placement_path) == ("emb",)


async def test_a_state_that_cannot_be_cloned_fails_the_placement(recorder) -> None:
    """A clone the engine cannot build fails the embedded placement; ``execute`` does not raise."""

    @attrs.define
    class Needy(NodeStateBase):
        name: str

    dispatcher = Dagonizer()
    register(dispatcher, DAGBuilder("child").node("c1", recorder.node("c1"), {"done": None}))
    state = Needy(name="x")
    result = await run(
        DAGBuilder("parent").embedded_dag("emb", "child", {"success": None, "error": None}),
        state,
        dispatcher,
    )
    assert recorder.started == []
    assert result.state.lifecycle.variant is LifecycleVariant.FAILED
    assert result.cursor == "emb"
    (record,) = state.errors
    assert "Needy" in record.message
    assert "clone" in record.message


async def test_unregistered_child_dag_fails_the_placement_at_run_time() -> None:
    """Reaching an embedded DAG nobody registered fails that placement with a ValidationError."""
    doc = Doc()
    result = await run(
        DAGBuilder("parent").embedded_dag(
            "emb", "never-registered", {"success": None, "error": None}
        ),
        doc,
    )
    assert result.state.lifecycle.variant is LifecycleVariant.FAILED
    assert result.cursor == "emb"
    (record,) = doc.errors
    assert record.code == "ValidationError"
    assert "never-registered" in record.message
    assert "'emb'" in record.message  # names the placement too
    assert isinstance(record.exception, ValidationError)
    assert record.exception.placement == "emb"
    assert tuple(record.placement_path) == ("emb",)


async def test_embedded_dag_registered_after_the_parent_runs(recorder) -> None:
    """A child registered after its parent is found when the run reaches it."""
    dispatcher = Dagonizer()
    register(
        dispatcher,
        DAGBuilder("parent").embedded_dag("emb", "child", {"success": None, "error": None}),
    )
    register(dispatcher, DAGBuilder("child").node("c1", recorder.node("c1"), {"done": None}))
    result = await dispatcher.execute("parent", Doc())
    assert recorder.started == ["c1"]
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED


async def test_max_steps_counts_each_dag_level_separately(recorder) -> None:
    """The child's placements do not count toward the parent's ``max_steps``."""
    dispatcher = Dagonizer(max_steps=3)
    register(
        dispatcher,
        DAGBuilder("child")
        .node("c1", recorder.node("c1"), {"done": "c2"})
        .node("c2", recorder.node("c2"), {"done": "c3"})
        .node("c3", recorder.node("c3"), {"done": None}),
    )
    result = await run(
        DAGBuilder("parent")
        .embedded_dag("emb", "child", {"success": "p2", "error": None})
        .node("p2", recorder.node("p2"), {"done": None}),
        Doc(),
        dispatcher,
    )
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert recorder.started == ["c1", "c2", "c3", "p2"]


async def test_max_steps_gives_each_dag_body_clone_its_own_budget(recorder) -> None:
    """Parallel members and scatter clones do not count toward the parent's ``max_steps``;
    each DAG-body clone has its own budget, and a clone that loops fails only its item."""

    @node("gate", outputs=("next", "loop"))
    async def gate(state: Doc, ctx: NodeContext[Any]) -> str:
        return "loop" if state.get_metadata("item") == "looper" else "next"

    dispatcher = Dagonizer(max_steps=3)
    register(
        dispatcher,
        DAGBuilder("item-flow")
        .node("i1", gate, {"next": "i2", "loop": "i1"})
        .node("i2", recorder.node("i2"), {"done": "i3"})
        .node("i3", recorder.node("i3"), {"done": None}),
    )
    builder = DAGBuilder("parent").parallel(
        "par", ["m1", "m2", "m3", "m4"], "collect", {"success": "s"}
    )
    for member in ("m1", "m2", "m3", "m4"):
        builder.node(member, recorder.node(member), {"done": None})
    builder.scatter(
        "s",
        dag="item-flow",
        source="metadata.items",
        concurrency=1,
        routes={"all-success": "end", "partial": "end", "all-error": None, "empty": None},
    ).terminal("end")
    state = Doc()
    state.set_metadata("items", ["a", "b", "looper"])
    result = await run(builder, state, dispatcher)

    # Three placements at the top (par, s, end) and three in each clone: all fit in 3.
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert result.executed_nodes == ["par", "s", "end"]
    # Members start in scheduler order; clones one at a time (concurrency 1).
    assert sorted(recorder.started[:4]) == ["m1", "m2", "m3", "m4"]
    assert recorder.started[4:] == ["i2", "i3", "i2", "i3"]
    (record,) = state.errors
    assert record.code == "ExecutionError"
    assert "max_steps=3" in record.message
    assert (record.item_index, tuple(record.placement_path)) == (2, ("s", "i1"))


# -- parallel ---------------------------------------------------------------------------


def parallel_flow(recorder, combine: str, members: dict[str, Any]) -> DAGBuilder:
    """``par`` running ``members`` (name → node) then routing to ``ok`` / ``bad``."""
    routes = {"success": "ok"} if combine == "collect" else {"success": "ok", "error": "bad"}
    builder = DAGBuilder("flow").parallel("par", list(members), combine, routes)
    for name, member in members.items():
        builder.node(name, member, dict.fromkeys(member.outputs))
    return builder.node("ok", recorder.node("ok"), {"done": None}).node(
        "bad", recorder.node("bad"), {"done": None}
    )


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [(("success", "success"), "ok"), (("success", "error"), "bad"), (("error", "error"), "bad")],
)
async def test_parallel_all_success(recorder, outputs: tuple[str, str], expected: str) -> None:
    """``all-success`` routes ``success`` only when every member's output is ``success``."""
    members = {
        f"m{i}": recorder.node(f"m{i}", out, outputs=("success", "error"))
        for i, out in enumerate(outputs)
    }
    result = await run(parallel_flow(recorder, "all-success", members))
    assert result.executed_nodes == ["par", expected]


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [(("success", "success"), "ok"), (("success", "error"), "ok"), (("error", "error"), "bad")],
)
async def test_parallel_any_success(recorder, outputs: tuple[str, str], expected: str) -> None:
    """``any-success`` routes ``success`` when at least one member's output is ``success``."""
    members = {
        f"m{i}": recorder.node(f"m{i}", out, outputs=("success", "error"))
        for i, out in enumerate(outputs)
    }
    result = await run(parallel_flow(recorder, "any-success", members))
    assert result.executed_nodes == ["par", expected]


async def test_parallel_collect_records_each_members_output(recorder) -> None:
    """``collect`` maps member → output in ``metadata["parallel_outputs"]``; routes ``success``."""
    members = {
        "fetch": recorder.node("fetch", "cached", outputs=("cached", "fresh")),
        "score": recorder.node("score", "high", outputs=("high", "low")),
    }
    doc = Doc()
    doc.set_metadata("parallel_outputs", {"stale": "value"})
    result = await run(parallel_flow(recorder, "collect", members), doc)
    assert result.executed_nodes == ["par", "ok"]
    assert doc.get_metadata("parallel_outputs") == {"fetch": "cached", "score": "high"}


async def test_parallel_members_run_concurrently(recorder, autojump_clock: trio.abc.Clock) -> None:
    """Members overlap: the parallel placement takes as long as its slowest member."""
    members = {
        "slow": recorder.node("slow", "success", outputs=("success", "error"), delay=3),
        "fast": recorder.node("fast", "success", outputs=("success", "error"), delay=1),
        "mid": recorder.node("mid", "success", outputs=("success", "error"), delay=2),
    }
    with trio.fail_after(60):
        start = trio.current_time()
        await run(parallel_flow(recorder, "all-success", members))
    assert sorted(recorder.timetable(start)) == sorted(
        [
            ("start", "slow", 0),
            ("start", "fast", 0),
            ("start", "mid", 0),
            ("end", "fast", 1),
            ("end", "mid", 2),
            ("end", "slow", 3),
            ("start", "ok", 3),
            ("end", "ok", 3),
        ]
    )
    assert trio.current_time() - start == 3


@given(st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=6))
def test_parallel_takes_as_long_as_its_slowest_member(delays: list[int]) -> None:
    """For any delay table, every member starts at once and the placement ends at the max delay."""
    timetable: dict[str, tuple[float, float]] = {}

    def member(name: str, delay: int) -> Any:
        @node(name, outputs=("success",))
        async def body(state: Doc, ctx: NodeContext[Any]) -> str:
            started = trio.current_time()
            await trio.sleep(delay)
            timetable[name] = (started, trio.current_time())
            return "success"

        return body

    builder = DAGBuilder("flow").parallel(
        "par",
        [f"m{i}" for i in range(len(delays))],
        "all-success",
        {"success": None, "error": None},
    )
    for i, delay in enumerate(delays):
        builder.node(f"m{i}", member(f"m{i}", delay), {"success": None})

    async def main() -> tuple[float, float]:
        with trio.fail_after(60):
            start = trio.current_time()
            await run(builder)
            return start, trio.current_time()

    start, end = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert end - start == max(delays)
    assert timetable == {f"m{i}": (start, start + delay) for i, delay in enumerate(delays)}


@pytest.mark.parametrize(
    ("combine", "routed"), [("any-success", "ok"), ("all-success", "bad"), ("collect", "ok")]
)
async def test_a_raising_member_does_not_cancel_its_siblings(
    recorder, autojump_clock: trio.abc.Clock, combine: str, routed: str
) -> None:
    """A member that raises counts as not-success (all-success routes ``error``, collect
    records ``None``); the others finish; the error is recorded."""
    members = {
        "boom": recorder.node(
            "boom", "success", outputs=("success", "error"), delay=1, raises=KeyError("k")
        ),
        "steady": recorder.node("steady", "success", outputs=("success", "error"), delay=5),
    }
    with trio.fail_after(60):
        start = trio.current_time()
        doc = Doc()
        result = await run(parallel_flow(recorder, combine, members), doc)
    assert ("end", "steady", 5) in recorder.timetable(start)
    assert ("end", "boom", 1) not in recorder.timetable(start)
    assert trio.current_time() - start == 5
    assert result.executed_nodes == ["par", routed]
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    if combine == "collect":
        assert doc.get_metadata("parallel_outputs") == {"boom": None, "steady": "success"}
    (record,) = doc.errors
    assert record.code == "KeyError"
    assert tuple(record.placement_path) == ("par", "boom")


async def test_parallel_members_share_the_state() -> None:
    """Members run on the same state object, not on clones."""

    @node("left", outputs=("success",))
    async def left(state: Doc, ctx: NodeContext[Any]) -> str:
        state.notes.append("left")
        return "success"

    @node("right", outputs=("success",))
    async def right(state: Doc, ctx: NodeContext[Any]) -> str:
        state.notes.append("right")
        return "success"

    doc = Doc()
    await run(
        DAGBuilder("flow")
        .parallel("par", ["l", "r"], "all-success", {"success": None, "error": None})
        .node("l", left, {"success": None})
        .node("r", right, {"success": None}),
        doc,
    )
    assert sorted(doc.notes) == ["left", "right"]


# -- phases -----------------------------------------------------------------------------


async def test_phases_run_around_the_flow(recorder) -> None:
    """Pre phases run before the first placement, post phases after the last; both are listed."""
    result = await run(
        DAGBuilder("flow")
        .phase("setup", recorder.node("setup"), "pre")
        .node("a", recorder.node("a"), {"done": "end"})
        .terminal("end")
        .phase("teardown", recorder.node("teardown"), "post")
    )
    assert recorder.started == ["setup", "a", "teardown"]
    assert result.executed_nodes == ["setup", "a", "end", "teardown"]
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED


async def test_failing_pre_phase_ends_failed_on_the_entrypoint(recorder) -> None:
    """A pre phase that raises ends the run failed, cursor on where it would have started."""
    result = await run(
        DAGBuilder("flow")
        .phase("setup", recorder.node("setup", raises=OSError("no db")), "pre")
        .node("a", recorder.node("a"), {"done": None})
    )
    assert recorder.started == ["setup"]
    assert result.state.lifecycle.variant is LifecycleVariant.FAILED
    assert result.cursor == "a"
    assert [r.code for r in result.state.errors] == ["OSError"]


@pytest.mark.parametrize("ending", ["completed", "failed-terminal", "raise", "pre-fails"])
async def test_post_phase_runs_on_every_exit(recorder, ending: str) -> None:
    """The post phase runs whether the flow completed, ended failed, or a node raised."""
    builder = DAGBuilder("flow")
    if ending == "pre-fails":
        builder.phase("setup", recorder.node("setup", raises=RuntimeError("x")), "pre")
    raises = RuntimeError("x") if ending == "raise" else None
    target = "bad" if ending == "failed-terminal" else None
    builder.node("a", recorder.node("a", raises=raises), {"done": target}).terminal("bad", "failed")
    builder.phase("teardown", recorder.node("teardown"), "post")
    await run(builder)
    assert recorder.started[-1] == "teardown"
    assert recorder.started.count("teardown") == 1


async def test_failing_post_phase_becomes_a_warning(recorder) -> None:
    """A post phase that raises leaves the run completed and adds a warning, not an error."""
    result = await run(
        DAGBuilder("flow")
        .node("a", recorder.node("a"), {"done": None})
        .phase("teardown", recorder.node("teardown", raises=RuntimeError("cleanup failed")), "post")
    )
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert result.state.errors == []
    assert [w.code for w in result.state.warnings] == ["RuntimeError"]
    assert "cleanup failed" in result.state.warnings[0].message


async def test_post_phase_is_bounded_by_post_phase_timeout(
    recorder, autojump_clock: trio.abc.Clock
) -> None:
    """A post phase running past ``post_phase_timeout`` is stopped; that failure is a warning."""
    dispatcher = Dagonizer(post_phase_timeout=1.5)
    with trio.fail_after(60):
        start = trio.current_time()
        result = await run(
            DAGBuilder("flow")
            .node("a", recorder.node("a"), {"done": None})
            .phase("teardown", recorder.node("teardown", delay=10), "post"),
            Doc(),
            dispatcher,
        )
    assert trio.current_time() - start == 1.5
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert result.state.errors == []
    (warning,) = result.state.warnings
    assert "teardown" in warning.message


# -- hooks ------------------------------------------------------------------------------


class Watcher(Dagonizer[Any, Any]):
    """Records every hook call."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: list[tuple[Any, ...]] = []

    def on_flow_start(self, dag_name: str, state: Any) -> None:
        self.calls.append(("flow_start", dag_name))

    def on_flow_end(self, dag_name: str, state: Any, result: ExecutionResult[Any]) -> None:
        self.calls.append(("flow_end", dag_name, result.state.lifecycle.variant))

    def on_node_start(self, node_name: str, state: Any, placement_path: tuple[str, ...]) -> None:
        self.calls.append(("node_start", node_name, tuple(placement_path)))

    def on_node_end(
        self, node_name: str, output: str | None, state: Any, placement_path: tuple[str, ...]
    ) -> None:
        self.calls.append(("node_end", node_name, output, tuple(placement_path)))

    def on_error(
        self, node_name: str, error: ErrorRecord, state: Any, placement_path: tuple[str, ...]
    ) -> None:
        self.calls.append(("error", node_name, error.code, tuple(placement_path)))


async def test_hooks_fire_at_every_depth_with_paths(recorder) -> None:
    """Flow hooks fire for the top-level run only; node hooks for each placement at any depth."""
    watcher = Watcher()
    register(watcher, DAGBuilder("child").node("c1", recorder.node("c1"), {"done": None}))
    result = await run(
        DAGBuilder("parent")
        .node("a", recorder.node("a"), {"done": "emb"})
        .embedded_dag("emb", "child", {"success": None, "error": None}),
        Doc(),
        watcher,
    )
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert watcher.calls == [
        ("flow_start", "parent"),
        ("node_start", "a", ("a",)),
        ("node_end", "a", "done", ("a",)),
        ("node_start", "emb", ("emb",)),
        ("node_start", "c1", ("emb", "c1")),
        ("node_end", "c1", "done", ("emb", "c1")),
        ("node_end", "emb", "success", ("emb",)),
        ("flow_end", "parent", LifecycleVariant.COMPLETED),
    ]


async def test_on_error_fires_once_per_record(recorder) -> None:
    """``on_error`` sees each error record the run adds exactly once."""
    output = NodeOutput("done", errors=(ValueError("one"), ErrorRecord(code="two", message="2")))
    watcher = Watcher()
    await run(
        DAGBuilder("flow")
        .node("a", recorder.node("a", output), {"done": "b"})
        .node("b", recorder.node("b", raises=RuntimeError("three")), {"done": None}),
        Doc(),
        watcher,
    )
    errors = [call for call in watcher.calls if call[0] == "error"]
    assert errors == [
        ("error", "a", "ValueError", ("a",)),
        ("error", "a", "two", ("a",)),
        ("error", "b", "RuntimeError", ("b",)),
    ]


async def test_on_error_fires_once_for_a_child_error_copied_to_the_parent(recorder) -> None:
    """A child's error copied onto the parent is still one record, reported once."""
    watcher = Watcher()
    register(
        watcher,
        DAGBuilder("child").node(
            "c1", recorder.node("c1", raises=RuntimeError("x")), {"done": None}
        ),
    )
    doc = Doc()
    await run(
        DAGBuilder("parent").embedded_dag("emb", "child", {"success": None, "error": None}),
        doc,
        watcher,
    )
    assert [call for call in watcher.calls if call[0] == "error"] == [
        ("error", "c1", "RuntimeError", ("emb", "c1"))
    ]
    assert len(doc.errors) == 1


async def test_a_hook_that_raises_becomes_a_warning(recorder) -> None:
    """An exception in a hook never stops the run; it is recorded as a warning."""

    class Faulty(Dagonizer[Any, Any]):
        def on_node_start(
            self, node_name: str, state: Any, placement_path: tuple[str, ...]
        ) -> None:
            raise LookupError("hook broke")

        def on_flow_end(self, dag_name: str, state: Any, result: ExecutionResult[Any]) -> None:
            raise ArithmeticError("end hook broke")

    doc = Doc()
    result = await run(
        DAGBuilder("flow")
        .node("a", recorder.node("a"), {"done": "b"})
        .node("b", recorder.node("b"), {"done": None}),
        doc,
        Faulty(),
    )
    assert recorder.started == ["a", "b"]
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert doc.errors == []
    assert [w.code for w in doc.warnings] == ["LookupError", "LookupError", "ArithmeticError"]
