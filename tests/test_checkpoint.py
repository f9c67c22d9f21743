"""Checkpoint: capture an interrupted run with its stores, write JSON, load, restore.

DESIGN.md "Checkpoints" and "State"; issue 6. The wire format is versioned
JSON with exactly the fields ``version, dag_name, cursor, state,
executed_nodes, skipped_nodes, stores``; ``load`` refuses anything else with
a ``CheckpointError`` naming the field at fault, and nothing is coerced.
"""

from __future__ import annotations

import copy
import json
import math
from typing import TYPE_CHECKING, Any

import attrs
import pytest
import trio
import trio.testing
from _ckpt_helpers import RESUME_KEY, finished, interrupted
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dagon_actors import (
    AbortController,
    Checkpoint,
    CheckpointError,
    DAGBuilder,
    DAGError,
    Dagonizer,
    Gather,
    LifecycleVariant,
    MemoryStore,
    NodeContext,
    NodeStateBase,
    RestoredCheckpoint,
    Store,
    StoreError,
    StoreErrorReason,
    StoreSnapshot,
    TypedStore,
    node,
    transient,
)
from dagon_actors._store import MemoryBacking

if TYPE_CHECKING:
    from collections.abc import Callable

WIRE_FIELDS = [
    "version",
    "dag_name",
    "cursor",
    "state",
    "executed_nodes",
    "skipped_nodes",
    "stores",
]


@attrs.define
class Inventory(NodeStateBase):
    count: int = 0
    names: list[str] = attrs.field(factory=list)
    prices: dict[str, float] = attrs.field(factory=dict)
    active: bool = False
    note: str | None = None


@attrs.define
class Live(NodeStateBase):
    """A state with live objects declared transient, and one ordinary field."""

    count: int = 0
    handle: Any = transient()
    limit: int = transient(7)


async def filled_store(**entries: Any) -> MemoryStore:
    store = MemoryStore()
    for key, value in entries.items():
        await store.set(key, value)
    return store


async def entries_of(store: Store) -> dict[str, Any]:
    return dict((await store.snapshot()).entries)


# ============================================================================ a real run


@attrs.define
class Flow(NodeStateBase):
    empty: list[int] = attrs.field(factory=list)
    trail: list[str] = attrs.field(factory=list)


@attrs.define(eq=False)
class FlowServices:
    log: Store
    controller: AbortController = attrs.field(factory=AbortController)


def flow_dispatcher(services: FlowServices) -> Dagonizer[Any, FlowServices]:
    """``scan`` (scatter over nothing: skipped) → ``a`` → ``b`` → ``c``.

    ``a`` aborts the run as it finishes, so the cursor lands on ``b``.
    """

    @node("noop", outputs=("success",))
    async def noop(state: Flow, ctx: NodeContext[FlowServices]) -> str:
        return "success"

    def step(name: str, *, abort: bool = False) -> Any:
        @node(name, outputs=("next",))
        async def run(state: Flow, ctx: NodeContext[FlowServices]) -> str:
            await ctx.services.log.update("steps", lambda v: [*(v or []), name])
            state.trail.append(name)
            if abort and not ctx.signal.aborted:
                ctx.services.controller.abort("stop after a")
            return "next"

        return run

    dag = (
        DAGBuilder("main-flow")
        .scatter(
            "scan",
            noop,
            source="empty",
            routes={"empty": "a", "all-success": "a", "partial": "a", "all-error": "a"},
            gather=Gather.discard(),
        )
        .node("a", step("a", abort=True), {"next": "b"})
        .node("b", step("b"), {"next": "c"})
        .node("c", step("c"), {"next": None})
        .build()
    )
    dispatcher: Dagonizer[Any, FlowServices] = Dagonizer(services=services)
    dispatcher.register_dag(dag)
    return dispatcher


