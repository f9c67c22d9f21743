"""The Store contract: every backend runs this module unchanged.

A backend plugs in through ``BACKENDS`` (a function that makes a fresh
backing and returns an opener, ``open_store(namespace) -> Store``, for stores
on that one backing) and ``ENVELOPES`` (its snapshot type tag and version).
Besides the memory store, ``TextStore`` below stands in for an I/O backend
built from BaseStore's override points. Each backend runs every test in three
layouts:

* ``root``: a store in the root namespace, alone on its backing;
* ``namespaced``: a store in namespace ``"ns"``, alone on its backing;
* ``shared``: a store in ``"ns"`` beside a neighbour in ``"other"`` on the
  same backing, the neighbour holding the same key names the tests use, so
  any leak between namespaces shows.

Race behaviour (interleavings under a mock clock) is in test_store_races.py.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from dagon_actors._codec import CONVERTER
from dagon_actors._errors import StoreError, StoreErrorReason
from dagon_actors._store import (
    BaseStore,
    MemoryBacking,
    MemoryStore,
    Store,
    StoreLock,
    StoreSnapshot,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    Opener = Callable[[str], Store]

# --------------------------------------------------------------------------- backends


def memory_backend() -> Opener:
    """Stores on one fresh in-process backing."""
    backing = MemoryBacking()
    return lambda namespace: MemoryStore(namespace, backing=backing)


class TextStore(BaseStore):
    """A stand-in for an I/O backend, built only from BaseStore's override points.

    Values live as JSON text (as in SQLite or Redis) and every raw call awaits,
    so the contract is also checked where the backend yields while the lock is
    held. Writes are shielded, as the override points require.
    """

    snapshot_type = "test-text"

    def __init__(self, namespace: str, *, rows: dict[str, str], lock: StoreLock) -> None:
        super().__init__(namespace, lock=lock)
        self._rows = rows

    async def _raw_get(self, key: str) -> Any:
        await trio.lowlevel.checkpoint()
        text = self._rows.get(key)
        return self.MISSING if text is None else json.loads(text)

    async def _raw_set(self, key: str, value: Any) -> None:
        text = json.dumps(value)
        with trio.CancelScope(shield=True):
            await trio.lowlevel.checkpoint()
            self._rows[key] = text

    async def _raw_delete(self, key: str) -> bool:
        existed = False
        with trio.CancelScope(shield=True):
            await trio.lowlevel.checkpoint()
            existed = self._rows.pop(key, None) is not None
        return existed

    async def _raw_items(self, prefix: str) -> list[tuple[str, Any]]:
        await trio.lowlevel.checkpoint()
        return [(k, json.loads(v)) for k, v in self._rows.items() if k.startswith(prefix)]

    async def _raw_replace(self, prefix: str, items: list[tuple[str, Any]]) -> None:
        texts = [(key, json.dumps(value)) for key, value in items]
        with trio.CancelScope(shield=True):
            await trio.lowlevel.checkpoint()
            for key in [k for k in self._rows if k.startswith(prefix)]:
                del self._rows[key]
            self._rows.update(texts)


def text_backend() -> Opener:
    """TextStores on one fresh backing (a dict of JSON text and its lock)."""
    rows: dict[str, str] = {}
    lock = StoreLock()
    return lambda namespace: TextStore(namespace, rows=rows, lock=lock)


BACKENDS: dict[str, Callable[[], Opener]] = {
    "memory": memory_backend,
    "text": text_backend,
}
"""Backend name -> maker of an opener. Add a backend here and nowhere else."""

LAYOUTS: dict[str, tuple[str, str | None]] = {
    "root": ("", None),
    "namespaced": ("ns", None),
    "shared": ("ns", "other"),
}
"""Layout name -> (namespace of the store under test, neighbour's namespace)."""

KEYS = ("k", "a", "b", "c")
"""Key names the tests use; a neighbour fills them with noise."""

# Snapshot envelope expected from each backend: (type tag, format version).
ENVELOPES: dict[str, tuple[str, int]] = {"memory": ("memory", 1), "text": ("test-text", 1)}


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    """The name of the backend under test."""
    return request.param


@pytest.fixture
def open_store(backend: str) -> Opener:
    """Open stores in any namespace on one fresh backing."""
    return BACKENDS[backend]()


@pytest.fixture(params=list(LAYOUTS))
async def store(open_store: Opener, request: pytest.FixtureRequest) -> Store:
    """An empty store under test, in each layout."""
    namespace, neighbour = LAYOUTS[request.param]
    if neighbour is not None:
        noisy = open_store(neighbour)
        for key in KEYS:
            await noisy.set(key, f"neighbour's {key}")
    return open_store(namespace)


JSON_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -7,
    2**70,
    1.5,
    -0.25,
    "",
    "héllo ✓",
    [],
    {},
    [1, "two", None, [3.0, {"four": 4}]],
    {"nested": {"list": [1, 2, {"deep": True}]}, "empty": {}},
]

