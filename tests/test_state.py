"""Flow state: NodeStateBase, its lifecycle, clone, snapshot and restore (DESIGN.md "State")."""

from __future__ import annotations

import datetime
import json
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from dagon_actors import (
    CheckpointError,
    DAGBuilder,
    DAGError,
    Dagonizer,
    ErrorRecord,
    LifecycleVariant,
    NodeContext,
    NodeStateBase,
    node,
    transient,
)
from dagon_actors._state import RESUME_KEY


@attrs.define
class Doc(NodeStateBase):
    """A domain state with typed fields, all with defaults."""

    title: str = "untitled"
    count: int = 0
    tags: list[str] = attrs.Factory(list)
    scores: dict[str, float] = attrs.Factory(dict)
    parent: str | None = None


@attrs.define
class Needy(NodeStateBase):
    """A state whose field has no default."""

    name: str


@attrs.define
class Streaming(NodeStateBase):
    """A state holding live objects in transient fields (both spellings)."""

    seen: int = 0
    # transient() returns an attrs field, as attrs.field() does (RUF009 cannot know).
    source: AsyncIterator[int] | None = transient()
    handle: Any = attrs.field(default=None, metadata={"transient": True})


def timestamps(state: NodeStateBase) -> list[Any]:
    """Every lifecycle value other than the variant (the timestamps)."""
    values = attrs.asdict(state.lifecycle, recurse=False)
    del values["variant"]
    return list(values.values())


def replace_key(data: Any, key: str, value: Any) -> bool:
    """Set every ``key`` inside nested ``data`` to ``value``; True if one was found."""
    found = False
    if isinstance(data, dict):
        for name in list(data):
            if name == key:
                data[name] = value
                found = True
            else:
                found = replace_key(data[name], key, value) or found
    elif isinstance(data, list):
        for item in data:
            found = replace_key(item, key, value) or found
    return found


# -- construction ------------------------------------------------------------------------


def test_base_builds_outside_trio() -> None:
    """``NodeStateBase()`` needs no running Trio: it is pending and has no timestamps."""
    state = NodeStateBase()
    assert state.lifecycle.variant is LifecycleVariant.PENDING
    assert timestamps(state) == [None] * len(timestamps(state))
    assert state.errors == []
    assert state.warnings == []
    assert state.metadata == {}


def test_subclass_with_attrs_define_and_typed_fields() -> None:
    """Domain states are ordinary attrs subclasses; fields without defaults are allowed."""
    doc = Doc(title="t", count=2)
    assert (doc.title, doc.count, doc.tags) == ("t", 2, [])
    assert doc.lifecycle.variant is LifecycleVariant.PENDING
    assert Needy(name="x").name == "x"


def test_lifecycle_variants() -> None:
    """``LifecycleVariant`` is a str enum of the six variants."""
    assert [v.value for v in LifecycleVariant] == [
        "pending",
        "running",
        "completed",
        "failed",
        "cancelled",
        "timed_out",
    ]
    assert LifecycleVariant.TIMED_OUT == "timed_out"
    assert isinstance(LifecycleVariant.COMPLETED, str)


# -- metadata ----------------------------------------------------------------------------


def test_get_and_set_metadata() -> None:
    """``set_metadata`` writes ``metadata[key]``; ``get_metadata`` reads it or a default."""
    state = NodeStateBase()
    assert state.get_metadata("missing") is None
    assert state.get_metadata("missing", 7) == 7
    state.set_metadata("k", [1])
    assert state.get_metadata("k") == [1]
    assert state.metadata == {"k": [1]}


# -- clone -------------------------------------------------------------------------------


def test_clone_starts_from_defaults() -> None:
    """A clone is the same class with domain fields at their defaults, not the parent's values."""
    doc = Doc(title="t", count=5, tags=["x"])
    fresh = doc.clone()
    assert type(fresh) is Doc
    assert (fresh.title, fresh.count, fresh.tags) == ("untitled", 0, [])