async def test_round_trip_through_json_resumes_where_the_run_stopped() -> None:
    """capture → to_json → load → restore_stores → restore_state → resume (DESIGN.md snippet)."""
    with trio.fail_after(10):
        log = MemoryStore()
        services = FlowServices(log=log)
        state = Flow()
        state.set_metadata("request", {"id": 7, "tags": ["x"]})
        partial = await flow_dispatcher(services).execute(
            "main-flow", state, abort=services.controller.signal
        )
        assert partial.cursor == "b"
        assert partial.executed_nodes == ["a"]
        assert partial.skipped_nodes == ["scan"]

        ckpt = await Checkpoint.capture("main-flow", partial, stores={"log": log})
        text = ckpt.to_json()
        ckpt2 = Checkpoint.load(json.loads(text))
        fresh_log = MemoryStore()
        await ckpt2.restore_stores({"log": fresh_log})
        restored = ckpt2.restore_state(Flow.restore)

        assert isinstance(restored, RestoredCheckpoint)
        assert restored.dag_name == "main-flow"
        assert restored.cursor == "b"
        assert restored.executed_nodes == ["a"]
        assert restored.skipped_nodes == ["scan"]
        assert restored.state.trail == ["a"]
        assert restored.state.metadata == {"request": {"id": 7, "tags": ["x"]}}
        assert restored.state.lifecycle.variant is LifecycleVariant.PENDING
        assert await entries_of(fresh_log) == {"steps": ["a"]}

        services2 = FlowServices(log=fresh_log)
        final = await flow_dispatcher(services2).resume(
            restored.dag_name, restored.state, restored.cursor
        )
        assert final.cursor is None
        assert final.executed_nodes == ["b", "c"]
        assert restored.state.trail == ["a", "b", "c"]
        assert await entries_of(fresh_log) == {"steps": ["a", "b", "c"]}


async def test_wire_format_has_exactly_the_documented_fields() -> None:
    """The JSON document holds exactly: version, dag_name, cursor, state, executed_nodes,
    skipped_nodes, stores."""
    with trio.fail_after(10):
        log = await filled_store(first={"n": 1}, second=[1, 2.5, None, True, "s"])
        services = FlowServices(log=log)
        state = Flow()
        state.set_metadata("k", "v")
        partial = await flow_dispatcher(services).execute(
            "main-flow", state, abort=services.controller.signal
        )
        wire = json.loads(
            (await Checkpoint.capture("main-flow", partial, stores={"log": log})).to_json()
        )

        assert list(wire) == WIRE_FIELDS
        assert wire["version"] == 1
        assert wire["dag_name"] == "main-flow"
        assert wire["cursor"] == "b"
        assert wire["executed_nodes"] == ["a"]
        assert wire["skipped_nodes"] == ["scan"]
        assert wire["state"] == {
            "fields": {"empty": [], "trail": ["a"]},
            "metadata": {"k": "v"},
        }
        assert wire["stores"] == {
            "log": {
                "version": 1,
                "type": "memory",
                "entries": {"first": {"n": 1}, "second": [1, 2.5, None, True, "s"], "steps": ["a"]},
            }
        }
        # Store keys keep their insertion order through the document.
        assert list(wire["stores"]["log"]["entries"]) == ["first", "second", "steps"]


async def test_load_accepts_text_and_parsed_object() -> None:
    """``load`` takes the JSON text or its parsed dict; both give an equal checkpoint."""
    state = Inventory(count=3, names=["a", "b"], prices={"a": 1.5}, active=True, note="n")
    state.set_metadata("m", [1, {"x": None}])
    ckpt = await Checkpoint.capture(
        "one-step", await interrupted(state), stores={"s": await filled_store(k=1)}
    )
    text = ckpt.to_json()
    from_text = Checkpoint.load(text)
    from_dict = Checkpoint.load(json.loads(text))
    assert from_text == ckpt
    assert from_dict == ckpt
    assert from_text.to_json() == text
    assert from_dict.to_json() == text


async def test_restore_state_gives_a_pending_state_with_domain_fields_and_metadata() -> None:
    """Errors, warnings and lifecycle of the earlier run are not part of a checkpoint."""
    state = Inventory(count=3, names=["a"], prices={"p": 2.0}, active=True, note=None)
    state.set_metadata("where", "here")
    result = await interrupted(state)
    state.errors.append(_record("E1"))
    state.warnings.append(_record("W1"))
    assert state.lifecycle.variant is LifecycleVariant.CANCELLED

    restored = Checkpoint.load(
        (await Checkpoint.capture("one-step", result)).to_json()
    ).restore_state(Inventory.restore)

    got = restored.state
    assert type(got) is Inventory
    assert (got.count, got.names, got.prices, got.active, got.note) == (
        3,
        ["a"],
        {"p": 2.0},
        True,
        None,
    )
    assert got.metadata == {"where": "here"}
    assert got.lifecycle.variant is LifecycleVariant.PENDING
    assert got.lifecycle.started_at is None
    assert got.errors == []
    assert got.warnings == []


def _record(code: str) -> Any:
    from dagon_actors import ErrorRecord

    return ErrorRecord(code=code, message=code)


async def test_base_state_round_trips_with_the_base_restore() -> None:
    """``restore_state(NodeStateBase.restore)`` works for a plain base state (DESIGN.md snippet)."""
    state = NodeStateBase()
    state.set_metadata("a", 1)
    ckpt = await Checkpoint.capture("one-step", await interrupted(state))
    restored = Checkpoint.load(ckpt.to_json()).restore_state(NodeStateBase.restore)
    assert type(restored.state) is NodeStateBase
    assert restored.state.metadata == {"a": 1}


