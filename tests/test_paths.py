"""Dotted paths (DESIGN.md "DAGs and placements", embedded ``inputs`` / ``outputs``).

Each segment is an attribute, or a key inside a mapping; ``metadata.x`` is
``state.metadata["x"]``. A missing segment fails the placement with a
``ValidationError`` naming placement and path; containers are never created.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from dagon_actors import (
    DAGBuilder,
    Dagonizer,
    LifecycleVariant,
    NodeContext,
    NodeStateBase,
    ValidationError,
    node,
)
from dagon_actors._paths import PathError, get_path, set_path


@attrs.define
class Inner:
    """A plain attrs object inside a state."""

    value: int = 0
    table: dict[str, Any] = attrs.Factory(dict)


@attrs.define
class Doc(NodeStateBase):
    """A state with nested attributes and mappings."""

    title: str = ""
    inner: Inner = attrs.Factory(Inner)
    table: dict[str, Any] = attrs.Factory(dict)


# -- the path functions ---------------------------------------------------------------


def test_segments_are_attributes_or_mapping_keys() -> None:
    """A path walks attributes and mapping keys alike, at any depth."""
    doc = Doc(inner=Inner(value=3, table={"k": {"deep": [1]}}))
    doc.set_metadata("x", {"y": 2})
    assert get_path(doc, "inner.value") == 3
    assert get_path(doc, "inner.table.k.deep") == [1]
    assert get_path(doc, "metadata.x") == {"y": 2}
    assert get_path(doc, "metadata.x.y") == 2


def test_set_writes_attributes_and_mapping_keys() -> None:
    """Writing sets an existing attribute, or a key (new or not) of an existing mapping."""
    doc = Doc()
    set_path(doc, "inner.value", 9)
    set_path(doc, "metadata.fresh", "new key")
    set_path(doc, "table.k", 1)
    assert doc.inner.value == 9
    assert doc.metadata == {"fresh": "new key"}
    assert doc.table == {"k": 1}


@pytest.mark.parametrize("path", ["missing", "inner.missing", "metadata.absent", "inner.table.k"])
def test_reading_a_missing_segment_fails(path: str) -> None:
    """A segment that does not exist is an error, never a default."""
    with pytest.raises(PathError):
        get_path(Doc(), path)


@pytest.mark.parametrize("path", ["metadata.absent.key", "table.a.b", "missing", "inner.missing"])
def test_writing_never_creates_containers_or_attributes(path: str) -> None:
    """Writing below a missing container, or to a missing attribute, fails and changes nothing."""
    doc = Doc()
    with pytest.raises(PathError):
        set_path(doc, path, 1)
    assert doc == Doc()


@pytest.mark.parametrize("path", ["", "a..b", ".a", "a."])
def test_empty_segments_are_refused(path: str) -> None:
    """A path with an empty segment is malformed."""
    with pytest.raises(PathError):
        get_path(Doc(), path)


# -- paths in embedded placements -----------------------------------------------------


@node("shout", outputs=("done",))
async def shout(state: Doc, ctx: NodeContext[Any]) -> str:
    """Upper-cases the title and records what it saw in metadata."""
    state.title = state.title.upper()
    state.set_metadata("seen", state.get_metadata("question"))
    return "done"


def dispatcher_with(**embedded: Any) -> Dagonizer[Doc, None]:
    """A dispatcher with DAG ``child`` (runs ``shout``) and ``parent`` embedding it."""
    dispatcher: Dagonizer[Doc, None] = Dagonizer()
    dispatcher.register_dag(DAGBuilder("child").node("c1", shout, {"done": None}).build())
    dispatcher.register_dag(
        DAGBuilder("parent")
        .embedded_dag("emb", "child", {"success": None, "error": None}, **embedded)
        .build()
    )
    return dispatcher


async def test_inputs_and_outputs_follow_dotted_paths() -> None:
    """``metadata.x`` and nested segments are read from and written to the right places."""
    dispatcher = dispatcher_with(
        inputs={"title": "inner.table.name", "metadata.question": "metadata.q"},
        outputs={"table.answer": "title", "metadata.echo": "metadata.seen"},
    )
    doc = Doc(inner=Inner(table={"name": "hello"}))
    doc.set_metadata("q", "why?")
    result = await dispatcher.execute("parent", doc)
    assert result.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert doc.table == {"answer": "HELLO"}
    assert doc.get_metadata("echo") == "why?"
    assert doc.title == ""


@pytest.mark.parametrize(
    ("mapping", "path"),
    [
        ({"inputs": {"title": "inner.nothing"}}, "inner.nothing"),
        ({"inputs": {"nowhere.title": "title"}}, "nowhere.title"),
        ({"outputs": {"metadata.deep.answer": "title"}}, "metadata.deep.answer"),
        ({"outputs": {"title": "metadata.never"}}, "metadata.never"),
    ],
    ids=["input-source", "input-destination", "output-destination", "output-source"],
)
async def test_a_missing_segment_fails_the_placement(mapping: dict[str, Any], path: str) -> None:
    """A missing path fails the embedded placement with a ValidationError record naming both."""
    dispatcher = dispatcher_with(**mapping)
    doc = Doc()
    result = await dispatcher.execute("parent", doc)
    assert result.state.lifecycle.variant is LifecycleVariant.FAILED
    assert result.cursor == "emb"
    (record,) = [r for r in doc.errors if r.code == "ValidationError"]
    assert isinstance(record.exception, ValidationError)
    assert "emb" in record.message
    assert path in record.message
    assert "deep" not in doc.metadata
