"""Shared state for nodes: the Store protocol, its actor base, and the memory store.

:class:`~dagon_actors._typed_store.TypedStore` (a typed view) lives beside it.

A store is an async key/value map of JSON values (see :mod:`dagon_actors._json`)
that nodes share through the dispatcher's services bag. It is an *actor*: every
operation is a message handled to completion before the next one starts, in the
order the calling tasks arrived.

Why a lock and not a mailbox task
    The actor is a fair lock around the backing, not a task reading a channel.
    A lock needs no nursery, so a store works anywhere in a Trio program: made in
    a fixture, used before, during and after runs, shared by several runs. And a
    caller that is cancelled while it queues simply leaves the queue; with a
    mailbox its message might already be in flight, and the caller could not
    know whether its write happened.

Why :class:`trio.StrictFIFOLock`
    Arrival order is part of the contract (``update`` calls are applied in the
    order they were made), not an accident of scheduling. Today
    :class:`trio.Lock` also hands itself to waiters first come, first served,
    but Trio's docs warn that this may change (for instance under smarter
    scheduling policies); ``StrictFIFOLock`` is the same lock with that order
    *promised*, and an executable reminder that this module relies on it.
    Every operation checks its key and validates and copies its value before
    it queues, with no ``await`` before queuing, so "arrival" means "the moment
    the call was made". Queuing is also the operation's checkpoint.

Reentry
    :meth:`Store.update` holds the lock while its function runs, even across that
    function's ``await``\\ s. If the function (or any code in the task holding the
    lock) calls a store on the same backing, the call would wait for itself
    forever. The lock remembers which task holds it, and such a call raises
    :class:`StoreError` with ``reason=REENTRANT`` instead. Only the owning task
    is recognised: a child task started by the function still deadlocks, as it
    would on any lock.

Copies
    Values are validated and copied on the way in and copied on the way out, so
    no caller ever shares a mutable value with the store. Immutable scalars are
    never copied. A stored value is never mutated in place, only replaced, which
    lets reads copy after releasing the lock.
"""

from __future__ import annotations

import abc
import inspect
from types import CoroutineType
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol, cast, final, runtime_checkable

import attrs
import trio

from ._codec import JSONObject
from ._errors import StoreError, StoreErrorReason
from ._json import NotJSONError, json_copy

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = [
    "BaseStore",
    "MemoryBacking",
    "MemoryStore",
    "Store",
    "StoreLock",
    "StoreSnapshot",
    "StoreStatistics",
]

# Values that are immutable once validated: never copied on the way out.
_SCALARS: Final = frozenset({str, int, bool, float, type(None)})
_CORO: Final = CoroutineType

_MISSING: Final[Any] = object()
"""Returned by :meth:`BaseStore._raw_get` for an absent key."""


# --------------------------------------------------------------------------- protocol


@runtime_checkable
class Store(Protocol):
    """An async key/value map of JSON values, shared by tasks as an actor.

    Values are JSON data: ``None``, ``bool``, ``int``, finite ``float``, ``str``,
    and lists and ``str``-keyed dicts of them. Tuples, sets, NaN and other objects
    are refused with ``StoreError(reason=NOT_SERIALIZABLE)`` and nothing is
    written.

    Every operation is handled to completion before the next, in arrival order,
    and each is a Trio checkpoint. ``set`` and ``update`` store a copy and
    ``get`` returns one, so no caller shares a mutable value with the store.
    ``keys()`` lists keys in insertion order: overwriting a key keeps its place,
    deleting and setting it again moves it to the end.

    ``get`` then ``set`` from two tasks can lose an update (the other task may
    write in between); ``update`` cannot.
    """

    async def get(self, key: str, default: Any = None) -> Any:
        """Return a copy of the value under ``key``, or ``default`` (as given) if absent."""
        ...

    async def set(self, key: str, value: object) -> None:
        """Store a copy of ``value`` under ``key`` (last write wins)."""
        ...

    async def has(self, key: str) -> bool:
        """Whether ``key`` holds a value."""
        ...

    async def delete(self, key: str) -> bool:
        """Remove ``key``; return whether it was there."""
        ...

    async def keys(self) -> list[str]:
        """The keys, in insertion order."""
        ...

    async def update(self, key: str, fn: Callable[[Any], object]) -> Any:
        """Atomically replace the value under ``key`` with ``fn(current)``.

        ``fn`` receives a copy of the current value (``None`` if absent) and may
        be a plain or an async function. The store is held for the whole call. If
        ``fn`` raises or is cancelled nothing is written and the exception
        propagates unchanged; if it calls the same store, ``StoreError(REENTRANT)``.
        Returns the new value.
        """
        ...

    async def snapshot(self) -> StoreSnapshot:
        """A copy of the whole content, independent of later writes."""
        ...

    async def restore(self, snapshot: StoreSnapshot) -> None:
        """Replace the whole content with ``snapshot``'s, or change nothing.

        Raises ``StoreError(INCOMPATIBLE_SNAPSHOT)`` for another store type or
        format version.
        """
        ...


