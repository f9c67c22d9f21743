"""The public test kit: RecordingStore, RecordingNode and Rendezvous."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import attrs
import pytest
import trio
import trio.testing

import dagon_actors.testing
from dagon_actors._errors import StoreError, StoreErrorReason
from dagon_actors._store import MemoryStore, Store, StoreSnapshot
from dagon_actors.testing import (
    NodeRecord,
    RecordingNode,
    RecordingStore,
    Rendezvous,
    StoreRecord,
)

GUARD = 60


def test_public_names() -> None:
    """The kit exports exactly its documented names, under the public module."""
    assert sorted(dagon_actors.testing.__all__) == [
        "NodeRecord",
        "RecordingNode",
        "RecordingStore",
        "Rendezvous",
        "StoreRecord",
    ]
    for name in dagon_actors.testing.__all__:
        assert getattr(dagon_actors.testing, name).__module__ == "dagon_actors.testing"


# --------------------------------------------------------------------------- RecordingStore


async def test_recording_store_is_a_store() -> None:
    """A RecordingStore can stand wherever a Store is expected."""
    assert isinstance(RecordingStore(MemoryStore()), Store)


async def test_recording_store_logs_every_operation(autojump_clock: trio.abc.Clock) -> None:
    """Each operation is logged with op, key, value and result, and results are unchanged."""
    store = RecordingStore(MemoryStore())
    await store.set("a", [1])
    assert await store.get("a") == [1]
    assert await store.has("a") is True
    assert await store.update("a", lambda v: [*v, 2]) == [1, 2]
    assert await store.keys() == ["a"]
    snapshot = await store.snapshot()
    await store.restore(snapshot)
    assert await store.delete("a") is True

    rows = [(r.op, r.key, r.value, r.result) for r in store.log]
    assert rows == [
        ("set", "a", [1], None),
        ("get", "a", None, [1]),
        ("has", "a", None, True),
        ("update", "a", [1], [1, 2]),
        ("keys", None, None, ["a"]),
        ("snapshot", None, None, snapshot),
        ("restore", None, snapshot, None),
        ("delete", "a", None, True),
    ]
    assert all(isinstance(r, StoreRecord) and r.error is None for r in store.log)


async def test_recording_store_logs_time_and_task(autojump_clock: trio.abc.Clock) -> None:
    """Records carry start and finish in virtual time and the calling task's name."""
    store = RecordingStore(MemoryStore())

    async def slow(_: Any) -> int:
        await trio.sleep(3)
        return 1

    async def late_reader() -> None:
        await trio.sleep(1)
        await store.get("k")

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(store.update, "k", slow, name="writer")
            nursery.start_soon(late_reader, name="reader")

    assert [(r.task, r.op, r.started, r.finished, r.result) for r in store.log] == [
        ("writer", "update", 0, 3, 1),
        ("reader", "get", 1, 3, 1),
    ]


async def test_recording_store_forwards_check_snapshot() -> None:
    """check_snapshot reaches the inner store, so checkpoints can pre-check it."""
    inner = MemoryStore()
    store = RecordingStore(inner)
    good = await inner.snapshot()
    store.check_snapshot(good)
    with pytest.raises(StoreError) as info:
        store.check_snapshot(StoreSnapshot(version=1, type="other", entries={}))
    assert info.value.reason is StoreErrorReason.INCOMPATIBLE_SNAPSHOT


async def test_recording_store_logs_errors_and_reraises() -> None:
    """A refused call is logged with its error, which still reaches the caller."""
    store = RecordingStore(MemoryStore())
    with pytest.raises(StoreError) as info:
        await store.set("k", (1, 2))
    (record,) = store.log
    assert record.op == "set"
    assert record.error is info.value
    assert info.value.reason is StoreErrorReason.NOT_SERIALIZABLE


async def test_recording_store_logs_cancellation(autojump_clock: trio.abc.Clock) -> None:
    """A cancelled call is logged with the Cancelled it raised."""
    store = RecordingStore(MemoryStore())

    async def forever(_: Any) -> int:
        await trio.sleep_forever()

    with trio.move_on_after(2):
        await store.update("k", forever)
    (record,) = store.log
    assert isinstance(record.error, trio.Cancelled)
    assert (record.started, record.finished) == (0, 2)


async def test_recording_store_log_is_not_aliased() -> None:
    """Mutating a value after set does not change what the log says was written."""
    store = RecordingStore(MemoryStore())
    value = {"n": [1]}
    await store.set("k", value)
    value["n"].append(2)
    assert store.log[0].value == {"n": [1]}


async def test_recording_store_keeps_reentry_detection() -> None:
    """An update fn calling the recording store still gets REENTRANT."""
    store = RecordingStore(MemoryStore())

    async def reenter(_: Any) -> Any:
        return await store.get("k")

    with trio.fail_after(5), pytest.raises(StoreError) as info:
        await store.update("k", reenter)
    assert info.value.reason is StoreErrorReason.REENTRANT