NOT_JSON: list[Any] = [
    pytest.param({1, 2}, id="set"),
    pytest.param((1, 2), id="tuple"),
    pytest.param(float("nan"), id="nan"),
    pytest.param(float("inf"), id="inf"),
    pytest.param(object(), id="object"),
    pytest.param(b"bytes", id="bytes"),
    pytest.param({1: "x"}, id="int-key"),
    pytest.param({"ok": [1, {"bad": (2,)}]}, id="nested-tuple"),
    pytest.param([1, float("-inf")], id="nested-inf"),
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


# --------------------------------------------------------------------------- basics


async def test_store_satisfies_protocol(store: Store) -> None:
    """Every backend is a Store at runtime too."""
    assert isinstance(store, Store)


async def test_get_missing_returns_none(store: Store) -> None:
    """A missing key reads as None."""
    assert await store.get("k") is None


async def test_get_missing_returns_default_as_given(store: Store) -> None:
    """A missing key reads as the default, the very object passed."""
    default: list[int] = [1]
    assert await store.get("k", default) is default


@pytest.mark.parametrize("value", JSON_VALUES, ids=repr)
async def test_set_then_get_round_trips(store: Store, value: Any) -> None:
    """Any JSON value reads back equal, with its exact type."""
    await store.set("k", value)
    got = await store.get("k")
    assert got == value
    assert type(got) is type(value)


async def test_set_is_last_write_wins(store: Store) -> None:
    """A second set replaces the first."""
    await store.set("k", 1)
    await store.set("k", 2)
    assert await store.get("k") == 2


async def test_has(store: Store) -> None:
    """has is true exactly while a key holds a value, including None."""
    assert not await store.has("k")
    await store.set("k", None)
    assert await store.has("k")
    await store.delete("k")
    assert not await store.has("k")


async def test_delete_reports_whether_key_existed(store: Store) -> None:
    """delete returns True for a present key, then False."""
    await store.set("k", 1)
    assert await store.delete("k") is True
    assert await store.delete("k") is False
    assert await store.get("k") is None


async def test_delete_missing_key_is_false(store: Store) -> None:
    """Deleting a key that never existed returns False."""
    assert await store.delete("never") is False


async def test_keys_empty(store: Store) -> None:
    """A fresh store lists no keys."""
    assert await store.keys() == []


async def test_keys_in_insertion_order(store: Store) -> None:
    """keys() follows first insertion, not sort order."""
    for key in ["c", "a", "b"]:
        await store.set(key, key)
    assert await store.keys() == ["c", "a", "b"]


async def test_overwrite_keeps_position_delete_moves_to_end(store: Store) -> None:
    """Overwriting keeps a key's place; deleting and setting again moves it last."""
    for key in ["a", "b", "c"]:
        await store.set(key, 0)
    await store.set("a", 1)
    assert await store.keys() == ["a", "b", "c"]
    await store.delete("a")
    await store.set("a", 2)
    assert await store.keys() == ["b", "c", "a"]


async def test_keys_returns_a_fresh_list(store: Store) -> None:
    """Mutating the list keys() returned does not change the store."""
    await store.set("a", 1)
    listed = await store.keys()
    listed.append("b")
    assert await store.keys() == ["a"]


async def test_odd_key_names(store: Store) -> None:
    """Keys may hold separators, percent signs and be empty."""
    odd = ["", ":", "a:b", "%3A", "ns:k", "/", "ü"]
    for index, key in enumerate(odd):
        await store.set(key, index)
    assert await store.keys() == odd
    assert [await store.get(key) for key in odd] == list(range(len(odd)))


async def test_non_str_key_refused(store: Store) -> None:
    """A store key must be a str; anything else is refused and nothing is written."""
    with pytest.raises(StoreError) as info:
        await store.set(1, "x")  # type: ignore[arg-type]
    assert info.value.reason is StoreErrorReason.NOT_SERIALIZABLE
    assert await store.keys() == []


# --------------------------------------------------------------------------- copies


async def test_mutating_value_after_set_does_not_change_store(store: Store) -> None:
    """set stores a copy: the caller's later mutation is invisible."""
    value = {"items": [1, 2], "meta": {"n": 1}}
    await store.set("k", value)
    value["items"].append(3)
    value["meta"]["n"] = 99
    assert await store.get("k") == {"items": [1, 2], "meta": {"n": 1}}


async def test_mutating_get_result_does_not_change_store(store: Store) -> None:
    """get returns a copy: mutating it is invisible to the store and to other readers."""
    await store.set("k", {"items": [1]})
    first = await store.get("k")
    first["items"].append(2)
    assert await store.get("k") == {"items": [1]}


async def test_mutating_update_result_does_not_change_store(store: Store) -> None:
    """update's return value is not shared with the store."""
    result = await store.update("k", lambda _: {"items": [1]})
    result["items"].append(2)
    assert await store.get("k") == {"items": [1]}


async def test_update_fn_gets_a_private_copy(store: Store) -> None:
    """fn may mutate its argument in place and return it."""
    await store.set("k", [1])

    def append(current: list[int]) -> list[int]:
        current.append(2)
        return current

    assert await store.update("k", append) == [1, 2]
    assert await store.get("k") == [1, 2]


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("bad", NOT_JSON)
async def test_set_refuses_non_json_and_keeps_old_value(store: Store, bad: Any) -> None:
    """A value that is not JSON is refused naming the key; the old value stays."""
    await store.set("k", {"old": [1]})
    with pytest.raises(StoreError) as info:
        await store.set("k", bad)
    assert info.value.reason is StoreErrorReason.NOT_SERIALIZABLE
    assert info.value.key == "k"
    assert "'k'" in str(info.value)
    assert await store.get("k") == {"old": [1]}


@pytest.mark.parametrize("bad", NOT_JSON)
async def test_set_refuses_non_json_for_new_key(store: Store, bad: Any) -> None:
    """A refused first write leaves the key absent."""
    with pytest.raises(StoreError):
        await store.set("k", bad)
    assert not await store.has("k")
    assert await store.keys() == []


async def test_refusal_names_culprit_path(store: Store) -> None:
    """The error says where inside the value the culprit sits."""
    with pytest.raises(StoreError, match=r"bad.*tuple"):
        await store.set("k", {"ok": 1, "bad": (1, 2)})


@pytest.mark.parametrize("bad", NOT_JSON)
async def test_update_returning_non_json_writes_nothing(store: Store, bad: Any) -> None:
    """An update whose new value is not JSON is refused; the old value stays."""
    await store.set("k", 1)
    with pytest.raises(StoreError) as info:
        await store.update("k", lambda _: bad)
    assert info.value.reason is StoreErrorReason.NOT_SERIALIZABLE
    assert await store.get("k") == 1


# --------------------------------------------------------------------------- update


async def test_update_missing_key_receives_none(store: Store) -> None:
    """fn sees None for a missing key, and its result is stored and returned."""
    seen: list[Any] = []

    def init(current: Any) -> int:
        seen.append(current)
        return 1

    assert await store.update("k", init) == 1
    assert seen == [None]
    assert await store.get("k") == 1


async def test_update_with_sync_fn(store: Store) -> None:
    """A plain function updates the current value."""
    await store.set("k", 41)
    assert await store.update("k", lambda n: n + 1) == 42
    assert await store.get("k") == 42


async def test_update_with_async_fn(store: Store, autojump_clock: trio.abc.Clock) -> None:
    """An async function may await before returning the new value."""
    await store.set("k", [1])

    async def slow_append(current: list[int]) -> list[int]:
        await trio.sleep(5)
        return [*current, 2]

    with trio.fail_after(60):
        start = trio.current_time()
        assert await store.update("k", slow_append) == [1, 2]
        assert trio.current_time() - start == 5
    assert await store.get("k") == [1, 2]


async def test_update_fn_raising_writes_nothing(store: Store) -> None:
    """If fn raises, its exception propagates unchanged and the value stays."""
    await store.set("k", {"n": 1})
    boom = ValueError("boom")

    def fail(current: dict[str, int]) -> dict[str, int]:
        current["n"] = 2  # mutating the argument must not leak either
        raise boom

    with pytest.raises(ValueError, match="boom") as info:
        await store.update("k", fail)
    assert info.value is boom
    assert await store.get("k") == {"n": 1}


async def test_update_async_fn_raising_writes_nothing(
    store: Store, autojump_clock: trio.abc.Clock
) -> None:
    """An async fn that raises after awaiting writes nothing."""
    await store.set("k", 1)

    async def fail(current: int) -> int:
        await trio.sleep(1)
        raise KeyError("late")

    with trio.fail_after(60), pytest.raises(KeyError):
        await store.update("k", fail)
    assert await store.get("k") == 1


async def test_update_cancelled_writes_nothing(
    store: Store, autojump_clock: trio.abc.Clock
) -> None:
    """An update cancelled while fn awaits writes nothing, and the store stays usable."""
    await store.set("k", 1)

    async def slow_increment(current: int) -> int:
        await trio.sleep(10)
        return current + 1

    with trio.fail_after(60):
        with trio.move_on_after(3) as scope:
            await store.update("k", slow_increment)
        assert scope.cancelled_caught
        assert trio.current_time() == 3
        assert await store.get("k") == 1
        assert await store.update("k", lambda n: n + 10) == 11


async def test_operations_in_cancelled_scope_do_nothing(store: Store) -> None:
    """Each operation is a checkpoint: called already cancelled, it raises and writes nothing."""
    with trio.CancelScope() as scope:
        scope.cancel()
        await store.set("k", 1)
    assert scope.cancelled_caught
    with trio.CancelScope() as scope:
        scope.cancel()
        await store.update("k", lambda _: 2)
    assert scope.cancelled_caught
    assert not await store.has("k")


REENTRANT_CALLS: dict[str, Callable[[Store], Awaitable[object]]] = {
    "get": lambda s: s.get("k"),
    "set": lambda s: s.set("k", 5),
    "has": lambda s: s.has("k"),
    "delete": lambda s: s.delete("k"),
    "keys": lambda s: s.keys(),
    "update": lambda s: s.update("k", lambda n: n),
    "snapshot": lambda s: s.snapshot(),
}


@pytest.mark.parametrize("call", REENTRANT_CALLS.values(), ids=list(REENTRANT_CALLS))
async def test_update_fn_calling_same_store_is_reentrant_error(
    store: Store, call: Callable[[Store], Awaitable[object]]
) -> None:
    """fn calling its own store raises REENTRANT instead of deadlocking; nothing is written."""
    await store.set("k", 1)

    async def reenter(current: int) -> int:
        await call(store)
        return current + 1

    with trio.fail_after(5), pytest.raises(StoreError) as info:
        await store.update("k", reenter)
    assert info.value.reason is StoreErrorReason.REENTRANT
    assert await store.get("k") == 1


async def test_store_usable_after_reentrant_error(store: Store) -> None:
    """After a REENTRANT refusal the store serves the next caller normally."""

    async def reenter(current: Any) -> Any:
        return await store.get("k")

    with pytest.raises(StoreError):
        await store.update("k", reenter)
    assert await store.update("k", lambda _: "fine") == "fine"


# --------------------------------------------------------------------------- snapshots


async def test_snapshot_envelope(store: Store, backend: str) -> None:
    """A snapshot unstructures to the versioned envelope, entries in key order."""
    await store.set("b", [1, {"x": None}])
    await store.set("a", 2.5)
    snapshot = await store.snapshot()
    type_tag, version = ENVELOPES[backend]
    data = CONVERTER.unstructure(snapshot)
    assert data == {
        "version": version,
        "type": type_tag,
        "entries": {"b": [1, {"x": None}], "a": 2.5},
    }
    assert list(data["entries"]) == ["b", "a"]


async def test_snapshot_of_empty_store(store: Store) -> None:
    """An empty store snapshots to no entries."""
    assert (await store.snapshot()).entries == {}


async def test_snapshot_is_independent_of_later_writes(store: Store) -> None:
    """Writes after a snapshot do not show in it."""
    await store.set("a", {"n": [1]})
    snapshot = await store.snapshot()
    await store.set("a", {"n": [2]})
    await store.update("a", lambda v: {"n": [*v["n"], 3]})
    await store.set("b", 1)
    assert snapshot.entries == {"a": {"n": [1]}}


async def test_mutating_snapshot_does_not_change_store(store: Store) -> None:
    """A snapshot shares no mutable value with the store."""
    await store.set("a", {"n": [1]})
    snapshot = await store.snapshot()
    snapshot.entries["a"]["n"].append(2)
    assert await store.get("a") == {"n": [1]}


async def test_restore_replaces_whole_content(store: Store) -> None:
    """restore drops keys the snapshot lacks and takes the snapshot's order."""
    await store.set("a", 1)
    await store.set("b", 2)
    snapshot = await store.snapshot()
    await store.delete("a")
    await store.set("b", 20)
    await store.set("c", 3)
    reordered = StoreSnapshot(
        version=snapshot.version, type=snapshot.type, entries={"b": 2, "a": 1}
    )
    await store.restore(reordered)
    assert await store.keys() == ["b", "a"]
    assert await store.get("a") == 1
    assert await store.get("b") == 2
    assert not await store.has("c")


async def test_restore_empty_snapshot_clears(store: Store) -> None:
    """Restoring a snapshot with no entries empties the store."""
    empty = await store.snapshot()
    await store.set("a", 1)
    await store.restore(empty)
    assert await store.keys() == []


async def test_restore_same_snapshot_twice(store: Store) -> None:
    """A restored snapshot is not consumed or aliased: it restores again identically."""
    await store.set("a", {"n": [1]})
    snapshot = await store.snapshot()
    await store.restore(snapshot)
    await store.update("a", lambda v: {"n": [*v["n"], 2]})
    await store.restore(snapshot)
    assert await store.get("a") == {"n": [1]}


async def test_snapshot_round_trips_through_json_into_fresh_store(
    store: Store, open_store: Opener
) -> None:
    """dump -> json -> load -> restore reproduces content and order in another store."""
    await store.set("z", {"list": [1, 2.5, None]})
    await store.set("a", "text")
    text = json.dumps(CONVERTER.unstructure(await store.snapshot()))
    loaded = CONVERTER.structure(json.loads(text), StoreSnapshot)
    fresh = open_store("fresh")
    await fresh.restore(loaded)
    assert await fresh.keys() == ["z", "a"]
    assert (await fresh.snapshot()).entries == (await store.snapshot()).entries


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"type": "other"}, id="type"),
        pytest.param({"version": 999}, id="version"),
        pytest.param({"version": 0}, id="old-version"),
    ],
)
async def test_restore_incompatible_snapshot_leaves_store_untouched(
    store: Store, change: dict[str, Any]
) -> None:
    """A snapshot of another type or version is refused; nothing changes."""
    await store.set("a", 1)
    good = await store.snapshot()
    fields: dict[str, Any] = {"version": good.version, "type": good.type, "entries": {"x": 1}}
    fields.update(change)
    with pytest.raises(StoreError) as info:
        await store.restore(StoreSnapshot(**fields))
    assert info.value.reason is StoreErrorReason.INCOMPATIBLE_SNAPSHOT
    assert await store.keys() == ["a"]
    assert await store.get("a") == 1