async def test_restored_states_share_nothing_with_the_checkpoint_or_each_other() -> None:
    state = Inventory(names=["a"], prices={"p": 1.0})
    state.set_metadata("nested", {"list": [1]})
    ckpt = Checkpoint.load(
        (await Checkpoint.capture("one-step", await interrupted(state))).to_json()
    )
    text = ckpt.to_json()
    one = ckpt.restore_state(Inventory.restore).state
    two = ckpt.restore_state(Inventory.restore).state
    one.names.append("b")
    one.prices["q"] = 2.0
    one.metadata["nested"]["list"].append(2)
    assert two.names == ["a"]
    assert two.prices == {"p": 1.0}
    assert two.metadata == {"nested": {"list": [1]}}
    assert ckpt.to_json() == text


@attrs.define
class Loose(NodeStateBase):
    tags: dict[str, Any] = attrs.field(factory=dict)
    rows: list[Any] = attrs.field(factory=list)


async def test_resuming_never_changes_the_loaded_checkpoint() -> None:
    """Nested values in ``Any``-typed fields are not shared between checkpoint and state.

    A loaded checkpoint can be restored (and resumed) twice, say after a
    failed first attempt: both start from the same data.
    """
    state = Loose(tags={"a": [1]}, rows=[{"x": 1}])
    ckpt = Checkpoint.load(
        (await Checkpoint.capture("one-step", await interrupted(state))).to_json()
    )
    text = ckpt.to_json()
    one = ckpt.restore_state(Loose.restore).state
    one.tags["a"].append(2)
    one.rows[0]["y"] = 2
    two = ckpt.restore_state(Loose.restore).state
    assert two.tags == {"a": [1]}
    assert two.rows == [{"x": 1}]
    assert ckpt.to_json() == text


async def test_checkpoint_does_not_change_when_state_or_stores_change_later() -> None:
    state = Inventory(names=["a"])
    state.set_metadata("m", {"x": [1]})
    store = await filled_store(k=[1, 2])
    ckpt = await Checkpoint.capture("one-step", await interrupted(state), stores={"s": store})
    text = ckpt.to_json()
    state.names.append("b")
    state.metadata["m"]["x"].append(2)
    await store.set("k", "changed")
    await store.set("new", 1)
    assert ckpt.to_json() == text


async def test_capture_refuses_a_finished_result() -> None:
    """``capture`` on a result whose cursor is ``None`` raises DAGError."""
    result = await finished(Inventory())
    with pytest.raises(DAGError, match="one-step"):
        await Checkpoint.capture("one-step", result)
    with pytest.raises(DAGError):
        await Checkpoint.capture("one-step", result, stores={"s": MemoryStore()})


async def test_capture_of_a_failed_run_resumes_on_the_failed_placement() -> None:
    """A run failed by a raising node is checkpointable; resume retries that placement."""
    attempts: list[str] = []

    @node("flaky", outputs=("done",))
    async def flaky(state: Inventory, ctx: NodeContext[Any]) -> str:
        attempts.append("flaky")
        if len(attempts) == 1:
            raise RuntimeError("first time fails")
        state.count += 1
        return "done"

    dag = DAGBuilder("fails").node("flaky", flaky, {"done": None}).build()
    dispatcher: Dagonizer[Any, Any] = Dagonizer()
    dispatcher.register_dag(dag)
    state = Inventory()
    result = await dispatcher.execute("fails", state)
    assert result.cursor == "flaky"
    assert state.lifecycle.variant is LifecycleVariant.FAILED
    restored = Checkpoint.load((await Checkpoint.capture("fails", result)).to_json()).restore_state(
        Inventory.restore
    )
    assert restored.state.errors == []
    final = await dispatcher.resume(restored.dag_name, restored.state, restored.cursor)
    assert final.cursor is None
    assert restored.state.count == 1


async def test_capture_without_stores_writes_an_empty_map() -> None:
    ckpt = await Checkpoint.capture("one-step", await interrupted(Inventory()))
    assert json.loads(ckpt.to_json())["stores"] == {}
    await ckpt.restore_stores({})
    await ckpt.restore_stores({"ignored": MemoryStore()})


async def _two_busy_stores(nursery: trio.Nursery) -> tuple[dict[str, MemoryStore], float]:
    """Stores ``a`` and ``b``, each held by an update writing ``"early"`` from now (t0)
    to t0 + 3, with a second update writing ``"late"`` arriving at t0 + 1 (held 3 s)."""
    stores = {"a": MemoryStore(), "b": MemoryStore()}
    t0 = trio.current_time()

    async def write(store: MemoryStore, value: str, at: float) -> None:
        async def fn(_: Any) -> str:
            await trio.sleep(3)
            return value

        await trio.sleep_until(at)
        await store.update("k", fn)

    for store in stores.values():
        nursery.start_soon(write, store, "early", t0)
        nursery.start_soon(write, store, "late", t0 + 1)
    await trio.testing.wait_all_tasks_blocked()
    assert trio.current_time() == t0
    return stores, t0


