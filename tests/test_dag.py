"""The DAG as data: ``to_dict`` and ``DAG.from_dict`` (DESIGN.md "DAGs and placements")."""

from __future__ import annotations

import copy
import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dagon_actors import DAG, DAGBuilder, Gather, NodeStateBase, ValidationError, node

AGGREGATE = {"all-success": "end", "partial": "end", "all-error": None, "empty": None}


@node("classify", outputs=("on_topic", "off_topic"))
async def classify(state: NodeStateBase, ctx: object) -> str:
    """Routes on topic."""
    return "on_topic"


@node("respond", outputs=("success",))
async def respond(state: NodeStateBase, ctx: object) -> str:
    """Always ``success``."""
    return "success"


def every_kind() -> DAG:
    """A DAG using every placement kind and option that is data."""
    return (
        DAGBuilder("every-kind", "2.1")
        .phase("setup", respond, "pre")
        .node("classify", classify, {"on_topic": "emb", "off_topic": "par"})
        .embedded_dag(
            "emb",
            "child",
            {"success": "fan", "error": "failed"},
            inputs={"metadata.question": "metadata.topic"},
            outputs={"metadata.answer": "metadata.reply"},
        )
        .scatter(
            "fan",
            respond,
            source="metadata.items",
            routes=AGGREGATE,
            item_key="entry",
            concurrency=3,
            inputs={"metadata.topic": "metadata.topic"},
            gather=Gather.partition({"success": "metadata.good"}, field="metadata.entry"),
            success_outputs=("success", "partly"),
            reorder_window=7,
        )
        .scatter(
            "fan-dag",
            dag="child",
            source="metadata.items",
            routes={"success": "end", "error": "failed"},
            reducer="terminal",
            gather=Gather.map({"metadata.reply": "metadata.replies"}),
        )
        .scatter(
            "fan-append",
            respond,
            source="metadata.items",
            routes=AGGREGATE,
            gather=Gather.append("metadata.all"),
        )
        .node("m1", respond, {"success": None})
        .node("m2", classify, {"on_topic": None, "off_topic": None})
        .parallel("par", ["m1", "m2"], "all-success", {"success": "fan-dag", "error": "fan-append"})
        .terminal("end")
        .terminal("failed", outcome="failed")
        .phase("teardown", respond, "post")
        .build()
    )