@pytest.mark.parametrize(
    "entries",
    [
        pytest.param({"x": 1, "y": (1, 2)}, id="tuple"),
        pytest.param({"x": 1, "y": {"deep": {3}}}, id="set"),
        pytest.param({"x": 1, "y": float("nan")}, id="nan"),
        pytest.param({"x": 1, 2: "int key"}, id="int-key"),
    ],
)
async def test_restore_bad_entries_leaves_store_untouched(
    store: Store, entries: dict[Any, Any]
) -> None:
    """A snapshot with a non-JSON entry is refused before anything changes."""
    await store.set("a", 1)
    good = await store.snapshot()
    bad = StoreSnapshot(version=good.version, type=good.type, entries=entries)
    with pytest.raises(StoreError) as info:
        await store.restore(bad)
    assert info.value.reason is StoreErrorReason.NOT_SERIALIZABLE
    assert await store.keys() == ["a"]
    assert await store.get("a") == 1


async def test_check_snapshot_raises_like_restore_without_changes(store: Store) -> None:
    """check_snapshot (where offered) refuses what restore would, and changes nothing."""
    check = getattr(store, "check_snapshot", None)
    if check is None:
        pytest.skip("this backend offers no check_snapshot")
    await store.set("a", 1)
    good = await store.snapshot()
    check(good)
    for bad, reason in [
        (StoreSnapshot(version=good.version, type="other", entries={}), "INCOMPATIBLE_SNAPSHOT"),
        (
            StoreSnapshot(version=good.version + 1, type=good.type, entries={}),
            "INCOMPATIBLE_SNAPSHOT",
        ),
        (
            StoreSnapshot(version=good.version, type=good.type, entries={"x": (1,)}),
            "NOT_SERIALIZABLE",
        ),
    ]:
        with pytest.raises(StoreError) as info:
            check(bad)
        assert info.value.reason is StoreErrorReason[reason]
    assert (await store.snapshot()).entries == {"a": 1}