async def test_capture_snapshots_stores_concurrently(autojump_clock: trio.abc.Clock) -> None:
    """Every store is snapshotted at once, queued at the moment of capture: with two
    stores busy until t0+3 and a late writer queuing on each at t0+1, capture takes 3 s
    and sees neither late write; one store after the other takes 6 s and sees one."""
    with trio.fail_after(30):
        result = await interrupted(Inventory())

        # The naive pattern, for contrast: snapshot one store, then the next.
        async with trio.open_nursery() as nursery:
            stores, t0 = await _two_busy_stores(nursery)
            one_by_one = {name: (await s.snapshot()).entries for name, s in stores.items()}
            assert trio.current_time() - t0 == 6.0
        assert one_by_one == {"a": {"k": "early"}, "b": {"k": "late"}}

        async with trio.open_nursery() as nursery:
            stores, t0 = await _two_busy_stores(nursery)
            ckpt = await Checkpoint.capture("one-step", result, stores=stores)
            assert trio.current_time() - t0 == 3.0
        assert {name: snap.entries for name, snap in ckpt.stores.items()} == {
            "a": {"k": "early"},
            "b": {"k": "early"},
        }
        assert list(ckpt.stores) == ["a", "b"]
        # The late writes still happened, after the capture.
        assert [await s.get("k") for s in stores.values()] == ["late", "late"]


# ============================================================================ stores


async def test_stores_are_restored_into_fresh_stores_replacing_their_content() -> None:
    source = await filled_store(b=[1, {"c": None}], a="x", n=2.5)
    ckpt = Checkpoint.load(
        (
            await Checkpoint.capture(
                "one-step", await interrupted(Inventory()), stores={"log": source}
            )
        ).to_json()
    )
    target = await filled_store(stale="gone", a="old")
    await ckpt.restore_stores({"log": target})
    assert await entries_of(target) == {"b": [1, {"c": None}], "a": "x", "n": 2.5}
    assert await target.keys() == ["b", "a", "n"]
    # The restored store shares nothing with the checkpoint.
    value = await target.get("b")
    value.append("mutated")
    assert ckpt.stores["log"].entries["b"] == [1, {"c": None}]


async def test_restore_into_a_namespaced_store_leaves_its_neighbours_alone() -> None:
    ckpt = await Checkpoint.capture(
        "one-step", await interrupted(Inventory()), stores={"log": await filled_store(k=1)}
    )
    backing = MemoryBacking()
    target = MemoryStore("ns", backing=backing)
    neighbour = MemoryStore("other", backing=backing)
    await neighbour.set("k", "neighbour")
    await target.set("stale", True)
    await Checkpoint.load(ckpt.to_json()).restore_stores({"log": target})
    assert await entries_of(target) == {"k": 1}
    assert await entries_of(neighbour) == {"k": "neighbour"}


async def _three_store_checkpoint() -> dict[str, Any]:
    stores = {
        "a": await filled_store(x=1),
        "b": await filled_store(y=[1, 2]),
        "c": await filled_store(z={"q": None}),
    }
    ckpt = await Checkpoint.capture("one-step", await interrupted(Inventory()), stores=stores)
    return json.loads(ckpt.to_json())


async def _occupied(*names: str) -> dict[str, MemoryStore]:
    return {name: await filled_store(old=f"keep-{name}") for name in names}


@pytest.mark.parametrize("bad", ["a", "b", "c"])
@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda snap: snap.update(type="sqlite"), id="other-type"),
        pytest.param(lambda snap: snap.update(version=2), id="other-version"),
    ],
)
async def test_incompatible_snapshot_changes_no_store(
    bad: str, spoil: Callable[[dict[str, Any]], None]
) -> None:
    """A snapshot of the wrong type or version: StoreError(INCOMPATIBLE_SNAPSHOT), nothing restored.

    Every snapshot is checked before any is applied, whatever the bad one's
    position in the map.
    """
    wire = await _three_store_checkpoint()
    spoil(wire["stores"][bad])
    ckpt = Checkpoint.load(wire)
    targets = await _occupied("a", "b", "c")
    with pytest.raises(StoreError) as info:
        await ckpt.restore_stores(targets)
    assert info.value.reason is StoreErrorReason.INCOMPATIBLE_SNAPSHOT
    assert bad in str(info.value)
    for name, store in targets.items():
        assert await entries_of(store) == {"old": f"keep-{name}"}