async def test_recording_store_shows_lost_update(autojump_clock: trio.abc.Clock) -> None:
    """The log exposes the lost update: both writers read the same value."""
    store = RecordingStore(MemoryStore())
    rv = Rendezvous()
    await store.set("n", 0)

    async def naive_increment() -> None:
        value = await store.get("n")
        await rv.meet("both-read", 2)
        await store.set("n", value + 1)

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(naive_increment)
            nursery.start_soon(naive_increment)

    reads = [r.result for r in store.log if r.op == "get"]
    writes = [r.value for r in store.log if r.op == "set"][1:]
    assert reads == [0, 0]
    assert writes == [1, 1]
    assert await store.get("n") == 1


# --------------------------------------------------------------------------- RecordingNode


@attrs.frozen
class Ctx:
    placement_path: tuple[str, ...]
    item_index: int | None = None


class Sleeper:
    """A tiny node: sleeps, then returns an output or raises."""

    name = "sleeper"
    outputs = ("ok",)
    timeout = 30.0

    def __init__(self, delay: float = 1, fail: BaseException | None = None) -> None:
        self.delay = delay
        self.fail = fail

    async def execute(self, state: Any, ctx: Any) -> str:
        await trio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        state.append(ctx.item_index)
        return "ok"


async def test_recording_node_presents_inner_node() -> None:
    """name, outputs and optional attributes like timeout are the inner node's."""
    node = RecordingNode(Sleeper())
    assert node.name == "sleeper"
    assert tuple(node.outputs) == ("ok",)
    assert node.timeout == 30.0
    assert not hasattr(node, "retry")


async def test_recording_node_logs_start_and_end(autojump_clock: trio.abc.Clock) -> None:
    """Start and end records carry time, placement path, item index and output."""
    node = RecordingNode(Sleeper(delay=2))
    state: list[Any] = []
    output = await node.execute(state, Ctx(("main", "sleeper"), 3))
    assert output == "ok"
    assert state == [3]
    assert node.log == [
        NodeRecord(
            event="start",
            time=0,
            node="sleeper",
            placement_path=("main", "sleeper"),
            item_index=3,
            call=0,
        ),
        NodeRecord(
            event="end",
            time=2,
            node="sleeper",
            placement_path=("main", "sleeper"),
            item_index=3,
            call=0,
            output="ok",
        ),
    ]


async def test_recording_node_timetable_for_concurrent_items(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Concurrent executions pair up into one timetable row each, in start order."""
    node = RecordingNode(Sleeper(delay=2))

    async def run_item(index: int, start: float) -> None:
        await trio.sleep(start)
        await node.execute([], SimpleNamespace(placement_path=("scatter",), item_index=index))

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_item, 0, 0)
            nursery.start_soon(run_item, 1, 1)

    assert node.timetable() == [
        (("scatter",), 0, 0, 2, "ok"),
        (("scatter",), 1, 1, 3, "ok"),
    ]
    assert [(r.event, r.item_index) for r in node.log] == [
        ("start", 0),
        ("start", 1),
        ("end", 0),
        ("end", 1),
    ]


async def test_recording_node_logs_exception_and_reraises(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A raising node is logged with its exception, which propagates unchanged."""
    boom = RuntimeError("boom")
    node = RecordingNode(Sleeper(delay=1, fail=boom))
    with pytest.raises(RuntimeError) as info:
        await node.execute([], Ctx(("p",)))
    assert info.value is boom
    assert node.timetable() == [(("p",), None, 0, 1, boom)]


async def test_recording_node_running_execution_has_no_end(
    autojump_clock: trio.abc.Clock,
) -> None:
    """An execution still running shows with finished=None."""
    node = RecordingNode(Sleeper(delay=10))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(node.execute, [], Ctx(("p",)))
        await trio.sleep(1)
        assert node.timetable() == [(("p",), None, 0, None, None)]
        nursery.cancel_scope.cancel()
    assert isinstance(node.log[-1].error, trio.Cancelled)


# --------------------------------------------------------------------------- Rendezvous


async def test_meet_releases_all_parties_together(autojump_clock: trio.abc.Clock) -> None:
    """meet holds early arrivals until the last party comes, then all go on at once."""
    rv = Rendezvous()
    passed: list[tuple[str, float]] = []

    async def party(name: str, arrive: float) -> None:
        await trio.sleep(arrive)
        await rv.meet("p", 3)
        passed.append((name, trio.current_time()))

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            for name, arrive in [("a", 1), ("b", 5), ("c", 2)]:
                nursery.start_soon(party, name, arrive)
            await trio.sleep(3)
            assert rv.waiting("p") == 2

    assert sorted(passed) == [("a", 5), ("b", 5), ("c", 5)]
    assert rv.waiting("p") == 0


async def test_meet_is_one_shot_and_checks_parties() -> None:
    """A spent point or a different party count is a RuntimeError."""
    rv = Rendezvous()
    await rv.meet("solo", 1)
    with pytest.raises(RuntimeError, match="already"):
        await rv.meet("solo", 1)
    with pytest.raises(ValueError, match="at least 1"):
        await rv.meet("none", 0)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(rv.meet, "pair", 2)
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(RuntimeError, match="2 parties"):
            await rv.meet("pair", 3)
        await rv.meet("pair", 2)


async def test_meet_cancelled_party_does_not_count(autojump_clock: trio.abc.Clock) -> None:
    """A party cancelled while waiting leaves, so the barrier still needs a full count."""
    rv = Rendezvous()
    with trio.move_on_after(1):
        await rv.meet("p", 2)
    assert rv.waiting("p") == 0

    async with trio.open_nursery() as nursery:
        nursery.start_soon(rv.meet, "p", 2)
        await trio.testing.wait_all_tasks_blocked()
        assert rv.waiting("p") == 1  # the cancelled party did not complete the pair
        await rv.meet("p", 2)


async def test_wait_blocks_until_release(autojump_clock: trio.abc.Clock) -> None:
    """wait blocks until release; after release, waits pass at once."""
    rv = Rendezvous()
    passed: list[float] = []

    async def waiter() -> None:
        await rv.wait("go")
        passed.append(trio.current_time())

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter)
            nursery.start_soon(waiter)
            await trio.sleep(4)
            assert rv.waiting("go") == 2
            assert passed == []
            rv.release("go")
        await rv.wait("go")
    assert passed == [4, 4]