async def test_restore_copies_entries(store: Store) -> None:
    """Mutating a snapshot after restoring it does not change the store."""
    await store.set("a", 0)
    good = await store.snapshot()
    snapshot = StoreSnapshot(version=good.version, type=good.type, entries={"a": [1]})
    await store.restore(snapshot)
    snapshot.entries["a"].append(2)
    assert await store.get("a") == [1]


@pytest.mark.parametrize("backend_name", list(BACKENDS))
@given(entries=st.dictionaries(st.text(max_size=8), json_values, max_size=6))
async def test_snapshot_round_trip_property(backend_name: str, entries: dict[str, Any]) -> None:
    """For any JSON content, restore(load(dump(snapshot))) reproduces it exactly."""
    source = BACKENDS[backend_name]()("ns")
    for key, value in entries.items():
        await source.set(key, value)
    text = json.dumps(CONVERTER.unstructure(await source.snapshot()))
    target = BACKENDS[backend_name]()("other")
    await target.restore(CONVERTER.structure(json.loads(text), StoreSnapshot))
    assert await target.keys() == list(entries)
    restored = (await target.snapshot()).entries
    assert restored == entries


# --------------------------------------------------------------------------- namespaces


async def test_namespaces_keep_keys_apart(open_store: Opener) -> None:
    """Stores in different namespaces on one backing never see each other's keys."""
    root, first, second = open_store(""), open_store("a"), open_store("b")
    await root.set("k", "root")
    await first.set("k", "a")
    await second.set("k", "b")
    assert [await s.get("k") for s in (root, first, second)] == ["root", "a", "b"]
    assert await first.delete("k") is True
    assert await root.get("k") == "root"
    assert await second.get("k") == "b"
    assert await first.keys() == []