async def test_several_incompatible_snapshots_change_no_store() -> None:
    wire = await _three_store_checkpoint()
    wire["stores"]["a"]["type"] = "redis"
    wire["stores"]["c"]["version"] = 99
    targets = await _occupied("a", "b", "c")
    with pytest.raises(StoreError) as info:
        await Checkpoint.load(wire).restore_stores(targets)
    assert info.value.reason is StoreErrorReason.INCOMPATIBLE_SNAPSHOT
    for name, store in targets.items():
        assert await entries_of(store) == {"old": f"keep-{name}"}


async def test_typed_store_in_the_map_is_checked_before_any_store_changes() -> None:
    """A TypedStore whose snapshot does not fit leaves every store untouched."""
    wire = await _three_store_checkpoint()
    wire["stores"]["c"]["type"] = "sqlite"
    targets: dict[str, Any] = await _occupied("a", "b")
    typed = TypedStore(MemoryStore(), {"z": dict[str, None], "old": str})
    await typed.set("old", "keep-c")
    targets["c"] = typed
    with pytest.raises(StoreError) as info:
        await Checkpoint.load(wire).restore_stores(targets)
    assert info.value.reason is StoreErrorReason.INCOMPATIBLE_SNAPSHOT
    for name, store in targets.items():
        assert await entries_of(store) == {"old": f"keep-{name}"}


async def test_missing_stores_are_all_named_and_nothing_changes() -> None:
    """``restore_stores`` raises DAGError naming every store the map lacks."""
    wire = await _three_store_checkpoint()
    targets = await _occupied("b", "unrelated")
    with pytest.raises(DAGError) as info:
        await Checkpoint.load(wire).restore_stores(targets)
    assert not isinstance(info.value, StoreError | CheckpointError)
    message = str(info.value)
    assert "'a'" in message or " a" in message
    assert "'c'" in message or " c" in message
    for name, store in targets.items():
        assert await entries_of(store) == {"old": f"keep-{name}"}


async def test_extra_stores_in_the_map_are_ignored() -> None:
    wire = await _three_store_checkpoint()
    targets = await _occupied("a", "b", "c", "extra")
    await Checkpoint.load(wire).restore_stores(targets)
    assert await entries_of(targets["a"]) == {"x": 1}
    assert await entries_of(targets["b"]) == {"y": [1, 2]}
    assert await entries_of(targets["c"]) == {"z": {"q": None}}
    assert await entries_of(targets["extra"]) == {"old": "keep-extra"}


# ============================================================================ load errors


async def _base_wire() -> dict[str, Any]:
    state = Inventory(count=3, names=["a"])
    state.set_metadata("m", 1)
    ckpt = await Checkpoint.capture(
        "one-step", await interrupted(state), stores={"log": await filled_store(k=1)}
    )
    return json.loads(ckpt.to_json())


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc.pop(key)