def test_clone_deep_copies_metadata() -> None:
    """A clone's metadata equals the parent's but shares no mutable value with it."""
    doc = Doc()
    doc.set_metadata("nested", {"list": [1, 2]})
    fresh = doc.clone()
    assert fresh.metadata == {"nested": {"list": [1, 2]}}
    fresh.metadata["nested"]["list"].append(3)
    assert doc.metadata == {"nested": {"list": [1, 2]}}


async def test_clone_is_pending_without_errors_or_warnings() -> None:
    """A clone of a finished state with records is pending, with no errors or warnings."""
    doc = Doc()
    doc.lifecycle.start(trio.current_time())
    doc.lifecycle.finish(LifecycleVariant.FAILED, trio.current_time())
    doc.errors.append(ErrorRecord(code="E", message="m"))
    doc.warnings.append(ErrorRecord(code="W", message="m"))
    fresh = doc.clone()
    assert fresh.lifecycle.variant is LifecycleVariant.PENDING
    assert fresh.errors == []
    assert fresh.warnings == []


def test_clone_of_a_class_without_defaults_says_why() -> None:
    """Cloning a state whose fields lack defaults fails clearly, naming the class and ``clone``."""
    with pytest.raises(DAGError, match=r"Needy.*clone|clone.*Needy"):
        Needy(name="x").clone()


def test_clone_can_be_overridden() -> None:
    """A state class without defaults overrides ``clone`` to say how to build one."""

    @attrs.define
    class Named(NodeStateBase):
        name: str

        def clone(self) -> Named:
            fresh = Named(name=self.name)
            fresh.metadata = dict(self.metadata)
            return fresh

    assert Named(name="x").clone().name == "x"


# -- snapshot / restore ---------------------------------------------------------------


def test_snapshot_is_plain_json_with_fields_and_metadata() -> None:
    """A snapshot is JSON data holding the domain fields and the metadata."""
    doc = Doc(title="report", count=3, tags=["a", "b"], scores={"x": 1.5})
    doc.set_metadata("source", {"page": 10})
    snapshot = doc.snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot
    text = json.dumps(snapshot)
    for expected in ("report", "source", '"page": 10', '"a"', "1.5"):
        assert expected in text


async def test_snapshot_leaves_out_errors_warnings_and_lifecycle() -> None:
    """Records and the lifecycle of the run are not part of a snapshot."""
    doc = Doc()
    doc.lifecycle.start(trio.current_time())
    doc.lifecycle.finish(LifecycleVariant.CANCELLED, trio.current_time())
    doc.errors.append(ErrorRecord(code="SecretError", message="error-text"))
    doc.warnings.append(ErrorRecord(code="SecretWarning", message="warning-text"))
    text = json.dumps(doc.snapshot())
    for absent in ("SecretError", "error-text", "SecretWarning", "warning-text", "cancelled"):
        assert absent not in text


async def test_restore_gives_a_pending_state_of_the_class_it_is_called_on() -> None:
    """``Cls.restore(snapshot)`` is a pending ``Cls`` with the fields and metadata, no records."""
    doc = Doc(title="report", count=3, tags=["a"], scores={"x": 0.5}, parent="p")
    doc.set_metadata("k", [1, {"v": None}])
    doc.lifecycle.start(trio.current_time())
    doc.errors.append(ErrorRecord(code="E", message="m"))
    restored = Doc.restore(doc.snapshot())
    assert type(restored) is Doc
    assert restored.lifecycle.variant is LifecycleVariant.PENDING
    assert timestamps(restored) == [None] * len(timestamps(restored))
    assert restored.errors == []
    assert restored.warnings == []
    assert attrs.evolve(doc, lifecycle=restored.lifecycle, errors=[]) == restored


