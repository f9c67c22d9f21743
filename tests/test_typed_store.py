"""TypedStore: a fixed schema of keys and value types over a plain store."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import trio

from dagon_actors import MemoryStore, Store, StoreSnapshot, TypedStore
from dagon_actors._errors import StoreError, StoreErrorReason


@attrs.frozen
class Totals:
    done: int
    failed: int = 0
    tags: tuple[str, ...] = ()


SCHEMA: dict[str, object] = {
    "count": int,
    "ratio": float,
    "label": str,
    "maybe": int | None,
    "ids": list[int],
    "totals": Totals,
}


@pytest.fixture
def inner() -> MemoryStore:
    """The plain store under the typed view."""
    return MemoryStore(namespace="typed")


@pytest.fixture
def typed(inner: MemoryStore) -> TypedStore:
    """A typed view with a small schema."""
    return TypedStore(inner, SCHEMA)


# --------------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda t: t.get("nope"), id="get"),
        pytest.param(lambda t: t.set("nope", 1), id="set"),
        pytest.param(lambda t: t.has("nope"), id="has"),
        pytest.param(lambda t: t.delete("nope"), id="delete"),
        pytest.param(lambda t: t.update("nope", lambda v: 1), id="update"),
    ],
)
async def test_unknown_key_refused(typed: TypedStore, inner: Store, call: Any) -> None:
    """A key outside the schema is refused with UNKNOWN_KEY naming it; nothing is written."""
    with pytest.raises(StoreError) as info:
        await call(typed)
    assert info.value.reason is StoreErrorReason.UNKNOWN_KEY
    assert info.value.key == "nope"
    assert "'nope'" in str(info.value)
    assert await inner.keys() == []


# --------------------------------------------------------------------------- types


@pytest.mark.parametrize(
    ("key", "value"),
    [
        pytest.param("count", "3", id="str-for-int"),
        pytest.param("count", 2.7, id="float-for-int"),
        pytest.param("count", True, id="bool-for-int"),
        pytest.param("count", None, id="none-for-int"),
        pytest.param("label", 3, id="int-for-str"),
        pytest.param("maybe", "1", id="str-for-optional-int"),
        pytest.param("ids", (1, 2), id="tuple-for-list"),
        pytest.param("ids", [1, "2"], id="bad-item"),
        pytest.param("totals", {"done": 1}, id="dict-for-attrs-class"),
        pytest.param("totals", Totals(done="1"), id="bad-field"),  # type: ignore[arg-type]
    ],
)
async def test_wrong_type_refused_without_coercion(
    typed: TypedStore, inner: Store, key: str, value: Any
) -> None:
    """A value not of the key's type is refused with WRONG_TYPE naming key and type."""
    await typed.set("count", 1)
    with pytest.raises(StoreError) as info:
        await typed.set(key, value)
    assert info.value.reason is StoreErrorReason.WRONG_TYPE
    assert info.value.key == key
    assert repr(key) in str(info.value)
    assert await inner.keys() == ["count"]
    assert await inner.get("count") == 1


async def test_error_names_type(typed: TypedStore) -> None:
    """The WRONG_TYPE message names the expected type."""
    with pytest.raises(StoreError, match=r"'count'.*int"):
        await typed.set("count", "3")
    with pytest.raises(StoreError, match=r"'ids'.*list\[int\]"):
        await typed.set("ids", ["x"])


async def test_nan_for_float_is_not_serializable(typed: TypedStore) -> None:
    """A NaN fits float but not JSON, so it is refused as NOT_SERIALIZABLE."""
    with pytest.raises(StoreError) as info:
        await typed.set("ratio", float("nan"))
    assert info.value.reason is StoreErrorReason.NOT_SERIALIZABLE


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("count", 3),
        ("ratio", 0.5),
        ("label", "x"),
        ("maybe", None),
        ("maybe", 4),
        ("ids", [1, 2]),
        ("totals", Totals(done=1, failed=2, tags=("a", "b"))),
    ],
)
async def test_values_round_trip_as_their_type(typed: TypedStore, key: str, value: Any) -> None:
    """A well-typed value reads back equal, as the same type."""
    await typed.set(key, value)
    got = await typed.get(key)
    assert got == value
    assert type(got) is type(value)


async def test_int_accepted_for_float_reads_back_as_float(typed: TypedStore) -> None:
    """An int is a valid float (as in typing) and reads back as a float."""
    await typed.set("ratio", 1)
    got = await typed.get("ratio")
    assert got == 1.0
    assert type(got) is float


async def test_attrs_value_stored_as_json(typed: TypedStore, inner: Store) -> None:
    """An attrs instance is stored in its JSON form in the plain store."""
    await typed.set("totals", Totals(done=3, tags=("x",)))
    assert await inner.get("totals") == {"done": 3, "failed": 0, "tags": ["x"]}


async def test_get_missing_returns_default(typed: TypedStore) -> None:
    """A missing schema key reads as the default, unconverted."""
    assert await typed.get("count") is None
    sentinel = object()
    assert await typed.get("totals", sentinel) is sentinel