# --------------------------------------------------------------------------- records


@attrs.frozen(kw_only=True)
class StoreSnapshot:
    """The content of one store at one moment, in a versioned envelope.

    The wire shape, through the package converter, is
    ``{"version": 1, "type": "memory", "entries": {...}}``. ``type`` is a stable
    tag for the backend (not a class name) and ``version`` its format version;
    a store restores only snapshots whose tag and version it knows. ``entries``
    keeps the store's key order and holds JSON values only. A snapshot shares no
    mutable value with the store it came from; don't mutate ``entries``.
    """

    version: int
    type: str
    # Already plain JSON: the converter passes it through instead of walking it.
    entries: JSONObject


@attrs.frozen(kw_only=True)
class StoreStatistics:
    """What :meth:`BaseStore.statistics` reports about a store's actor.

    Attributes:
        locked: whether some task is being served right now.
        tasks_waiting: tasks queued behind it, on every store sharing the backing.
        keys: keys in this store's namespace, or ``None`` when the backend cannot
            count without I/O.
    """

    locked: bool
    tasks_waiting: int
    keys: int | None


# --------------------------------------------------------------------------- actor


@final
class StoreLock:
    """The actor of one backing: a strict-FIFO lock that knows its owner.

    Every store on a backing shares one ``StoreLock``, so their operations are
    serialised together and one arrival order holds across namespaces. It is a
    plain object needing no nursery; make it anywhere (even outside
    ``trio.run``) and use it from any task.

    Backend authors give the backing one and pass it to
    :class:`BaseStore`'s constructor; nobody else needs to touch it.
    """

    __slots__ = ("_fifo", "_owner")

    def __init__(self) -> None:
        self._fifo = trio.StrictFIFOLock()
        self._owner: trio.lowlevel.Task | None = None

    async def acquire(self, store: str, key: str | None) -> None:
        """Queue for the lock; ``store``/``key`` only name a reentrant caller.

        Raises:
            StoreError: ``REENTRANT`` if the calling task already holds it.
        """
        task = trio.lowlevel.current_task()
        if self._owner is task:
            raise StoreError(
                f"{store}: {'key ' + repr(key) + ': ' if key is not None else ''}"
                "the task holding this store called it again (from an update "
                "function?); that would deadlock",
                reason=StoreErrorReason.REENTRANT,
                store=store,
                key=key,
            )
        await self._fifo.acquire()
        self._owner = task

    def release(self) -> None:
        """Hand the lock to the next task in line."""
        self._owner = None
        self._fifo.release()

    def statistics(self) -> trio.LockStatistics:
        """The underlying lock's statistics."""
        return self._fifo.statistics()


# --------------------------------------------------------------------------- base


def _encode_namespace(namespace: str) -> str:
    # The prefix must be unambiguous: ``namespace + ":" + key`` splits at the
    # first ":", so the namespace itself is percent-escaped. "" gets ":" too, so
    # the root store cannot see (or clash with) a namespaced store's keys.
    return namespace.replace("%", "%25").replace(":", "%3A") + ":"