def test_restore_shares_nothing_with_the_snapshot() -> None:
    """Mutating the restored state leaves the snapshot it came from unchanged."""
    doc = Doc(tags=["a"])
    doc.set_metadata("k", [1])
    snapshot = doc.snapshot()
    restored = Doc.restore(snapshot)
    restored.tags.append("b")
    restored.metadata["k"].append(2)
    assert Doc.restore(snapshot) == doc


async def test_transient_fields_are_left_out_and_restored_to_defaults() -> None:
    """Both transient spellings keep live objects out of snapshots; restore gives defaults."""

    async def numbers() -> AsyncIterator[int]:
        yield 1

    source = numbers()
    state = Streaming(seen=4, source=source, handle=object())
    snapshot = state.snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot
    restored = Streaming.restore(snapshot)
    assert (restored.seen, restored.source, restored.handle) == (4, None, None)
    await source.aclose()


def test_transient_helper_keeps_its_default() -> None:
    """``transient(default)`` restores that default."""

    @attrs.define
    class WithDefault(NodeStateBase):
        mode: str = transient("live")

    assert WithDefault.restore(WithDefault(mode="other").snapshot()).mode == "live"


@attrs.define
class AnyField(NodeStateBase):
    """A field typed ``Any``."""

    thing: Any = None


@attrs.define
class ObjectField(NodeStateBase):
    """A field typed ``object``."""

    thing: object = None


@attrs.define
class SetField(NodeStateBase):
    """A field of a type JSON lacks."""

    thing: set[int] = attrs.Factory(set)


@attrs.define
class DateField(NodeStateBase):
    """A field cattrs leaves as a Python object."""

    thing: datetime.datetime | None = None


@attrs.define
class FloatField(NodeStateBase):
    """A float field."""

    thing: float = 0.0


@pytest.mark.parametrize(
    "state",
    [
        AnyField(thing=object()),
        ObjectField(thing=object()),
        SetField(thing={1}),
        DateField(thing=datetime.datetime(2024, 1, 1)),
        FloatField(thing=float("nan")),
    ],
    ids=["any-object", "object-field", "set", "datetime", "nan"],
)
def test_a_field_that_cannot_be_data_is_a_checkpoint_error(state: NodeStateBase) -> None:
    """A non-transient field whose value is not JSON data fails the snapshot, naming the field."""
    with pytest.raises(CheckpointError, match="thing"):
        state.snapshot()


def test_metadata_that_cannot_be_data_is_a_checkpoint_error() -> None:
    """A metadata value that is not JSON data fails the snapshot, naming the key."""
    state = NodeStateBase()
    state.set_metadata("handle", object())
    with pytest.raises(CheckpointError, match="handle"):
        state.snapshot()


def test_restore_does_not_coerce() -> None:
    """``"3"`` for an int field is refused with a CheckpointError naming the field."""
    snapshot = Doc(count=3).snapshot()
    assert replace_key(snapshot, "count", "3")
    with pytest.raises(CheckpointError, match="count"):
        Doc.restore(snapshot)


@pytest.mark.parametrize(
    ("key", "bad"),
    [("title", 5), ("tags", "abc"), ("scores", {"x": "high"}), ("parent", 1.5)],
)
def test_restore_refuses_wrong_types(key: str, bad: Any) -> None:
    """A value of the wrong type is a CheckpointError naming the field."""
    snapshot = Doc().snapshot()
    assert replace_key(snapshot, key, bad)
    with pytest.raises(CheckpointError, match=key):
        Doc.restore(snapshot)


def test_restore_refuses_an_unknown_field() -> None:
    """A snapshot holding a field the class lacks is refused, naming that field."""

    @attrs.define
    class Smaller(NodeStateBase):
        title: str = "untitled"

    snapshot = Doc().snapshot()
    assert replace_key(snapshot, "count", 3)
    with pytest.raises(CheckpointError, match="count"):
        Smaller.restore(snapshot)