async def test_wrong_json_under_key_is_wrong_type_on_read(typed: TypedStore, inner: Store) -> None:
    """JSON written around the schema (via .inner) is refused on read, naming key and type."""
    await inner.set("count", "3")
    with pytest.raises(StoreError, match=r"'count'.*int") as info:
        await typed.get("count")
    assert info.value.reason is StoreErrorReason.WRONG_TYPE
    assert info.value.key == "count"


async def test_has_delete_keys(typed: TypedStore) -> None:
    """has, delete and keys behave as on the plain store."""
    await typed.set("label", "x")
    await typed.set("count", 1)
    assert await typed.has("label")
    assert not await typed.has("ratio")
    assert await typed.keys() == ["label", "count"]
    assert await typed.delete("label") is True
    assert await typed.delete("label") is False
    assert await typed.keys() == ["count"]


# --------------------------------------------------------------------------- update


async def test_update_receives_and_returns_typed_values(typed: TypedStore) -> None:
    """fn gets the attrs instance (or None) and returns a new one."""
    assert await typed.update("totals", lambda t: Totals(done=1) if t is None else t) == Totals(1)
    new = await typed.update("totals", lambda t: attrs.evolve(t, done=t.done + 1))
    assert new == Totals(done=2)
    assert await typed.get("totals") == Totals(done=2)


async def test_update_with_async_fn(typed: TypedStore, autojump_clock: trio.abc.Clock) -> None:
    """An async fn works through the typed view too."""
    await typed.set("count", 1)

    async def slow_double(n: int) -> int:
        await trio.sleep(1)
        return n * 2

    with trio.fail_after(10):
        assert await typed.update("count", slow_double) == 2
    assert await typed.get("count") == 2


async def test_update_returning_wrong_type_writes_nothing(typed: TypedStore) -> None:
    """An fn returning the wrong type is refused with WRONG_TYPE; the old value stays."""
    await typed.set("count", 1)
    with pytest.raises(StoreError) as info:
        await typed.update("count", lambda n: str(n))
    assert info.value.reason is StoreErrorReason.WRONG_TYPE
    assert await typed.get("count") == 1


async def test_update_reentry_through_typed_view(typed: TypedStore) -> None:
    """An fn calling the typed view it updates gets REENTRANT, not a deadlock."""
    await typed.set("count", 1)

    async def reenter(n: int) -> int:
        return await typed.get("count")

    with trio.fail_after(5), pytest.raises(StoreError) as info:
        await typed.update("count", reenter)
    assert info.value.reason is StoreErrorReason.REENTRANT


# --------------------------------------------------------------------------- snapshots and inner


async def test_inner_is_the_plain_store(typed: TypedStore, inner: MemoryStore) -> None:
    """.inner is the very store given, usable wherever a Store is wanted."""
    assert typed.inner is inner
    assert isinstance(typed.inner, Store)


async def test_snapshot_restore_round_trip(typed: TypedStore) -> None:
    """A typed view snapshots and restores through its inner store."""
    await typed.set("totals", Totals(done=1))
    snapshot = await typed.snapshot()
    assert snapshot.entries == {"totals": {"done": 1, "failed": 0, "tags": []}}
    await typed.set("totals", Totals(done=9))
    await typed.restore(snapshot)
    assert await typed.get("totals") == Totals(done=1)


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        pytest.param({"count": 1, "nope": 2}, StoreErrorReason.UNKNOWN_KEY, id="unknown-key"),
        pytest.param({"count": "1"}, StoreErrorReason.WRONG_TYPE, id="wrong-type"),
    ],
)
async def test_restore_checks_schema_first(
    typed: TypedStore, entries: dict[str, Any], reason: StoreErrorReason
) -> None:
    """A snapshot that breaks the schema is refused and the store is unchanged."""
    await typed.set("count", 7)
    good = await typed.snapshot()
    bad = StoreSnapshot(version=good.version, type=good.type, entries=entries)
    with pytest.raises(StoreError) as info:
        await typed.restore(bad)
    assert info.value.reason is reason
    assert await typed.get("count") == 7
    assert await typed.keys() == ["count"]


def test_schema_is_read_only(typed: TypedStore) -> None:
    """The schema cannot be changed after construction."""
    with pytest.raises(TypeError):
        typed.schema["extra"] = int  # type: ignore[index]


async def test_check_snapshot_validates_without_restoring(typed: TypedStore) -> None:
    """check_snapshot raises what restore would (inner's checks first) and changes nothing."""
    await typed.set("count", 7)
    good = await typed.snapshot()
    typed.check_snapshot(good)
    wrong_type = StoreSnapshot(version=good.version, type=good.type, entries={"count": "x"})
    with pytest.raises(StoreError) as info:
        typed.check_snapshot(wrong_type)
    assert info.value.reason is StoreErrorReason.WRONG_TYPE
    foreign = StoreSnapshot(version=good.version, type="other", entries={"count": "x"})
    with pytest.raises(StoreError) as info:
        typed.check_snapshot(foreign)
    assert info.value.reason is StoreErrorReason.INCOMPATIBLE_SNAPSHOT
    assert await typed.get("count") == 7
