"""Checkpoints: capture an interrupted run with its stores, serialise, load, restore.

Wire format (JSON object, format version 1)::

    {"version": 1,
     "dag_name": "main-flow",
     "cursor": "run-child",
     "state": {"fields": {...}, "metadata": {...}},
     "executed_nodes": ["step-a"],
     "skipped_nodes": [],
     "stores": {"log": {"version": 1, "type": "memory", "entries": {...}}}}

``state`` is ``NodeStateBase.snapshot()``; progress of an interrupted
scatter or embedded child rides inside it under reserved metadata, so
``restore_state`` brings it back and ``Dagonizer.resume`` needs no extra
argument. Everything is (un)structured by the package's one strict cattrs
converter: nothing is coerced, extra fields are refused, and every error
names the field at fault.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, final

import attrs
import trio

from dagon_actors._codec import CONVERTER, JSONObject, describe_error, error_paths
from dagon_actors._errors import CheckpointError, DAGError, StoreError
from dagon_actors._json import NotJSONError, json_check
from dagon_actors._store import StoreSnapshot

if TYPE_CHECKING:
    from dagon_actors._records import ExecutionResult
    from dagon_actors._state import NodeStateBase
    from dagon_actors._store import Store

__all__ = ["CHECKPOINT_VERSION", "Checkpoint", "RestoredCheckpoint"]

CHECKPOINT_VERSION = 1
"""The checkpoint wire format this version writes and reads."""

StateT = TypeVar("StateT")


class _NonJSONConstantError(ValueError):
    """NaN or Infinity in checkpoint text: Python's json reads them; JSON has none."""


def _refuse_constant(name: str) -> Any:
    raise _NonJSONConstantError(f"{name} is not a JSON value")


@final
@attrs.frozen(kw_only=True)
class RestoredCheckpoint(Generic[StateT]):
    """What :meth:`Checkpoint.restore_state` returns: everything ``resume`` needs."""

    dag_name: str
    state: StateT
    cursor: str
    executed_nodes: list[str]
    skipped_nodes: list[str]


