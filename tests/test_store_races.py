"""Races on the store, shown under a mock clock with real interleavings.

Each test first shows what goes wrong without the actor's guarantees (a
read-modify-write split across awaits loses updates) and then what the store
promises: ``update`` is atomic even when its function awaits, operations are
served in arrival order, and ``set`` is last-write-wins. Times are virtual
(``autojump_clock``), so every timetable is asserted exactly, and every test is
bounded by a Trio-clock ``fail_after`` guard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dagon_actors._store import MemoryBacking, MemoryStore, Store

if TYPE_CHECKING:
    from collections.abc import Callable

GUARD = 120  # virtual seconds; a hang fails fast instead of at CI's timeout

STORE_FACTORIES: dict[str, Callable[[], Store]] = {
    "memory": MemoryStore,
    "memory-namespaced": lambda: MemoryStore(namespace="ns"),
}


@pytest.fixture(params=list(STORE_FACTORIES))
def store(request: pytest.FixtureRequest) -> Store:
    """A fresh, empty store."""
    return STORE_FACTORIES[request.param]()


async def test_get_then_set_loses_updates(store: Store, autojump_clock: trio.abc.Clock) -> None:
    """The bug: ten tasks read, wait, then write v+1; nine increments are lost."""
    await store.set("count", 0)

    async def naive_increment() -> None:
        value = await store.get("count")
        await trio.sleep(1)  # every task reads 0 before anyone writes
        await store.set("count", value + 1)

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            for _ in range(10):
                nursery.start_soon(naive_increment)

    assert await store.get("count") == 1
    assert trio.current_time() == 1


async def test_update_keeps_every_increment(store: Store, autojump_clock: trio.abc.Clock) -> None:
    """The fix: ten updates whose fn awaits all land, one after another."""
    await store.set("count", 0)

    async def slow_increment(value: int) -> int:
        await trio.sleep(1)
        return value + 1

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            for _ in range(10):
                nursery.start_soon(store.update, "count", slow_increment)

    assert await store.get("count") == 10
    assert trio.current_time() == 10  # the store was held for each whole fn


async def test_set_is_last_write_wins_by_schedule(
    store: Store, autojump_clock: trio.abc.Clock
) -> None:
    """Of two naive read-then-write tasks, the later writer's value survives."""
    await store.set("owner", "nobody")
    # (task, read at, write at): both read "nobody"; "late" writes last and wins.
    schedule = [("early", 0, 2), ("late", 1, 3)]
    seen: dict[str, Any] = {}

    async def read_then_write(name: str, read_at: float, write_at: float) -> None:
        await trio.sleep_until(read_at)
        seen[name] = await store.get("owner")
        await trio.sleep_until(write_at)
        await store.set("owner", name)

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            for row in schedule:
                nursery.start_soon(read_then_write, *row)

    assert seen == {"early": "nobody", "late": "nobody"}  # neither saw the other
    assert await store.get("owner") == "late"
    assert trio.current_time() == 3


async def test_queued_sets_apply_in_call_order(
    store: Store, autojump_clock: trio.abc.Clock
) -> None:
    """Sets queued behind a busy store apply in the order they were called; the last caller wins."""
    called: list[int] = []
    applied: list[int] = []

    async def hold(_: Any) -> int:
        await trio.sleep(5)
        return -1

    async def writer(value: int) -> None:
        called.append(value)  # no await between this and joining the queue
        await store.set("k", value)
        applied.append(value)

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(store.update, "k", hold)
            await trio.testing.wait_all_tasks_blocked()
            for value in range(5):  # Trio may start these in any order
                nursery.start_soon(writer, value)

    assert sorted(called) == [0, 1, 2, 3, 4]
    assert applied == called
    assert await store.get("k") == called[-1]
    assert trio.current_time() == 5


async def test_updates_apply_in_arrival_order(store: Store, autojump_clock: trio.abc.Clock) -> None:
    """While one update holds the store, later callers queue and run in the order they came."""
    applied: list[str] = []
    # (task, arrives at): all arrive while "first" holds the store for 10 s.
    arrivals = [("first", 0), ("d", 4), ("b", 1), ("e", 5), ("c", 3), ("a", 0.5)]

    def appender(name: str) -> Callable[[Any], Any]:
        async def append(current: list[str] | None) -> list[str]:
            applied.append(name)
            await trio.sleep(10 if name == "first" else 1)
            return [*(current or []), name]

        return append

    async def arrive(name: str, at: float) -> None:
        await trio.sleep_until(at)
        await store.update("log", appender(name))

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            for row in arrivals:
                nursery.start_soon(arrive, *row)

    expected = [name for name, _ in sorted(arrivals, key=lambda row: row[1])]
    assert applied == expected
    assert await store.get("log") == expected
    assert trio.current_time() == 10 + 5  # first holds 10 s, then five 1 s updates