async def test_release_before_wait_latches(autojump_clock: trio.abc.Clock) -> None:
    """Releasing a point nobody waits at yet lets every later waiter straight through,
    while a point never released still blocks."""
    rv = Rendezvous()
    rv.release("early")
    with trio.fail_after(GUARD):
        await rv.wait("early")
        await rv.wait("early")
    assert trio.current_time() == 0
    assert rv.waiting("early") == 0
    with trio.move_on_after(5) as scope:
        await rv.wait("never")
    assert scope.cancelled_caught
    assert trio.current_time() == 5


async def test_turns_run_in_index_order(autojump_clock: trio.abc.Clock) -> None:
    """Bodies of turn(point, i) run in index order, whatever order tasks arrive in."""
    rv = Rendezvous()
    order: list[int] = []

    async def take(index: int) -> None:
        async with rv.turn("t", index):
            await trio.sleep(1)
            order.append(index)

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            for index in [3, 1, 0, 2]:
                nursery.start_soon(take, index)

    assert order == [0, 1, 2, 3]
    assert trio.current_time() == 4


async def test_turn_cancelled_while_waiting_is_skipped(autojump_clock: trio.abc.Clock) -> None:
    """A turn cancelled before its body runs does not hold up later turns."""
    rv = Rendezvous()
    order: list[int] = []

    async def take(index: int, patience: float = 100) -> None:
        with trio.move_on_after(patience):
            async with rv.turn("t", index):
                await trio.sleep(2)
                order.append(index)

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(take, 0)
            nursery.start_soon(take, 1, 1)  # gives up at t=1, while turn 0 runs
            nursery.start_soon(take, 2)

    assert order == [0, 2]
    assert trio.current_time() == 4


async def test_turn_body_raising_passes_turn_on(autojump_clock: trio.abc.Clock) -> None:
    """A turn whose body raises still lets the next turn run."""
    rv = Rendezvous()
    order: list[int] = []

    async def failing() -> None:
        with pytest.raises(KeyError):
            async with rv.turn("t", 0):
                raise KeyError("first")

    async def second() -> None:
        async with rv.turn("t", 1):
            order.append(1)

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(second)
            nursery.start_soon(failing)
    assert order == [1]


async def test_turn_index_claimed_twice_is_error() -> None:
    """Claiming one turn twice is a RuntimeError."""
    rv = Rendezvous()
    async with rv.turn("t", 0):
        pass
    with pytest.raises(RuntimeError, match="already claimed"):
        async with rv.turn("t", 0):
            pass


async def test_rendezvous_forces_update_order_on_store(autojump_clock: trio.abc.Clock) -> None:
    """Turns pin the arrival order of store updates, which the store then keeps."""
    store = RecordingStore(MemoryStore())
    rv = Rendezvous()

    async def append(name: str, index: int) -> None:
        async with rv.turn("arrive", index):
            pass  # leaving the turn lets the next task arrive
        await store.update("log", lambda v: [*(v or []), name])

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            for name, index in [("c", 2), ("a", 0), ("b", 1)]:
                nursery.start_soon(append, name, index)

    assert await store.get("log") == ["a", "b", "c"]
