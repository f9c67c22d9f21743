"""Wrappers that record what a store or a node did, and when, in virtual time.

Both wrappers are transparent: they delegate every call and change no result,
exception or ordering, so a test can swap one in for the real object and then
assert on ``.log``. Times come from :func:`trio.current_time`, so under
``autojump_clock`` they are exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Protocol, final

import attrs
import trio

from .._json import NotJSONError, json_copy

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from .._store import Store, StoreSnapshot

__all__ = ["NodeRecord", "RecordingNode", "RecordingStore", "StoreRecord"]

StoreOp = Literal["get", "set", "has", "delete", "keys", "update", "snapshot", "restore"]


def _frozen_copy(value: object) -> object:
    # A logged value must not change when the caller later mutates theirs.
    try:
        return json_copy(value)
    except NotJSONError:
        return value


# --------------------------------------------------------------------------- store


@attrs.frozen(kw_only=True)
class StoreRecord:
    """One finished store operation, as :class:`RecordingStore` saw it.

    Attributes:
        started: virtual time the call was made.
        finished: virtual time it returned or raised.
        task: name of the calling Trio task.
        op: the operation (``"get"``, ``"set"``, ``"update"`` ...).
        key: the key involved, ``None`` for ``keys``/``snapshot``/``restore``.
        value: what went in: the value for ``set``, the current value ``fn``
            received for ``update`` (``None`` if ``fn`` never ran), the
            snapshot for ``restore``.
        result: what came out: the return value, ``None`` on error.
        error: the exception the call raised (including ``Cancelled``), or ``None``.
    """

    started: float
    finished: float
    task: str
    op: StoreOp
    key: str | None = None
    value: object = None
    result: object = None
    error: BaseException | None = None


@final
class RecordingStore:
    """A :class:`~dagon_actors.Store` that logs every operation, then delegates.

    Each call appends one :class:`StoreRecord` to :attr:`log` when it finishes,
    so the log is in completion order, which for one store is the order the
    actor served the calls. Failed and cancelled calls are logged too, then
    their exception propagates unchanged.

    Example::

        store = RecordingStore(MemoryStore())
        async with trio.open_nursery() as nursery:
            nursery.start_soon(store.update, "n", slow_increment, name="first")
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(store.update, "n", slow_increment, name="second")
        assert [(r.task, r.value, r.result) for r in store.log] == [
            ("first", None, 1),
            ("second", 1, 2),
        ]
    """

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        """The store being recorded."""
        self.log: list[StoreRecord] = []
        """Every finished operation, oldest first."""

    def __repr__(self) -> str:
        return f"<RecordingStore of {self.inner!r}, {len(self.log)} records>"

    async def _record(
        self,
        op: StoreOp,
        key: str | None,
        value: object,
        call: Awaitable[Any],
        received: Callable[[], object] | None = None,
    ) -> Any:
        started = trio.current_time()
        task = trio.lowlevel.current_task().name
        try:
            result = await call
        except BaseException as exc:
            self.log.append(
                StoreRecord(
                    started=started,
                    finished=trio.current_time(),
                    task=task,
                    op=op,
                    key=key,
                    value=received() if received is not None else value,
                    error=exc,
                )
            )
            raise
        self.log.append(
            StoreRecord(
                started=started,
                finished=trio.current_time(),
                task=task,
                op=op,
                key=key,
                value=received() if received is not None else value,
                result=_frozen_copy(result),
            )
        )
        return result

    async def get(self, key: str, default: Any = None) -> Any:
        """Delegate :meth:`Store.get` and log it."""
        return await self._record("get", key, None, self.inner.get(key, default))

    async def set(self, key: str, value: object) -> None:
        """Delegate :meth:`Store.set` and log it."""
        await self._record("set", key, _frozen_copy(value), self.inner.set(key, value))

    async def has(self, key: str) -> bool:
        """Delegate :meth:`Store.has` and log it."""
        return await self._record("has", key, None, self.inner.has(key))

    async def delete(self, key: str) -> bool:
        """Delegate :meth:`Store.delete` and log it."""
        return await self._record("delete", key, None, self.inner.delete(key))

    async def keys(self) -> list[str]:
        """Delegate :meth:`Store.keys` and log it."""
        return await self._record("keys", None, None, self.inner.keys())

    async def update(self, key: str, fn: Callable[[Any], object]) -> Any:
        """Delegate :meth:`Store.update`, logging the value ``fn`` received."""
        seen: list[object] = []

        def watched(current: Any) -> object:
            seen.append(_frozen_copy(current))
            return fn(current)

        return await self._record(
            "update", key, None, self.inner.update(key, watched), lambda: seen[0] if seen else None
        )

    async def snapshot(self) -> StoreSnapshot:
        """Delegate :meth:`Store.snapshot` and log it."""
        return await self._record("snapshot", None, None, self.inner.snapshot())

    async def restore(self, snapshot: StoreSnapshot) -> None:
        """Delegate :meth:`Store.restore` and log it."""
        await self._record("restore", None, snapshot, self.inner.restore(snapshot))

    def check_snapshot(self, snapshot: StoreSnapshot) -> None:
        """Delegate ``check_snapshot`` if the inner store has one (not logged: no I/O)."""
        inner_check = getattr(self.inner, "check_snapshot", None)
        if inner_check is not None:
            inner_check(snapshot)


# --------------------------------------------------------------------------- node


class _NodeLike(Protocol):
    """What :class:`RecordingNode` needs of a node: a name, outputs, ``execute``."""

    @property
    def name(self) -> str: ...

    @property
    def outputs(self) -> Sequence[str]: ...

    async def execute(self, state: Any, ctx: Any, /) -> object: ...


@attrs.frozen(kw_only=True)
class NodeRecord:
    """A node starting or finishing one execution, as :class:`RecordingNode` saw it.

    Attributes:
        event: ``"start"`` or ``"end"``.
        time: virtual time of the event.
        node: the node's name.
        placement_path: ``ctx.placement_path`` of the execution.
        item_index: ``ctx.item_index`` (the scatter item), or ``None``.
        call: numbers the executions of this node from 0; a start and its end
            share it.
        output: what ``execute`` returned (``end`` records only).
        error: what ``execute`` raised, including ``Cancelled`` (``end`` only).
    """

    event: Literal["start", "end"]
    time: float
    node: str
    placement_path: tuple[str, ...]
    item_index: int | None
    call: int
    output: object = None
    error: BaseException | None = None


@final
class RecordingNode:
    """A node wrapper that logs when each execution starts and ends.

    It presents the inner node's ``name`` and ``outputs`` and forwards any
    other attribute (``timeout``, ``retry`` ...) only if the inner node has it,
    so the engine treats it exactly as the node it wraps. ``execute`` appends
    a ``"start"`` :class:`NodeRecord`, delegates, then appends an ``"end"``
    record with the output or the exception, which propagates unchanged.

    Example::

        fetch = RecordingNode(fetch_node)
        ...  # register and run a DAG that places `fetch`
        assert fetch.timetable() == [
            (("main", "fetch"), None, 0.0, 2.0, "ok"),
        ]
    """

    def __init__(self, inner: _NodeLike) -> None:
        self.inner = inner
        """The node being recorded."""
        self.log: list[NodeRecord] = []
        """Start and end records, in the order they happened."""
        self._calls = 0

    @property
    def name(self) -> str:
        """The inner node's name."""
        return self.inner.name

    @property
    def outputs(self) -> Sequence[str]:
        """The inner node's outputs."""
        return self.inner.outputs

    def __getattr__(self, attribute: str) -> Any:
        # Only reached for attributes RecordingNode lacks: forward them, so
        # `hasattr(node, "timeout")` answers as it would for the inner node.
        if attribute == "inner":  # not yet set (e.g. during unpickling)
            raise AttributeError(attribute)
        return getattr(self.inner, attribute)

    def __repr__(self) -> str:
        return f"<RecordingNode of {self.inner!r}, {len(self.log)} records>"

    async def execute(self, state: Any, ctx: Any) -> object:
        """Run the inner node's ``execute``, logging its start and end.

        ``ctx`` is whatever the engine passes; only its ``placement_path`` and
        ``item_index`` are read.
        """
        call = self._calls
        self._calls += 1
        path = tuple(ctx.placement_path)
        index = ctx.item_index

        def record(event: Literal["start", "end"], **outcome: Any) -> None:
            self.log.append(
                NodeRecord(
                    event=event,
                    time=trio.current_time(),
                    node=self.name,
                    placement_path=path,
                    item_index=index,
                    call=call,
                    **outcome,
                )
            )

        record("start")
        try:
            output = await self.inner.execute(state, ctx)
        except BaseException as exc:
            record("end", error=exc)
            raise
        record("end", output=output)
        return output

    def timetable(
        self,
    ) -> list[tuple[tuple[str, ...], int | None, float, float | None, object]]:
        """One row per execution, in start order, for exact scenario assertions.

        Each row is ``(placement_path, item_index, started, finished, outcome)``:
        ``finished`` is ``None`` while still running, and ``outcome`` is the
        output, or the exception raised.
        """
        ends = {record.call: record for record in self.log if record.event == "end"}
        rows: list[tuple[tuple[str, ...], int | None, float, float | None, object]] = []
        for start in self.log:
            if start.event != "start":
                continue
            end = ends.get(start.call)
            outcome = None if end is None else (end.error if end.error is not None else end.output)
            rows.append(
                (
                    start.placement_path,
                    start.item_index,
                    start.time,
                    None if end is None else end.time,
                    outcome,
                )
            )
        return rows