async def test_read_waits_behind_slow_update(store: Store, autojump_clock: trio.abc.Clock) -> None:
    """A get arriving during an update sees the new value, once the update is done."""
    await store.set("k", "old")
    reads: list[tuple[float, Any]] = []

    async def slow_replace(_: Any) -> str:
        await trio.sleep(5)
        return "new"

    async def reader() -> None:
        await trio.sleep(1)
        value = await store.get("k")
        reads.append((trio.current_time(), value))

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(store.update, "k", slow_replace)
            nursery.start_soon(reader)

    assert reads == [(5, "new")]


async def test_cancelled_waiter_leaves_queue_and_writes_nothing(
    store: Store, autojump_clock: trio.abc.Clock
) -> None:
    """A caller cancelled while queued never writes; the callers behind it still run in order."""
    await store.set("log", [])
    timetable: list[tuple[str, float]] = []

    def appender(name: str, hold: float) -> Callable[[Any], Any]:
        async def append(current: list[str]) -> list[str]:
            timetable.append((name, trio.current_time()))
            await trio.sleep(hold)
            return [*current, name]

        return append

    async def queued_then_cancelled() -> None:
        await trio.sleep(1)
        with trio.move_on_after(2):  # gives up at t=3, while "holder" still holds
            await store.update("log", appender("cancelled", 1))

    async def arrive_later() -> None:
        await trio.sleep(2)
        await store.update("log", appender("later", 1))

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(store.update, "log", appender("holder", 5))
            nursery.start_soon(queued_then_cancelled)
            nursery.start_soon(arrive_later)

    assert timetable == [("holder", 0), ("later", 5)]
    assert await store.get("log") == ["holder", "later"]
    assert trio.current_time() == 6


async def test_shared_backing_serialises_namespaces(autojump_clock: trio.abc.Clock) -> None:
    """Stores sharing a backing share one queue: a slow update in one delays the other."""
    backing = MemoryBacking()
    left, right = MemoryStore("left", backing=backing), MemoryStore("right", backing=backing)
    done: dict[str, float] = {}

    async def slow(_: Any) -> int:
        await trio.sleep(4)
        return 1

    async def read_right() -> None:
        await trio.sleep(1)
        await right.get("k")
        done["right"] = trio.current_time()

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(left.update, "k", slow)
            nursery.start_soon(read_right)

    assert done == {"right": 4}


async def test_waiting_tasks_visible_in_statistics(autojump_clock: trio.abc.Clock) -> None:
    """statistics() shows the holder and the queue behind it."""
    store = MemoryStore()

    async def hold(_: Any) -> int:
        await trio.sleep(10)
        return 0

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(store.update, "k", hold)
            await trio.testing.wait_all_tasks_blocked()
            for _ in range(3):
                nursery.start_soon(store.get, "k")
            await trio.testing.wait_all_tasks_blocked()
            stats = store.statistics()
            assert (stats.locked, stats.tasks_waiting, stats.keys) == (True, 3, 0)

    stats = store.statistics()
    assert (stats.locked, stats.tasks_waiting, stats.keys) == (False, 0, 1)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 20), st.integers(0, 5)),  # (arrives at, fn holds for)
        min_size=1,
        max_size=8,
        unique_by=lambda row: row[0],  # distinct arrival instants: order is well defined
    )
)
async def test_any_delay_table_applies_updates_in_arrival_order(
    rows: list[tuple[int, int]], autojump_clock: trio.abc.Clock
) -> None:
    """For any arrivals and hold times, updates apply in arrival order at predictable times."""
    store = MemoryStore()
    start = trio.current_time()  # the clock carries on between examples
    started: list[tuple[int, float]] = []

    def holder(index: int, hold: int) -> Callable[[Any], Any]:
        async def fn(current: int | None) -> int:
            started.append((index, trio.current_time() - start))
            await trio.sleep(hold)
            return (current or 0) + 1

        return fn

    async def arrive(index: int, at: int, hold: int) -> None:
        await trio.sleep_until(start + at)
        await store.update("n", holder(index, hold))

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            for index, (at, hold) in enumerate(rows):
                nursery.start_soon(arrive, index, at, hold)

    # The expected timetable: a single server, first come first served.
    expected: list[tuple[int, float]] = []
    free_at = 0
    for index, (at, hold) in sorted(enumerate(rows), key=lambda item: item[1][0]):
        begin = max(free_at, at)
        expected.append((index, begin))
        free_at = begin + hold
    assert started == expected
    assert await store.get("n") == len(rows)
    assert trio.current_time() - start == free_at