class BaseStore(abc.ABC):
    """Base class for store backends: everything but the bytes on the backing.

    It owns the parts every backend must get the same way:

    * the actor discipline (a shared :class:`StoreLock`, arrival order,
      reentry detection, ``update`` holding the lock across an async ``fn``);
    * JSON validation and copying: a value is validated and copied *before*
      the store queues, so a refused write leaves the old value intact;
    * namespacing: every key is stored under an escaped namespace prefix, so
      stores with different namespaces on one backing never see each other's
      keys, and :meth:`keys` lists keys without the prefix;
    * the snapshot envelope (``snapshot_type`` and ``snapshot_version``) and
      the checks on restore, all made before anything changes.

    Override points, all on *full* (prefixed) keys, all called with the lock
    held, none of which need to validate or copy:

    * ``snapshot_type`` (class attribute, required): the stable tag written
      into snapshots; ``snapshot_version`` (default 1) its format version;
    * ``async _raw_get(key)``: the stored value, or ``BaseStore.MISSING``;
    * ``async _raw_set(key, value)``: store ``value`` (a private copy the
      backend may keep); an existing key keeps its insertion position;
    * ``async _raw_delete(key) -> bool``: remove, saying whether it existed;
    * ``async _raw_items(prefix)``: ``(key, value)`` pairs under ``prefix``,
      in insertion order;
    * ``async _raw_replace(prefix, items)``: atomically drop every key under
      ``prefix`` and insert ``items`` in order;
    * optionally ``async _raw_keys(prefix)`` and ``async _raw_has(key)`` when
      the backend can do better than deriving them from the two above, and
      ``_count_keys_nowait()`` for :meth:`statistics`.

    Raw writes must be all-or-nothing with respect to cancellation (shield
    them if the backend awaits), and must replace stored values rather than
    mutate them, because reads copy values after releasing the lock.

    Args:
        namespace: keeps this store's keys apart from other namespaces on the
            same backing.
        lock: the backing's :class:`StoreLock`, shared by every store on it; a
            fresh one if omitted (right for a backend with a private backing).
    """

    snapshot_type: ClassVar[str]
    """Stable tag of this backend's snapshots (set by each subclass)."""
    snapshot_version: ClassVar[int] = 1
    """Format version of this backend's snapshots."""
    MISSING: ClassVar[Any] = _MISSING
    """What :meth:`_raw_get` returns for an absent key."""

    def __init__(self, namespace: str = "", *, lock: StoreLock | None = None) -> None:
        if type(namespace) is not str:
            raise TypeError(f"namespace must be a str, got {type(namespace).__name__}")
        self._namespace = namespace
        self._prefix = _encode_namespace(namespace)
        self._lock = lock if lock is not None else StoreLock()
        self._label = f"{type(self).__name__}(namespace={namespace!r})"

    @property
    def namespace(self) -> str:
        """The namespace this store's keys live in (``""`` for the root)."""
        return self._namespace

    def __repr__(self) -> str:
        return f"<{self._label}>"

    # ---- override points

    @abc.abstractmethod
    async def _raw_get(self, key: str) -> Any: ...

    @abc.abstractmethod
    async def _raw_set(self, key: str, value: Any) -> None: ...

    @abc.abstractmethod
    async def _raw_delete(self, key: str) -> bool: ...

    @abc.abstractmethod
    async def _raw_items(self, prefix: str) -> list[tuple[str, Any]]: ...

    @abc.abstractmethod
    async def _raw_replace(self, prefix: str, items: list[tuple[str, Any]]) -> None: ...

    async def _raw_keys(self, prefix: str) -> list[str]:
        return [key for key, _ in await self._raw_items(prefix)]

    async def _raw_has(self, key: str) -> bool:
        return await self._raw_get(key) is not _MISSING

    def _count_keys_nowait(self) -> int | None:
        return None

    # ---- helpers

    def _full(self, key: str) -> str:
        if type(key) is not str:
            raise StoreError(
                f"{self._label}: store keys must be str, got {type(key).__name__} {key!r}",
                reason=StoreErrorReason.NOT_SERIALIZABLE,
                store=self._label,
            )
        return self._prefix + key

    def _validated(self, key: str, value: object) -> Any:
        if type(value) in _SCALARS and type(value) is not float:
            return value
        try:
            return json_copy(value, "value")
        except NotJSONError as exc:
            raise StoreError(
                f"{self._label}: refused to store key {key!r}: {exc.describe()}",
                reason=StoreErrorReason.NOT_SERIALIZABLE,
                store=self._label,
                key=key,
            ) from None

    # ---- the Store protocol

    async def get(self, key: str, default: Any = None) -> Any:
        """Return a copy of the value under ``key``, or ``default`` (as given) if absent."""
        full = self._full(key)
        lock = self._lock
        await lock.acquire(self._label, key)
        try:
            value = await self._raw_get(full)
        finally:
            lock.release()
        if value is _MISSING:
            return default
        return value if type(value) in _SCALARS else json_copy(value)

    async def set(self, key: str, value: object) -> None:
        """Store a copy of ``value`` under ``key``; the last write wins.

        The value is validated and copied when ``set`` is called, before it
        queues, so later mutation by the caller does not affect what is stored.

        Raises:
            StoreError: ``NOT_SERIALIZABLE`` if ``value`` is not JSON data; the
                old value is kept.
        """
        full = self._full(key)
        stored = self._validated(key, value)
        lock = self._lock
        await lock.acquire(self._label, key)
        try:
            await self._raw_set(full, stored)
        finally:
            lock.release()

    async def has(self, key: str) -> bool:
        """Whether ``key`` holds a value."""
        full = self._full(key)
        await self._lock.acquire(self._label, key)
        try:
            return await self._raw_has(full)
        finally:
            self._lock.release()

    async def delete(self, key: str) -> bool:
        """Remove ``key``; return ``True`` if it was there, ``False`` if not."""
        full = self._full(key)
        await self._lock.acquire(self._label, key)
        try:
            return await self._raw_delete(full)
        finally:
            self._lock.release()

    async def keys(self) -> list[str]:
        """This namespace's keys, unprefixed, in insertion order."""
        await self._lock.acquire(self._label, None)
        try:
            full_keys = await self._raw_keys(self._prefix)
        finally:
            self._lock.release()
        cut = len(self._prefix)
        return [key[cut:] for key in full_keys]

    async def update(self, key: str, fn: Callable[[Any], object]) -> Any:
        """Atomically replace the value under ``key`` with ``fn(current)``.

        ``fn`` gets a private copy of the current value (``None`` if absent) and
        returns the new one; it may be a plain or an async function. The store
        stays locked for the whole call, including while an async ``fn``
        awaits, so concurrent updates never lose one another's writes and are
        applied in the order they were called.

        Args:
            key: the key to update.
            fn: ``fn(current) -> new`` or ``async fn(current) -> new``.

        Returns:
            The new value, as ``fn`` returned it (the store keeps its own copy).

        Raises:
            StoreError: ``REENTRANT`` if ``fn`` calls a store on this backing;
                ``NOT_SERIALIZABLE`` if the new value is not JSON data. Nothing
                is written in either case.
            Exception: whatever ``fn`` raises, unchanged; nothing is written.
                Cancellation while ``fn`` runs likewise writes nothing.
        """
        full = self._full(key)
        lock = self._lock
        await lock.acquire(self._label, key)
        try:
            current = await self._raw_get(full)
            if current is _MISSING:
                current = None
            elif type(current) not in _SCALARS:
                current = json_copy(current)
            new: object = fn(current)
            # Cheap type checks first: isawaitable alone is slow for plain values.
            kind: type[object] = type(new)
            if kind is _CORO or (kind not in _SCALARS and inspect.isawaitable(new)):
                new = await cast("Awaitable[object]", new)
            await self._raw_set(full, self._validated(key, new))
        finally:
            lock.release()
        return new

    async def snapshot(self) -> StoreSnapshot:
        """A copy of this namespace's content, in key order, in a versioned envelope.

        Later writes to the store do not change the snapshot, and changes to
        the snapshot do not reach the store.
        """
        await self._lock.acquire(self._label, None)
        try:
            items = await self._raw_items(self._prefix)
        finally:
            self._lock.release()
        cut = len(self._prefix)
        entries = {
            key[cut:]: value if type(value) in _SCALARS else json_copy(value)
            for key, value in items
        }
        return StoreSnapshot(
            version=self.snapshot_version, type=self.snapshot_type, entries=JSONObject(entries)
        )

    async def restore(self, snapshot: StoreSnapshot) -> None:
        """Replace this namespace's whole content with the snapshot's.

        The snapshot is checked completely (see :meth:`check_snapshot`) before
        the store queues; then the replacement is one atomic operation. Other
        namespaces on the backing are untouched.

        Raises:
            StoreError: ``INCOMPATIBLE_SNAPSHOT`` for another type tag or format
                version, ``NOT_SERIALIZABLE`` for an entry that is not JSON.
                The store is unchanged.
        """
        await self.prepare_restore(snapshot)()

    # ---- beyond the protocol

    def prepare_restore(self, snapshot: StoreSnapshot) -> Callable[[], Awaitable[None]]:
        """Check ``snapshot`` now; return what applies it later.

        The two phases let a caller restoring several stores check every
        snapshot before changing any store, without checking any twice
        (``Checkpoint.restore_stores`` does this). The returned function
        replaces the namespace's content atomically when awaited.

        Raises:
            StoreError: as :meth:`restore` would; nothing is changed.
        """
        items = self._checked_items(snapshot)

        async def apply() -> None:
            await self._lock.acquire(self._label, None)
            try:
                await self._raw_replace(self._prefix, items)
            finally:
                self._lock.release()

        return apply

    def check_snapshot(self, snapshot: StoreSnapshot) -> None:
        """Raise the ``StoreError`` that :meth:`restore` would, without restoring."""
        self._checked_items(snapshot)

    def statistics(self) -> StoreStatistics:
        """A frozen report on the actor: whether it is busy, its queue, its size."""
        stats = self._lock.statistics()
        return StoreStatistics(
            locked=stats.locked,
            tasks_waiting=stats.tasks_waiting,
            keys=self._count_keys_nowait(),
        )

    def _checked_items(self, snapshot: StoreSnapshot) -> list[tuple[str, Any]]:
        def incompatible(problem: str) -> StoreError:
            return StoreError(
                f"{self._label}: cannot restore {problem}; this store restores "
                f"type {self.snapshot_type!r} version {self.snapshot_version}",
                reason=StoreErrorReason.INCOMPATIBLE_SNAPSHOT,
                store=self._label,
            )

        if not isinstance(snapshot, StoreSnapshot):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise incompatible(f"a {type(snapshot).__name__}, not a StoreSnapshot")
        if snapshot.type != self.snapshot_type or snapshot.version != self.snapshot_version:
            raise incompatible(f"a snapshot of type {snapshot.type!r} version {snapshot.version!r}")
        entries: object = snapshot.entries
        if type(entries) is not dict:
            raise incompatible(f"entries of type {type(entries).__name__}")
        checked: dict[Any, Any] = entries
        prefix = self._prefix
        try:
            # One validating copy of the whole mapping: the fast path.
            copied: dict[str, Any] = json_copy(checked)
        except NotJSONError:
            # Slow path, only to name the offending key in the error.
            return [
                (self._full(key), self._validated(key, value)) for key, value in checked.items()
            ]
        return [(prefix + key, value) for key, value in copied.items()]