@final
@attrs.frozen(kw_only=True)
class Checkpoint:
    """A resumable picture of an interrupted run, its state and its stores.

    Make one with :meth:`capture` (from a result) or :meth:`load` (from
    JSON); write it with :meth:`to_json`.
    """

    version: int = CHECKPOINT_VERSION
    dag_name: str
    cursor: str
    state: JSONObject
    executed_nodes: list[str]
    skipped_nodes: list[str]
    stores: dict[str, StoreSnapshot]

    @classmethod
    async def capture(
        cls,
        dag_name: str,
        result: ExecutionResult[Any],
        *,
        stores: Mapping[str, Store] | None = None,
    ) -> Self:
        """Snapshot an interrupted run and, concurrently, every named store.

        Raises:
            DAGError: the run finished (``result.cursor`` is ``None``).
            CheckpointError: a state field is not JSON data (``field`` names it).
        """
        if result.cursor is None:
            raise DAGError(f"cannot checkpoint DAG {dag_name!r}: the run finished (cursor is None)")
        state: NodeStateBase = result.state
        try:
            snapshot = state.snapshot()
        except CheckpointError as exc:
            raise CheckpointError(exc.message, field=f"state.{exc.field}") from None
        snapshots: dict[str, StoreSnapshot] = {}
        if stores:

            async def take(name: str, store: Store) -> None:
                snapshots[name] = await store.snapshot()

            async with trio.open_nursery() as nursery:
                for name, store in stores.items():
                    nursery.start_soon(take, name, store)
        return cls(
            dag_name=dag_name,
            cursor=result.cursor,
            state=JSONObject(snapshot),
            executed_nodes=list(result.executed_nodes),
            skipped_nodes=list(result.skipped_nodes),
            stores={name: snapshots[name] for name in stores or {}},
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire document as plain JSON data."""
        return CONVERTER.unstructure(self)

    def to_json(self) -> str:
        """The wire document as JSON text."""
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def load(cls, data: str | bytes | Mapping[str, Any]) -> Self:
        """Validate and load a wire document (JSON text or its parsed object).

        Raises:
            CheckpointError: not JSON, not an object, a missing or unknown
                version, missing fields, wrong types (nothing is coerced) or
                extra fields; ``field`` names the first bad one.
        """
        checked = False
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data, parse_constant=_refuse_constant)
                # Parsed text is JSON by construction: no walk needed below.
                checked = True
            except _NonJSONConstantError:
                # NaN / Infinity: parse again so the walk below names the path.
                data = json.loads(data)
            except ValueError as exc:
                raise CheckpointError(f"checkpoint is not JSON: {exc}", field=None) from None
        if not isinstance(data, Mapping):
            raise CheckpointError(
                f"checkpoint must be a JSON object, got {type(data).__name__}", field=None
            )
        version = data.get("version")
        if version is None:
            raise CheckpointError("checkpoint has no version", field="version")
        if type(version) is not int or version != CHECKPOINT_VERSION:
            raise CheckpointError(
                f"unsupported checkpoint version {version!r} (this version reads "
                f"{CHECKPOINT_VERSION})",
                field="version",
            )
        if not checked:
            # A dict handed in may hold anything: one walk names the exact
            # path of a value that is not JSON.
            try:
                json_check(dict(data))
            except NotJSONError as exc:
                field = exc.path.lstrip(".")
                raise CheckpointError(
                    f"invalid checkpoint: {exc.describe()}", field=field
                ) from None
        try:
            loaded = CONVERTER.structure(data, cls)
        except Exception as exc:
            paths = error_paths(exc)
            raise CheckpointError(
                f"invalid checkpoint: {describe_error(exc)}",
                field=paths[0][0] if paths else None,
            ) from None
        for key in ("fields", "metadata"):
            if not isinstance(loaded.state.get(key), dict):
                raise CheckpointError(
                    f"invalid checkpoint: state.{key} must be an object", field=f"state.{key}"
                )
        extra = sorted(set(loaded.state) - {"fields", "metadata"})
        if extra:
            raise CheckpointError(
                f"invalid checkpoint: state.{extra[0]}: extra field not allowed",
                field=f"state.{extra[0]}",
            )
        return loaded

    async def restore_stores(self, stores: Mapping[str, Store]) -> None:
        """Restore every captured store into the store of the same name.

        Every snapshot is checked against its store before any is applied, so
        a bad one leaves all stores untouched. Stores in ``stores`` that the
        checkpoint does not hold are ignored.

        Raises:
            DAGError: ``stores`` lacks stores the checkpoint holds (all named).
            StoreError: a snapshot of the wrong type or version
                (``INCOMPATIBLE_SNAPSHOT``).
        """
        missing = [name for name in self.stores if name not in stores]
        if missing:
            raise DAGError(
                "checkpoint holds store(s) missing from the map: " + ", ".join(sorted(missing))
            )
        # Phase one checks every snapshot; phase two applies them. Stores
        # built on BaseStore check once (prepare_restore); others are checked
        # with check_snapshot, when they have it, and restored afterwards.
        appliers: list[Callable[[], Awaitable[None]]] = []
        for name, snapshot in self.stores.items():
            store = stores[name]
            prepare = getattr(store, "prepare_restore", None)
            check = getattr(store, "check_snapshot", None)
            try:
                if prepare is not None:
                    appliers.append(prepare(snapshot))
                    continue
                if check is not None:
                    check(snapshot)
            except StoreError as exc:
                raise StoreError(
                    f"store {name!r}: {exc.message}",
                    reason=exc.reason,
                    store=name,
                    key=exc.key,
                ) from exc
            appliers.append(functools.partial(store.restore, snapshot))
        for apply in appliers:
            await apply()

    def restore_state(
        self, factory: Callable[[dict[str, Any]], StateT]
    ) -> RestoredCheckpoint[StateT]:
        """Rebuild the state with ``factory`` (e.g. ``MyState.restore``).

        Raises:
            CheckpointError: the state snapshot does not fit the class.
        """
        return RestoredCheckpoint(
            dag_name=self.dag_name,
            state=factory(self.state),
            cursor=self.cursor,
            executed_nodes=list(self.executed_nodes),
            skipped_nodes=list(self.skipped_nodes),
        )