async def test_keys_are_listed_without_prefix(open_store: Opener) -> None:
    """keys() lists a namespaced store's keys as they were set."""
    store = open_store("ns")
    await store.set("x", 1)
    await store.set("y:z", 2)
    assert await store.keys() == ["x", "y:z"]


@pytest.mark.parametrize(
    ("first", "second", "key_a", "key_b"),
    [
        pytest.param("a", "a:b", "b:c", "c", id="separator-in-namespace"),
        pytest.param("", "a", "a:x", "x", id="root-vs-prefix"),
        pytest.param("a%3Ab", "a:b", "k", "k", id="escape-lookalike"),
        pytest.param("n", "ns", "s:k", "k", id="prefix-of-namespace"),
    ],
)
async def test_namespaces_never_collide(
    open_store: Opener, first: str, second: str, key_a: str, key_b: str
) -> None:
    """Namespace and key are kept apart even when their text could run together."""
    store_a, store_b = open_store(first), open_store(second)
    await store_a.set(key_a, "a")
    await store_b.set(key_b, "b")
    assert await store_a.keys() == [key_a]
    assert await store_b.keys() == [key_b]
    assert await store_a.get(key_a) == "a"
    assert await store_b.get(key_b) == "b"


async def test_snapshot_and_restore_stay_in_namespace(open_store: Opener) -> None:
    """A namespace's snapshot holds only its keys; its restore leaves neighbours alone."""
    mine, theirs = open_store("mine"), open_store("theirs")
    await mine.set("k", 1)
    await theirs.set("k", 2)
    await theirs.set("only-theirs", 3)
    snapshot = await mine.snapshot()
    assert snapshot.entries == {"k": 1}
    await mine.set("extra", 4)
    await mine.restore(snapshot)
    assert await mine.keys() == ["k"]
    assert await theirs.keys() == ["k", "only-theirs"]
    assert await theirs.get("k") == 2


