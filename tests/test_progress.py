"""Resume progress: what an interrupted composite placement leaves on the state.

``_progress`` is the pure bookkeeping (no awaits, no clock). These tests
treat it as Dagster's ``test_active.py`` treats its state machine: build a
progress record as a run would leave it, "crash" (write it to JSON data
under the reserved metadata key and read it back), and assert that the
rebuilt record says exactly what would run next. Malformed records are a
``CheckpointError`` whose ``field`` points inside the reserved key.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import attrs
import pytest
import trio
from _ckpt_helpers import RESUME_KEY, interrupted

from dagon_actors import (
    AbortController,
    Checkpoint,
    CheckpointError,
    DAGBuilder,
    Dagonizer,
    GatherRecord,
    LifecycleVariant,
    NodeContext,
    NodeStateBase,
    node,
    transient,
)
from dagon_actors._progress import (
    EmbeddedProgress,
    Frame,
    ParallelProgress,
    PendingItem,
    ScatterProgress,
    resume_from_wire,
)


@attrs.define
class Work(NodeStateBase):
    value: int = 0
    trail: list[str] = attrs.field(factory=list)


def clone_of(value: int, item: Any, index: int, trail: list[str] | None = None) -> Work:
    clone = Work(value=value, trail=list(trail or []))
    clone.set_metadata("item", item)
    clone.set_metadata("item_index", index)
    return clone


def through_wire(state: NodeStateBase) -> Any:
    """Snapshot ``state`` as JSON text and restore it: the crash and rebuild."""
    snapshot = json.loads(json.dumps(state.snapshot(), allow_nan=False))
    return type(state).restore(snapshot)


def scatter_progress() -> ScatterProgress:
    """A scatter over 8 items stopped with: 0-1 folded, 3-4 finished early, 2 and 5 in flight.

    Item 5 is a DAG-body clone whose child stopped at ``p2``.
    """
    child = Frame(dag=None, state=clone_of(50, {"n": 5}, 5, ["p1"]), cursor="p2", begun=True)
    return ScatterProgress(
        placement="s",
        pulled=6,
        next_fold=2,
        successes=1,
        failures=1,
        exhausted=False,
        done={
            3: GatherRecord(
                index=3, item={"n": 3}, output="success", clone_state=clone_of(30, {"n": 3}, 3)
            ),
            4: GatherRecord(
                index=4, item={"n": 4}, output=None, clone_state=clone_of(40, {"n": 4}, 4)
            ),
        },
        pending={2: PendingItem({"n": 2}), 5: PendingItem({"n": 5}, child)},
        records=[
            GatherRecord(
                index=0, item={"n": 0}, output="success", clone_state=clone_of(0, {"n": 0}, 0)
            ),
            GatherRecord(
                index=1, item={"n": 1}, output="error", clone_state=clone_of(10, {"n": 1}, 1)
            ),
        ],
    )


# ============================================================================ round trips


def test_scatter_progress_survives_a_crash() -> None:
    """Pulled count, fold position, tallies, buffered results and in-flight items all come back."""
    state = Work(value=7)
    state._resume = scatter_progress()  # pyright: ignore[reportPrivateUsage]
    back = through_wire(state)

    progress = back._resume  # pyright: ignore[reportPrivateUsage]
    assert isinstance(progress, ScatterProgress)
    assert progress.placement == "s"
    assert (progress.pulled, progress.next_fold) == (6, 2)
    assert (progress.successes, progress.failures, progress.exhausted) == (1, 1, False)
    # What runs next: exactly the pulled-but-unfinished items, then index 6 on.
    assert sorted(progress.pending) == [2, 5]
    assert progress.pending[2].item == {"n": 2}
    assert progress.pending[2].frame is None
    child = progress.pending[5].frame
    assert child is not None
    assert child.cursor == "p2"
    assert child.begun
    assert type(child.state) is Work
    assert child.state.trail == ["p1"]
    assert child.state.metadata == {"item": {"n": 5}, "item_index": 5}
    # Finished-but-unfolded results keep what their gather needs.
    assert sorted(progress.done) == [3, 4]
    assert progress.done[3].output == "success"
    assert progress.done[4].output is None
    assert progress.done[3].item == {"n": 3}
    assert progress.done[3].clone_state.value == 30
    assert progress.records is not None
    assert [(r.index, r.output, r.clone_state.value) for r in progress.records] == [
        (0, "success", 0),
        (1, "error", 10),
    ]
    # The reserved key is consumed: it is not left in the user's metadata.
    assert RESUME_KEY not in back.metadata
    assert back.value == 7
    assert back.lifecycle.variant is LifecycleVariant.PENDING


def test_scatter_progress_wire_is_tagged_json() -> None:
    state = Work()
    state._resume = scatter_progress()  # pyright: ignore[reportPrivateUsage]
    wire = state.snapshot()["metadata"][RESUME_KEY]
    assert json.loads(json.dumps(wire, allow_nan=False)) == wire
    assert wire["kind"] == "scatter"
    assert wire["placement"] == "s"
    assert wire["pulled"] == 6
    assert [p["index"] for p in wire["pending"]] == [2, 5]
    assert wire["pending"][1]["child"]["cursor"] == "p2"
    assert [d["index"] for d in wire["done"]] == [3, 4]


def test_progress_round_trips_unchanged_through_a_second_crash() -> None:
    state = Work()
    state._resume = scatter_progress()  # pyright: ignore[reportPrivateUsage]
    once = through_wire(state)
    twice = through_wire(once)
    assert twice.snapshot() == once.snapshot() == state.snapshot()


def test_embedded_progress_survives_a_crash_with_nested_progress() -> None:
    """An embedded child's cursor and state come back, with the child's own progress inside."""
    grandchild = Frame(dag=None, state=Work(trail=["g1"]), cursor="g2", begun=True)
    child_state = Work(value=3, trail=["c1"])
    child_state._resume = EmbeddedProgress(placement="inner", child=grandchild)  # pyright: ignore[reportPrivateUsage]
    state = Work(value=1)
    state._resume = EmbeddedProgress(  # pyright: ignore[reportPrivateUsage]
        placement="emb", child=Frame(dag=None, state=child_state, cursor="inner", begun=True)
    )
    back = through_wire(state)

    progress = back._resume  # pyright: ignore[reportPrivateUsage]
    assert isinstance(progress, EmbeddedProgress)
    assert progress.placement == "emb"
    assert progress.child.cursor == "inner"
    assert progress.child.begun
    assert progress.child.state.trail == ["c1"]
    inner = progress.child.state._resume  # pyright: ignore[reportPrivateUsage]
    assert isinstance(inner, EmbeddedProgress)
    assert inner.placement == "inner"
    assert inner.child.cursor == "g2"
    assert inner.child.state.trail == ["g1"]


def test_parallel_progress_survives_a_crash() -> None:
    """Members that finished keep their outputs; ``None`` marks one that failed."""
    state = Work()
    state._resume = ParallelProgress(placement="p", done={"a": "success", "b": None})  # pyright: ignore[reportPrivateUsage]
    wire = state.snapshot()["metadata"][RESUME_KEY]
    assert wire == {"kind": "parallel", "placement": "p", "done": {"a": "success", "b": None}}
    progress = through_wire(state)._resume  # pyright: ignore[reportPrivateUsage]
    assert isinstance(progress, ParallelProgress)
    assert progress.done == {"a": "success", "b": None}


def test_a_state_without_progress_writes_no_reserved_key() -> None:
    state = Work()
    state.set_metadata("user", 1)
    assert state.snapshot()["metadata"] == {"user": 1}
    assert through_wire(state)._resume is None  # pyright: ignore[reportPrivateUsage]


# ============================================================================ malformed records


def _scatter_wire() -> dict[str, Any]:
    state = Work()
    state._resume = scatter_progress()  # pyright: ignore[reportPrivateUsage]
    return copy.deepcopy(state.snapshot()["metadata"][RESUME_KEY])


def _drop(key: str) -> Any:
    def change(wire: dict[str, Any]) -> None:
        del wire[key]

    return change


def _put(key: str, value: Any) -> Any:
    def change(wire: dict[str, Any]) -> None:
        wire[key] = value

    return change


def _child_field(value: Any) -> Any:
    def change(wire: dict[str, Any]) -> None:
        wire["pending"][1]["child"]["state"]["fields"]["value"] = value

    return change


MALFORMED = [
    pytest.param(_drop("pulled"), "pulled", id="missing-pulled"),
    pytest.param(_drop("kind"), "", id="missing-kind"),
    pytest.param(_put("kind", "loop"), "", id="unknown-kind"),
    pytest.param(_put("pulled", "6"), "pulled", id="pulled-str"),
    pytest.param(_put("pulled", 6.0), "pulled", id="pulled-float"),
    pytest.param(_put("exhausted", 0), "exhausted", id="exhausted-int"),
    pytest.param(_put("placement", None), "placement", id="placement-null"),
    pytest.param(_put("extra", 1), "extra", id="extra-key"),
    pytest.param(_put("pending", {}), "pending", id="pending-object"),
    pytest.param(_child_field("50"), "pending", id="child-state-field-str"),
]


@pytest.mark.parametrize(("spoil", "inside"), MALFORMED)
def test_malformed_progress_is_a_checkpoint_error_inside_the_reserved_key(
    spoil: Any, inside: str
) -> None:
    """A bad progress record names a field under ``state.metadata.__dagon_resume__``."""
    wire = _scatter_wire()
    spoil(wire)
    snapshot = {"fields": {"value": 0, "trail": []}, "metadata": {RESUME_KEY: wire}}
    with pytest.raises(CheckpointError) as info:
        Work.restore(snapshot)
    field = info.value.field
    assert field is not None
    root = f"state.metadata.{RESUME_KEY}"
    assert field == root or field.startswith((f"{root}.", f"{root}[")), field
    if inside:
        assert field.startswith(f"{root}.{inside}"), field


@pytest.mark.parametrize("wire", [3, "scatter", [1], None, {}], ids=repr)
def test_progress_that_is_not_a_record_is_refused(wire: Any) -> None:
    if wire is None:
        # ``None`` under the reserved key means "no progress".
        assert Work.restore({"fields": {}, "metadata": {RESUME_KEY: None}})._resume is None  # pyright: ignore[reportPrivateUsage]
        return
    with pytest.raises(CheckpointError) as info:
        resume_from_wire(wire, Work)
    assert info.value.field is not None
    assert info.value.field.startswith(f"state.metadata.{RESUME_KEY}")


async def test_malformed_progress_in_a_loaded_checkpoint_fails_restore_state() -> None:
    """``restore_state`` refuses the record; no state comes back half-restored."""
    ckpt = await Checkpoint.capture("one-step", await interrupted(Work()))
    wire = json.loads(ckpt.to_json())
    wire["state"]["metadata"][RESUME_KEY] = {"kind": "parallel", "placement": "p", "done": {"a": 3}}
    with pytest.raises(CheckpointError) as info:
        Checkpoint.load(wire).restore_state(Work.restore)
    assert info.value.field == f"state.metadata.{RESUME_KEY}.done.a"


# ============================================================================ in a real run


@attrs.define
class Objects(NodeStateBase):
    source: Any = transient()
    out: list[int] = attrs.field(factory=list)


async def test_scatter_items_that_are_not_data_fail_capture_naming_the_scatter(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Items pulled from a transient source must be JSON data to be checkpointed."""

    @node("slow", outputs=("success",))
    async def slow(state: Objects, ctx: NodeContext[Any]) -> str:
        await trio.sleep(10)
        return "success"

    dag = (
        DAGBuilder("objects")
        .scatter(
            "fan",
            slow,
            source="source",
            routes={"all-success": None, "partial": None, "all-error": None, "empty": None},
            concurrency=2,
        )
        .build()
    )
    dispatcher: Dagonizer[Any, Any] = Dagonizer()
    dispatcher.register_dag(dag)
    controller = AbortController()
    state = Objects(source=iter([object(), object(), object()]))
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:

            async def stop() -> None:
                await trio.sleep(1)
                controller.abort()

            nursery.start_soon(stop)
            result = await dispatcher.execute("objects", state, abort=controller.signal)
    assert result.cursor == "fan"
    with pytest.raises(CheckpointError) as info:
        await Checkpoint.capture("objects", result)
    assert "fan" in str(info.value)
    assert info.value.field is not None
    assert info.value.field.startswith("state.metadata")