def _put(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = doc
        for part in parents:
            target = target[part]
        target[last] = value

    return change


def _remove(path: str) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = doc
        for part in parents:
            target = target[part]
        del target[last]

    return change


# (change to a valid document, field the CheckpointError must name)
BAD_DOCUMENTS = [
    # version
    pytest.param(_drop("version"), "version", id="missing-version"),
    pytest.param(_put("version", 2), "version", id="version-2"),
    pytest.param(_put("version", "1"), "version", id="version-str-1"),
    pytest.param(_put("version", True), "version", id="version-true"),
    pytest.param(_put("version", 1.0), "version", id="version-float"),
    pytest.param(_put("version", None), "version", id="version-null"),
    # missing fields
    *(pytest.param(_drop(name), name, id=f"missing-{name}") for name in WIRE_FIELDS[1:]),
    # wrong types, never coerced
    pytest.param(_put("cursor", 3), "cursor", id="cursor-int"),
    pytest.param(_put("cursor", None), "cursor", id="cursor-null"),
    pytest.param(_put("dag_name", ["x"]), "dag_name", id="dag-name-list"),
    pytest.param(_put("executed_nodes", "a"), "executed_nodes", id="executed-nodes-str"),
    pytest.param(_put("executed_nodes", {"a": 1}), "executed_nodes", id="executed-nodes-object"),
    pytest.param(_put("executed_nodes", [1]), "executed_nodes", id="executed-nodes-int-item"),
    pytest.param(_put("skipped_nodes", None), "skipped_nodes", id="skipped-nodes-null"),
    pytest.param(_put("skipped_nodes", "ab"), "skipped_nodes", id="skipped-nodes-str"),
    pytest.param(_put("stores", []), "stores", id="stores-list"),
    pytest.param(_put("state", []), "state", id="state-list"),
    pytest.param(_put("state", "x"), "state", id="state-str"),
    pytest.param(_put("stores.log", 3), "stores.log", id="store-int"),
    pytest.param(_put("stores.log.version", "1"), "stores.log.version", id="store-version-str"),
    pytest.param(_put("stores.log.type", 1), "stores.log.type", id="store-type-int"),
    pytest.param(_put("stores.log.entries", []), "stores.log.entries", id="store-entries-list"),
    pytest.param(_remove("stores.log.type"), "stores.log.type", id="store-missing-type"),
    pytest.param(_remove("stores.log.entries"), "stores.log.entries", id="store-missing-entries"),
    # extra fields
    pytest.param(_put("extra", 1), "extra", id="extra-top-level"),
    pytest.param(_put("stores.log.extra", 1), "stores.log.extra", id="extra-in-store-snapshot"),
    pytest.param(_put("state.extra", {}), "state.extra", id="extra-in-state"),
    # a state snapshot of the wrong shape
    pytest.param(_put("state.fields", []), "state.fields", id="state-fields-list"),
    pytest.param(_put("state.metadata", "m"), "state.metadata", id="state-metadata-str"),
    pytest.param(_remove("state.fields"), "state.fields", id="state-missing-fields"),
    pytest.param(_remove("state.metadata"), "state.metadata", id="state-missing-metadata"),
    pytest.param(_put("state.fields.bad", (1, 2)), "state.fields.bad", id="state-tuple"),
    pytest.param(_put("state.fields.bad", math.nan), "state.fields.bad", id="state-nan"),
    pytest.param(_put("state.metadata.bad", {1: 2}), "state.metadata.bad", id="state-int-key"),
    pytest.param(_put("state.metadata.bad", object()), "state.metadata.bad", id="state-object"),
    # store entries that are not JSON data
    pytest.param(_put("stores.log.entries.bad", math.inf), "stores.log.entries", id="store-inf"),
    pytest.param(_put("stores.log.entries.bad", (1,)), "stores.log.entries", id="store-tuple"),
]


@pytest.mark.parametrize(("spoil", "field"), BAD_DOCUMENTS)
async def test_load_names_the_bad_field(
    spoil: Callable[[dict[str, Any]], None], field: str
) -> None:
    """Each malformed document is a CheckpointError whose ``field`` names the culprit."""
    doc = await _base_wire()
    spoil(doc)
    with pytest.raises(CheckpointError) as info:
        Checkpoint.load(doc)
    assert_names(info.value.field, field)


def assert_names(got: str | None, field: str) -> None:
    """``got`` is ``field`` or a path inside it (``field.x``, ``field[0]``)."""
    assert got is not None
    assert got == field or got.startswith((f"{field}.", f"{field}[")), (
        f"field {got!r} does not name {field!r}"
    )


async def test_load_from_text_refuses_non_finite_numbers() -> None:
    """Python's json module reads NaN/Infinity; a checkpoint refuses them (state and stores)."""
    doc = await _base_wire()
    text = json.dumps(doc)
    in_state = text.replace('"count": 3', '"count": NaN')
    assert in_state != text
    with pytest.raises(CheckpointError) as info:
        Checkpoint.load(in_state)
    assert info.value.field == "state.fields.count"
    in_store = text.replace('"entries": {"k": 1}', '"entries": {"k": Infinity}')
    assert in_store != text
    with pytest.raises(CheckpointError) as info:
        Checkpoint.load(in_store)
    assert info.value.field is not None
    assert info.value.field.startswith("stores.log.entries")


@pytest.mark.parametrize(
    "text",
    ["", "{not json", '{"version": 1', "version: 1", "\x00"],
    ids=["empty", "bad-object", "truncated", "yaml", "nul"],
)
def test_load_refuses_text_that_is_not_json(text: str) -> None:
    """Text that is not JSON: CheckpointError about the whole document (no field)."""
    with pytest.raises(CheckpointError, match="JSON") as info:
        Checkpoint.load(text)
    assert info.value.field is None


@pytest.mark.parametrize("doc", ["[1, 2]", "3", '"text"', "null", "true", [1, 2]], ids=repr)
def test_load_refuses_json_that_is_not_an_object(doc: Any) -> None:
    with pytest.raises(CheckpointError, match="object") as info:
        Checkpoint.load(doc)
    assert info.value.field is None


async def test_load_error_message_names_the_field_and_problem() -> None:
    doc = await _base_wire()
    doc["cursor"] = 3
    with pytest.raises(CheckpointError) as info:
        Checkpoint.load(doc)
    assert "cursor" in str(info.value)
    doc = await _base_wire()
    doc["version"] = 2
    with pytest.raises(CheckpointError) as info:
        Checkpoint.load(doc)
    assert "2" in str(info.value)


# ============================================================================ state fields


async def test_transient_fields_are_left_out_and_restored_as_defaults() -> None:
    state = Live(count=2, handle=object(), limit=99)
    ckpt = await Checkpoint.capture("one-step", await interrupted(state))
    wire = json.loads(ckpt.to_json())
    assert wire["state"]["fields"] == {"count": 2}
    restored = Checkpoint.load(wire).restore_state(Live.restore).state
    assert restored.count == 2
    assert restored.handle is None
    assert restored.limit == 7


async def test_async_iterator_in_a_transient_field_is_not_captured() -> None:
    async def numbers() -> Any:
        yield 1

    gen = numbers()
    state = Live(handle=gen)
    ckpt = await Checkpoint.capture("one-step", await interrupted(state))
    assert "handle" not in ckpt.to_dict()["state"]["fields"]
    await gen.aclose()


@attrs.define
class Holder(NodeStateBase):
    plain: int = 0
    bag: Any = None
    tags: dict[str, Any] = attrs.field(factory=dict)
    ratio: float = 0.0


@pytest.mark.parametrize(
    ("values", "name"),
    [
        pytest.param({"bag": object()}, "bag", id="object"),
        pytest.param({"bag": {1, 2}}, "bag", id="set"),
        pytest.param({"bag": math.inf}, "bag", id="inf"),
        pytest.param({"ratio": math.nan}, "ratio", id="nan-float-field"),
        pytest.param({"tags": {"a": {3: "int key"}}}, "tags", id="int-key-inside"),
        pytest.param({"tags": {"a": [1, trio.Event()]}}, "tags", id="object-inside-list"),
    ],
)
async def test_capture_names_a_state_field_that_cannot_be_data(
    values: dict[str, Any], name: str
) -> None:
    """A non-transient field cattrs cannot make into JSON data fails capture, naming it."""
    result = await interrupted(Holder(**values))
    with pytest.raises(CheckpointError) as info:
        await Checkpoint.capture("one-step", result)
    field = info.value.field
    assert field is not None
    assert f"fields.{name}" in field
    assert name in str(info.value)


async def test_capture_names_metadata_that_cannot_be_data() -> None:
    state = Holder()
    state.set_metadata("where", {"inner": {1, 2}})
    with pytest.raises(CheckpointError) as info:
        await Checkpoint.capture("one-step", await interrupted(state))
    assert info.value.field is not None
    assert "metadata" in info.value.field
    assert "where" in info.value.field


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"count": "3"}, "state.fields.count", id="str-for-int"),
        pytest.param({"count": 2.7}, "state.fields.count", id="float-for-int"),
        pytest.param({"count": True}, "state.fields.count", id="bool-for-int"),
        pytest.param({"active": 1}, "state.fields.active", id="int-for-bool"),
        pytest.param({"note": 1}, "state.fields.note", id="int-for-optional-str"),
        pytest.param({"names": "ab"}, "state.fields.names", id="str-for-list"),
        pytest.param({"names": [1]}, "state.fields.names", id="int-in-str-list"),
        pytest.param({"prices": {"a": "1.5"}}, "state.fields.prices.a", id="str-in-float-dict"),
        pytest.param({"prices": [["a", 1.5]]}, "state.fields.prices", id="pairs-for-dict"),
        pytest.param({"bogus": 1}, "state.fields.bogus", id="unknown-field"),
    ],
)
async def test_restore_state_names_a_field_of_the_wrong_type(
    fields: dict[str, Any], field: str
) -> None:
    """``restore_state`` raises CheckpointError naming the field; nothing is coerced."""
    wire = json.loads(
        (await Checkpoint.capture("one-step", await interrupted(Inventory()))).to_json()
    )
    wire["state"]["fields"].update(fields)
    ckpt = Checkpoint.load(wire)
    with pytest.raises(CheckpointError) as info:
        ckpt.restore_state(Inventory.restore)
    assert_names(info.value.field, field)