async def test_update_in_one_namespace_blocks_reentry_on_the_backing(
    open_store: Opener,
) -> None:
    """Stores sharing a backing share one lock: fn touching a sibling is REENTRANT too."""
    mine, sibling = open_store("mine"), open_store("sibling")

    async def touch_sibling(current: Any) -> int:
        await sibling.set("k", 1)
        return 1

    with trio.fail_after(5), pytest.raises(StoreError) as info:
        await mine.update("k", touch_sibling)
    assert info.value.reason is StoreErrorReason.REENTRANT
    assert not await mine.has("k")
    assert not await sibling.has("k")


async def test_prepare_restore_checks_now_and_applies_later(store: Store) -> None:
    """prepare_restore refuses a bad snapshot at once; a good one changes nothing until applied."""
    prepare = getattr(store, "prepare_restore", None)
    if prepare is None:
        pytest.skip("this store has no two-phase restore")
    await store.set("a", 1)
    good = await store.snapshot()
    await store.set("a", 2)
    bad = StoreSnapshot(version=good.version + 1, type=good.type, entries={"a": 9})
    with pytest.raises(StoreError) as info:
        prepare(bad)
    assert info.value.reason is StoreErrorReason.INCOMPATIBLE_SNAPSHOT
    apply = prepare(good)
    assert await store.get("a") == 2  # checked, not applied
    await apply()
    assert await store.get("a") == 1