# --------------------------------------------------------------------------- memory


@final
class MemoryBacking:
    """The in-process map several :class:`MemoryStore`\\ s can share.

    Holds one dict of full (namespace-prefixed) keys and the :class:`StoreLock`
    that serialises every store on it. Share a backing to give stores in
    different namespaces one arrival order; treat ``data`` as read-only.
    """

    __slots__ = ("data", "lock")

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.lock: StoreLock = StoreLock()

    def __repr__(self) -> str:
        return f"<MemoryBacking with {len(self.data)} keys>"


@final
class MemoryStore(BaseStore):
    """The reference store: a dict in this process, guarded as an actor.

    Snapshots are type ``"memory"``, version 1. Two stores given the same
    ``backing`` and different namespaces keep their keys apart and share one
    lock (and so one arrival order).

    Example::

        store = MemoryStore()
        await store.set("count", 1)
        await store.update("count", lambda n: (n or 0) + 1)   # -> 2

    Args:
        namespace: keeps keys apart from other namespaces on the backing.
        backing: share one with other memory stores; a private one by default.
    """

    snapshot_type: ClassVar[str] = "memory"
    snapshot_version: ClassVar[int] = 1

    def __init__(self, namespace: str = "", *, backing: MemoryBacking | None = None) -> None:
        self._backing = backing if backing is not None else MemoryBacking()
        self._data = self._backing.data
        super().__init__(namespace, lock=self._backing.lock)

    @property
    def backing(self) -> MemoryBacking:
        """The map and lock this store lives on."""
        return self._backing

    async def _raw_get(self, key: str) -> Any:
        return self._data.get(key, _MISSING)

    async def _raw_set(self, key: str, value: Any) -> None:
        self._data[key] = value

    async def _raw_delete(self, key: str) -> bool:
        return self._data.pop(key, _MISSING) is not _MISSING

    async def _raw_has(self, key: str) -> bool:
        return key in self._data

    async def _raw_keys(self, prefix: str) -> list[str]:
        return [key for key in self._data if key.startswith(prefix)]

    async def _raw_items(self, prefix: str) -> list[tuple[str, Any]]:
        return [(key, value) for key, value in self._data.items() if key.startswith(prefix)]

    async def _raw_replace(self, prefix: str, items: list[tuple[str, Any]]) -> None:
        data = self._data
        for key in [key for key in data if key.startswith(prefix)]:
            del data[key]
        data.update(items)

    def _count_keys_nowait(self) -> int | None:
        prefix = self._prefix
        return sum(1 for key in self._data if key.startswith(prefix))