async def test_restore_state_with_another_class_names_the_unknown_fields() -> None:
    ckpt = await Checkpoint.capture("one-step", await interrupted(Inventory(count=1)))
    with pytest.raises(CheckpointError) as info:
        Checkpoint.load(ckpt.to_json()).restore_state(Live.restore)
    assert info.value.field is not None
    assert info.value.field.startswith("state.fields.")


# ============================================================================ properties

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)

_class_ids = iter(range(10**9))


@attrs.frozen
class FieldKind:
    """A field type for generated state classes, with a strategy for its values."""

    tp: Any
    values: st.SearchStrategy[Any]


SCALAR_KINDS = [
    FieldKind(int, st.integers()),
    FieldKind(str, st.text(max_size=10)),
    FieldKind(float, st.floats(allow_nan=False, allow_infinity=False)),
    FieldKind(bool, st.booleans()),
]


def _containers(inner: st.SearchStrategy[FieldKind]) -> st.SearchStrategy[FieldKind]:
    lists = inner.map(lambda k: FieldKind(list[k.tp], st.lists(k.values, max_size=4)))
    dicts = inner.map(
        lambda k: FieldKind(
            dict[str, k.tp], st.dictionaries(st.text(max_size=5), k.values, max_size=4)
        )
    )
    optionals = inner.map(lambda k: FieldKind(k.tp | None, st.none() | k.values))
    nested = st.lists(inner, min_size=1, max_size=3).map(_nested_kind)
    return lists | dicts | optionals | nested


