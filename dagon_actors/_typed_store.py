"""TypedStore: a typed view of a store, through the package's one cattrs converter.

Keys are fixed by a schema and each value has a type; writes are checked
without coercion and reads are structured back into the schema's types. It is
not itself a :class:`~dagon_actors._store.Store`: ``.inner`` is the plain store
for places that take one.
"""

from __future__ import annotations

import inspect
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from ._codec import CONVERTER, describe_error
from ._errors import StoreError, StoreErrorReason
from ._json import NotJSONError, json_check
from ._store import BaseStore, Store, StoreSnapshot

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping

__all__ = ["TypedStore"]

_MISSING: Any = BaseStore.MISSING


def _type_name(tp: object) -> str:
    if isinstance(tp, type) and not getattr(tp, "__args__", None):
        return tp.__qualname__
    return repr(tp)


class TypedStore:
    """A typed view of a store: a fixed set of keys, each with its value type.

    ``schema`` maps every allowed key to a type the package converter handles
    (``int``, ``list[str]``, ``int | None``, attrs classes, ...). Writes are
    checked by unstructuring the value as its key's type and structuring it
    back: the result must be JSON data and equal to the value, so nothing is
    coerced (``"3"`` is not an ``int``, a tuple is not a ``list[int]``). Reads
    structure the stored JSON as the key's type, so an attrs class comes back as
    an instance.

    A ``TypedStore`` is not itself a :class:`Store` (its values are not JSON
    data); hand :attr:`inner` to places that take one. Ordering, atomicity and
    reentry are the inner store's.

    Example::

        @attrs.frozen
        class Totals:
            done: int
            failed: int

        typed = TypedStore(MemoryStore(), {"totals": Totals, "label": str})
        await typed.set("totals", Totals(done=1, failed=0))
        await typed.update("totals", lambda t: attrs.evolve(t, done=t.done + 1))
        await typed.get("totals")           # Totals(done=2, failed=0)
        await typed.set("label", 3)         # StoreError(reason=WRONG_TYPE)

    Args:
        inner: the plain store holding the JSON form of every value.
        schema: each allowed key and its value type.
    """

    def __init__(self, inner: Store, schema: Mapping[str, object]) -> None:
        self._inner = inner
        self._schema: Mapping[str, object] = MappingProxyType(dict(schema))
        self._label = f"TypedStore({repr(inner).strip('<>')})"

    @property
    def inner(self) -> Store:
        """The plain store underneath, for places that take a :class:`Store`."""
        return self._inner

    @property
    def schema(self) -> Mapping[str, object]:
        """The allowed keys and their types (read-only)."""
        return self._schema

    def __repr__(self) -> str:
        return f"<{self._label} keys={list(self._schema)!r}>"

    # ---- checks

    def _type_of(self, key: str) -> Any:
        try:
            return self._schema[key]
        except (KeyError, TypeError):
            raise StoreError(
                f"{self._label}: key {key!r} is not in the schema "
                f"(allowed: {', '.join(map(repr, self._schema))})",
                reason=StoreErrorReason.UNKNOWN_KEY,
                store=self._label,
                key=key if type(key) is str else None,
            ) from None

    def _wrong_type(self, key: str, tp: Any, problem: str) -> StoreError:
        return StoreError(
            f"{self._label}: value for key {key!r} is not of type {_type_name(tp)}: {problem}",
            reason=StoreErrorReason.WRONG_TYPE,
            store=self._label,
            key=key,
        )

    def _to_json(self, key: str, value: object) -> Any:
        tp = self._type_of(key)
        try:
            raw = CONVERTER.unstructure(value, unstructure_as=tp)
        except Exception as exc:
            raise self._wrong_type(key, tp, f"{type(value).__name__} {value!r} ({exc})") from None
        try:
            json_check(raw, "value")
        except NotJSONError as exc:
            raise StoreError(
                f"{self._label}: refused to store key {key!r}: {exc.describe()}",
                reason=StoreErrorReason.NOT_SERIALIZABLE,
                store=self._label,
                key=key,
            ) from None
        back = self._from_json(key, tp, raw)
        if back != value:
            raise self._wrong_type(
                key, tp, f"{type(value).__name__} {value!r} would read back as {back!r}"
            )
        return raw

    def _from_json(self, key: str, tp: Any, raw: object) -> Any:
        try:
            return CONVERTER.structure(raw, tp)
        except Exception as exc:
            raise self._wrong_type(key, tp, describe_error(exc, "value")) from None

    # ---- the Store-like surface

    async def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key`` as the schema's type, or ``default`` if absent.

        Raises:
            StoreError: ``UNKNOWN_KEY`` for a key outside the schema,
                ``WRONG_TYPE`` if the stored JSON does not fit the type.
        """
        tp = self._type_of(key)
        raw = await self._inner.get(key, _MISSING)
        if raw is _MISSING:
            return default
        return self._from_json(key, tp, raw)

    async def set(self, key: str, value: object) -> None:
        """Check ``value`` against ``key``'s type and store its JSON form.

        Raises:
            StoreError: ``UNKNOWN_KEY``, ``WRONG_TYPE`` or ``NOT_SERIALIZABLE``;
                nothing is written.
        """
        await self._inner.set(key, self._to_json(key, value))

    async def has(self, key: str) -> bool:
        """Whether ``key`` (which must be in the schema) holds a value."""
        self._type_of(key)
        return await self._inner.has(key)

    async def delete(self, key: str) -> bool:
        """Remove ``key`` (which must be in the schema); return whether it was there."""
        self._type_of(key)
        return await self._inner.delete(key)

    async def keys(self) -> list[str]:
        """The inner store's keys, in insertion order."""
        return await self._inner.keys()

    async def update(self, key: str, fn: Callable[[Any], object]) -> Any:
        """Atomically replace ``key``'s value with ``fn(current)``, typed both ways.

        ``fn`` receives the current value structured as the key's type (or
        ``None``) and returns a new value of that type; plain or async. The
        inner store's guarantees hold: on any error nothing is written.

        Returns:
            The new value as ``fn`` returned it.
        """
        tp = self._type_of(key)
        result: list[Any] = []

        async def typed_fn(raw: Any) -> Any:
            current = None if raw is None else self._from_json(key, tp, raw)
            new = fn(current)
            if inspect.isawaitable(new):
                new = await cast("Awaitable[object]", new)
            result.append(new)
            return self._to_json(key, new)

        await self._inner.update(key, typed_fn)
        return result[0]

    async def snapshot(self) -> StoreSnapshot:
        """The inner store's snapshot (JSON form)."""
        return await self._inner.snapshot()

    async def restore(self, snapshot: StoreSnapshot) -> None:
        """Check the snapshot (see :meth:`check_snapshot`), then restore the inner store.

        Raises:
            StoreError: ``UNKNOWN_KEY`` or ``WRONG_TYPE`` for a bad entry (the
                store is unchanged), or whatever the inner ``restore`` raises.
        """
        self.check_snapshot(snapshot)
        await self._inner.restore(snapshot)

    def check_snapshot(self, snapshot: StoreSnapshot) -> None:
        """Raise the ``StoreError`` that :meth:`restore` would, without restoring.

        Runs the inner store's own ``check_snapshot`` if it has one (type tag
        and version), then checks every entry against the schema.
        """
        inner_check = getattr(self._inner, "check_snapshot", None)
        if inner_check is not None:
            inner_check(snapshot)
        for key, raw in _entries(snapshot):
            self._from_json(key, self._type_of(key), raw)


def _entries(snapshot: StoreSnapshot) -> Iterable[tuple[str, Any]]:
    entries: object = snapshot.entries
    if type(entries) is not dict:
        return ()
    checked: dict[str, Any] = entries
    return checked.items()