async def test_finished_composites_leave_no_progress(autojump_clock: trio.abc.Clock) -> None:
    """Progress lives only while a composite is in flight; after it, the snapshot is clean."""

    @node("item", outputs=("success",))
    async def item(state: Work, ctx: NodeContext[Any]) -> str:
        await trio.sleep(1)
        return "success"

    @node("wait", outputs=("next",))
    async def wait(state: Work, ctx: NodeContext[Any]) -> str:
        await trio.sleep(100)
        return "next"

    dag = (
        DAGBuilder("after-scatter")
        .scatter(
            "fan",
            item,
            source="trail",
            routes={"all-success": "wait", "partial": "wait", "all-error": "wait", "empty": "wait"},
        )
        .node("wait", wait, {"next": None})
        .build()
    )
    dispatcher: Dagonizer[Any, Any] = Dagonizer()
    dispatcher.register_dag(dag)
    controller = AbortController()
    state = Work(trail=["a", "b"])
    with trio.fail_after(300):
        async with trio.open_nursery() as nursery:

            async def stop() -> None:
                await trio.sleep(50)
                controller.abort()

            nursery.start_soon(stop)
            result = await dispatcher.execute("after-scatter", state, abort=controller.signal)
    assert result.cursor == "wait"
    ckpt = await Checkpoint.capture("after-scatter", result)
    assert RESUME_KEY not in ckpt.to_dict()["state"]["metadata"]