def _nested_kind(kinds: list[FieldKind]) -> FieldKind:
    """An attrs class (not a state) with one field per kind."""
    cls = attrs.make_class(
        f"Nested{next(_class_ids)}",
        {f"n{i}": attrs.field(type=k.tp) for i, k in enumerate(kinds)},
    )
    strategies = {f"n{i}": k.values for i, k in enumerate(kinds)}
    return FieldKind(cls, st.builds(cls, **strategies))


FIELD_KINDS = st.recursive(st.sampled_from(SCALAR_KINDS), _containers, max_leaves=4)


@st.composite
def generated_states(draw: st.DrawFn) -> NodeStateBase:
    """An instance of a freshly generated attrs subclass of NodeStateBase."""
    kinds = draw(st.lists(FIELD_KINDS, max_size=5))
    cls = attrs.make_class(
        f"GeneratedState{next(_class_ids)}",
        {f"f{i}": attrs.field(type=k.tp) for i, k in enumerate(kinds)},
        bases=(NodeStateBase,),
        kw_only=True,
    )
    values = {f"f{i}": draw(k.values) for i, k in enumerate(kinds)}
    state = cls(**values)
    metadata = draw(
        st.dictionaries(
            st.text(max_size=6).filter(lambda k: k != RESUME_KEY), JSON_VALUES, max_size=4
        )
    )
    for key, value in metadata.items():
        state.set_metadata(key, value)
    return state


STORE_CONTENTS = st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=6)


def domain(state: NodeStateBase) -> dict[str, Any]:
    base = {a.name for a in attrs.fields(NodeStateBase)}
    return {a.name: getattr(state, a.name) for a in attrs.fields(type(state)) if a.name not in base}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    state=generated_states(),
    contents=st.lists(STORE_CONTENTS, min_size=0, max_size=3),
)
async def test_property_load_to_json_capture_restores_everything(
    state: NodeStateBase, contents: list[dict[str, Any]]
) -> None:
    """``load(to_json(capture(...)))`` restores equal domain fields, metadata and stores."""
    expected_fields = copy.deepcopy(domain(state))
    expected_metadata = copy.deepcopy(state.metadata)
    stores: dict[str, MemoryStore] = {}
    for index, entries in enumerate(contents):
        stores[f"store{index}"] = store = MemoryStore()
        for key, value in entries.items():
            await store.set(key, value)
    result = await interrupted(state)
    ckpt = await Checkpoint.capture("one-step", result, stores=stores)

    loaded = Checkpoint.load(ckpt.to_json())
    assert loaded == ckpt
    fresh = {name: MemoryStore() for name in stores}
    await loaded.restore_stores(fresh)
    restored = loaded.restore_state(type(state).restore)

    assert type(restored.state) is type(state)
    assert domain(restored.state) == expected_fields
    assert restored.state.metadata == expected_metadata
    assert restored.state.lifecycle.variant is LifecycleVariant.PENDING
    assert restored.state.errors == []
    assert restored.cursor == "only"
    for name, entries in zip(stores, contents, strict=True):
        snapshot = await fresh[name].snapshot()
        assert snapshot.entries == entries
        assert list(snapshot.entries) == list(entries)


@settings(max_examples=50, deadline=None)
@given(contents=STORE_CONTENTS)
async def test_property_store_snapshots_survive_load(contents: dict[str, Any]) -> None:
    """A store snapshot inside a checkpoint loads back equal, with its key order."""
    store = MemoryStore()
    for key, value in contents.items():
        await store.set(key, value)
    ckpt = await Checkpoint.capture(
        "one-step", await interrupted(NodeStateBase()), stores={"s": store}
    )
    loaded = Checkpoint.load(json.loads(ckpt.to_json()))
    snapshot = loaded.stores["s"]
    assert isinstance(snapshot, StoreSnapshot)
    assert snapshot == await store.snapshot()
    assert list(snapshot.entries) == list(contents)