def test_restore_refuses_a_missing_field_without_default() -> None:
    """A snapshot lacking a field the class cannot default is refused, naming it."""
    snapshot = Doc().snapshot()

    @attrs.define
    class Bigger(NodeStateBase):
        title: str = "untitled"
        count: int = 0
        tags: list[str] = attrs.Factory(list)
        scores: dict[str, float] = attrs.Factory(dict)
        parent: str | None = None
        owner: str = attrs.field(kw_only=True)

    with pytest.raises(CheckpointError, match="owner"):
        Bigger.restore(snapshot)


values = {
    "title": st.text(),
    "count": st.integers(),
    "tags": st.lists(st.text(), max_size=4),
    "scores": st.dictionaries(st.text(), st.floats(allow_nan=False, allow_infinity=False)),
    "parent": st.none() | st.text(),
}
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3)
    ),
    max_leaves=10,
)


user_keys = st.text().filter(lambda key: key != RESUME_KEY)


@given(st.fixed_dictionaries(values), st.dictionaries(user_keys, json_values, max_size=4))
def test_snapshot_round_trip(fields: dict[str, Any], metadata: dict[str, Any]) -> None:
    """``restore(snapshot())`` gives back an equal pending state, through JSON text."""
    doc = Doc(**fields)
    doc.metadata.update(metadata)
    text = json.dumps(doc.snapshot())
    assert Doc.restore(json.loads(text)) == doc


def test_snapshot_refuses_the_reserved_metadata_key() -> None:
    """User metadata under the engine's resume key is refused, not silently misread."""
    doc = Doc()
    doc.set_metadata(RESUME_KEY, {"mine": True})
    with pytest.raises(CheckpointError, match="reserved") as info:
        doc.snapshot()
    assert info.value.field == f"metadata.{RESUME_KEY}"


# -- lifecycle in runs ------------------------------------------------------------------


async def test_lifecycle_transitions_and_timestamps(autojump_clock: trio.abc.Clock) -> None:
    """A run moves pending → running → completed, stamping Trio time at start and end."""
    seen: list[LifecycleVariant] = []

    @node("work", outputs=("done",))
    async def work(state: Doc, ctx: NodeContext[Any]) -> str:
        seen.append(state.lifecycle.variant)
        await trio.sleep(5)
        return "done"

    dispatcher = Dagonizer()
    dispatcher.register_dag(DAGBuilder("flow").node("work", work, {"done": None}).build())
    doc = Doc()
    start = trio.current_time()
    await dispatcher.execute("flow", doc)
    assert seen == [LifecycleVariant.RUNNING]
    assert doc.lifecycle.variant is LifecycleVariant.COMPLETED
    assert sorted(timestamps(doc)) == [start, start + 5]


async def test_terminal_variants_are_sticky_within_a_run() -> None:
    """Once a run has ended one way, a later end in the same run does not change it."""
    state = NodeStateBase()
    state.lifecycle.start(trio.current_time())
    state.lifecycle.finish(LifecycleVariant.CANCELLED, trio.current_time())
    state.lifecycle.finish(LifecycleVariant.COMPLETED, trio.current_time())
    assert state.lifecycle.variant is LifecycleVariant.CANCELLED


async def test_each_run_starts_afresh() -> None:
    """A state that ended failed runs again from pending to running to completed."""
    attempts: list[LifecycleVariant] = []

    @node("flaky", outputs=("done",))
    async def flaky(state: Doc, ctx: NodeContext[Any]) -> str:
        attempts.append(state.lifecycle.variant)
        if len(attempts) == 1:
            raise RuntimeError("first time fails")
        return "done"

    dispatcher = Dagonizer()
    dispatcher.register_dag(DAGBuilder("flow").node("flaky", flaky, {"done": None}).build())
    doc = Doc()
    first = await dispatcher.execute("flow", doc)
    assert first.state.lifecycle.variant is LifecycleVariant.FAILED
    second = await dispatcher.execute("flow", doc)
    assert second.state.lifecycle.variant is LifecycleVariant.COMPLETED
    assert attempts == [LifecycleVariant.RUNNING, LifecycleVariant.RUNNING]