def assert_plain_json(value: Any) -> None:
    """``value`` is made only of dicts with str keys, lists, str, int, float, bool and None."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str
            assert_plain_json(item)
    elif isinstance(value, list):
        for item in value:
            assert_plain_json(item)
    else:
        assert value is None or type(value) in (str, int, float, bool), value


# -- to_dict ----------------------------------------------------------------------------


def test_to_dict_is_plain_json() -> None:
    """``to_dict`` gives plain JSON data that ``json`` writes and reads back unchanged."""
    data = every_kind().to_dict()
    assert_plain_json(data)
    assert json.loads(json.dumps(data)) == data


def test_to_dict_carries_format_and_the_dags_version() -> None:
    """``version`` is the DAG's own version; the document format's version is ``format``."""
    data = every_kind().to_dict()
    assert data["version"] == "2.1"
    assert data["name"] == "every-kind"
    assert isinstance(data["format"], int)


def test_to_dict_leaves_node_objects_out() -> None:
    """Node objects never reach the data, only their names."""
    text = json.dumps(every_kind().to_dict())
    assert "function" not in text
    assert "FunctionNode" not in text


def test_custom_gather_cannot_be_written() -> None:
    """A scatter using ``Gather.custom`` makes ``to_dict`` fail, naming the placement."""
    dag = (
        DAGBuilder("flow")
        .scatter(
            "fan",
            respond,
            source="metadata.items",
            routes={"all-success": None, "partial": None, "all-error": None, "empty": None},
            gather=Gather.custom(lambda state, records: None),
        )
        .build()
    )
    with pytest.raises(ValidationError) as info:
        dag.to_dict()
    assert str(info.value).startswith("Invalid DAG:")
    assert "  - flow.fan: " in str(info.value)


# -- from_dict ---------------------------------------------------------------------------


def test_round_trip_of_every_kind() -> None:
    """``DAG.from_dict(dag.to_dict()) == dag`` for every placement kind."""
    dag = every_kind()
    assert DAG.from_dict(dag.to_dict()) == dag
    assert DAG.from_dict(json.loads(json.dumps(dag.to_dict()))) == dag


def test_node_objects_are_not_part_of_equality() -> None:
    """DAGs equal as data are equal whichever node objects (or none) they were built with."""

    @node("respond", outputs=("success",))
    async def lookalike(state: NodeStateBase, ctx: object) -> str:
        return "success"

    with_object = DAGBuilder("flow").node("a", respond, {"success": None}).build()
    with_other = DAGBuilder("flow").node("a", lookalike, {"success": None}).build()
    with_name = DAGBuilder("flow").node("a", "respond", {"success": None}).build()
    assert with_object == with_other == with_name
    assert DAG.from_dict(with_object.to_dict()) == with_object


def test_dag_is_immutable() -> None:
    """A built DAG cannot be changed in place."""
    dag = every_kind()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        dag.name = "other"  # type: ignore[misc]


def bad_document(change: Any) -> list[str]:
    """The finding lines ``from_dict`` reports after ``change`` edits a good document."""
    document = copy.deepcopy(
        DAGBuilder("flow", "1")
        .node("a", respond, {"success": "end"})
        .terminal("end")
        .build()
        .to_dict()
    )
    change(document)
    with pytest.raises(ValidationError) as info:
        DAG.from_dict(document)
    first, *lines = str(info.value).splitlines()
    assert first == "Invalid DAG:"
    assert info.value.dag_name == "flow"
    assert lines
    assert all(line.startswith("  - flow.") for line in lines), lines
    return [line.removeprefix("  - flow.") for line in lines]


def test_from_dict_reports_a_missing_field() -> None:
    """A document without a required field names that field."""
    lines = bad_document(lambda d: d.pop("entrypoint"))
    assert [line.split(":")[0] for line in lines] == ["entrypoint"]


def test_from_dict_reports_a_missing_format() -> None:
    """``format`` is required: a document without it is not silently read as the current one."""
    lines = bad_document(lambda d: d.pop("format"))
    assert any("format" in line for line in lines), lines


def test_from_dict_reports_an_extra_field() -> None:
    """Unknown fields are refused, not ignored."""
    lines = bad_document(lambda d: d.update(colour="blue"))
    assert any("colour" in line for line in lines), lines


def test_from_dict_reports_a_wrong_type() -> None:
    """A field of the wrong type is a finding; nothing is coerced (3 is not "3")."""
    lines = bad_document(lambda d: d.update(version=3))
    assert any(line.startswith("version") for line in lines), lines


def test_from_dict_reports_an_unknown_kind() -> None:
    """A placement of an unknown kind is reported under that placement, naming the kind."""

    def change(document: dict[str, Any]) -> None:
        document["placements"][1]["kind"] = "teleport"

    lines = bad_document(change)
    assert any(line.startswith("end") and ("teleport" in line or "kind" in line) for line in lines)


def test_from_dict_reports_a_wrong_format() -> None:
    """A document of another format version is refused, naming ``format``."""
    lines = bad_document(lambda d: d.update(format=99))
    assert any("format" in line and "99" in line for line in lines), lines


def test_from_dict_lists_every_finding_at_once() -> None:
    """Missing, extra and mistyped fields of one document are all reported together."""

    def change(document: dict[str, Any]) -> None:
        del document["entrypoint"]
        document["colour"] = "blue"
        document["version"] = 3
        del document["placements"][0]["node"]
        document["placements"][1]["junk"] = True

    lines = bad_document(change)
    assert len(lines) == 5, lines
    for where in ("entrypoint", "colour", "version", "a.node", "end.junk"):
        assert any(line.startswith(where) for line in lines), (where, lines)


def test_from_dict_validates_the_graph() -> None:
    """A well-formed document describing an invalid graph is refused like ``build()`` would."""

    def change(document: dict[str, Any]) -> None:
        document["placements"][0]["routes"] = {"success": "nowhere"}

    lines = bad_document(change)
    assert any(line.startswith("a:") and "nowhere" in line for line in lines), lines


# -- property: round trip of generated DAGs ---------------------------------------------

names = st.text(alphabet="abcdefghij-_", min_size=1, max_size=6)
paths = st.lists(names, min_size=1, max_size=3).map(".".join)
gathers = st.one_of(
    st.builds(Gather.partition, st.dictionaries(names, paths, max_size=2), field=st.none() | paths),
    st.builds(Gather.map, st.dictionaries(paths, paths, max_size=2)),
    st.builds(Gather.append, paths, field=st.none() | paths),
    st.just(Gather.discard()),
)
VERDICTS = {
    "aggregate": ("all-success", "partial", "all-error", "empty"),
    "terminal": ("success", "error"),
}


@st.composite
def dags(draw: st.DrawFn) -> DAG:
    """DAGs of every placement kind with every data option, phases included (cycles too).

    Names come from an alphabet without ``p``, so ``par`` and ``ph-*`` never clash.
    """
    placement_names = draw(st.lists(names, min_size=1, max_size=8, unique=True))
    targets = st.sampled_from([*placement_names, None])
    builder = DAGBuilder(draw(names), draw(st.sampled_from(["1", "2", "0.1.0"])))
    singles: list[str] = []
    for name in placement_names:
        kind = draw(st.sampled_from(["node", "node", "embedded", "terminal", "scatter"]))
        if kind == "node":
            outputs = draw(st.lists(names, min_size=1, max_size=3, unique=True))
            builder.node(name, draw(names), {output: draw(targets) for output in outputs})
            singles.append(name)
        elif kind == "embedded":
            builder.embedded_dag(
                name,
                draw(names),
                {"success": draw(targets), "error": draw(targets)},
                inputs=draw(st.dictionaries(paths, paths, max_size=2)),
                outputs=draw(st.dictionaries(paths, paths, max_size=2)),
            )
        elif kind == "scatter":
            reducer = draw(st.sampled_from(sorted(VERDICTS)))
            body = draw(st.sampled_from(["body", "dag"]))
            builder.scatter(
                name,
                draw(names) if body == "body" else None,
                dag=draw(names) if body == "dag" else None,
                source=draw(paths),
                routes={verdict: draw(targets) for verdict in VERDICTS[reducer]},
                item_key=draw(names),
                concurrency=draw(st.none() | st.integers(1, 64)),
                inputs=draw(st.dictionaries(paths, paths, max_size=2)),
                gather=draw(gathers),
                reducer=reducer,
                success_outputs=draw(st.lists(names, min_size=1, max_size=2, unique=True)),
                reorder_window=draw(st.none() | st.integers(1, 256)),
            )
        else:
            builder.terminal(name, draw(st.sampled_from(["completed", "failed"])))
    if singles and draw(st.booleans()):
        combine = draw(st.sampled_from(["all-success", "any-success", "collect"]))
        verdicts = ("success",) if combine == "collect" else ("success", "error")
        builder.parallel(
            "par",
            draw(st.lists(st.sampled_from(singles), min_size=1, unique=True)),
            combine,
            {verdict: draw(targets) for verdict in verdicts},
        )
    for phase_name in draw(st.lists(names, max_size=2, unique=True)):
        builder.phase(f"ph-{phase_name}", draw(names), draw(st.sampled_from(["pre", "post"])))
    builder.entrypoint(draw(st.sampled_from(placement_names)))
    return builder.build()


@given(dags())
def test_round_trip_of_generated_dags(dag: DAG) -> None:
    """Any valid DAG reads back equal from its JSON text."""
    data = dag.to_dict()
    assert_plain_json(data)
    assert DAG.from_dict(json.loads(json.dumps(data))) == dag
