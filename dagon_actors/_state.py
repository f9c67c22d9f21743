"""Flow state: the base class every domain state extends, and its records.

A state is the one mutable object a run moves through its DAG. The engine
owns four things on it (``lifecycle``, ``errors``, ``warnings``,
``metadata``); everything a subclass adds is a *domain field*, snapshotted and
restored with the package's cattrs converter with no code from the user.

Snapshots are plain JSON data. Engine progress of an interrupted composite
placement (scatter items, an embedded child's cursor) rides along under the
reserved metadata key :data:`RESUME_KEY`, so ``restore`` brings it back and
``Dagonizer.resume`` picks it up with no extra argument.
"""

from __future__ import annotations

import copy
import enum
import types
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, cast

import attrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from dagon_actors._codec import CONVERTER, describe_error, error_paths
from dagon_actors._errors import CheckpointError, ExecutionError
from dagon_actors._json import NotJSONError, json_check, json_copy

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "RESUME_KEY",
    "ErrorRecord",
    "Lifecycle",
    "LifecycleVariant",
    "NodeStateBase",
    "transient",
]

RESUME_KEY = "__dagon_resume__"
"""Reserved metadata key under which a snapshot carries resume progress."""


class LifecycleVariant(enum.StrEnum):
    """Where a state is in its run: pending → running → one terminal variant."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"

    @property
    def is_terminal(self) -> bool:
        """True for the variants a run ends in."""
        return self not in (LifecycleVariant.PENDING, LifecycleVariant.RUNNING)


@attrs.define
class Lifecycle:
    """A state's lifecycle: its variant and the Trio-clock times it changed.

    Transitions go pending → running → completed | failed | cancelled |
    timed_out. The first terminal variant of a run sticks: a later attempt to
    end it differently (a post phase failing after an abort, say) is ignored.
    Each run starts afresh with :meth:`start`.
    """

    variant: LifecycleVariant = LifecycleVariant.PENDING
    started_at: float | None = None
    finished_at: float | None = None

    def start(self, now: float) -> None:
        """Begin a run: the variant becomes running whatever it was."""
        self.variant = LifecycleVariant.RUNNING
        self.started_at = now
        self.finished_at = None

    def finish(self, variant: LifecycleVariant, now: float) -> None:
        """End the run as ``variant`` unless it has already ended."""
        if self.variant.is_terminal:
            return
        self.variant = variant
        self.finished_at = now


@attrs.frozen(kw_only=True)
class ErrorRecord:
    """One entry of ``state.errors`` or ``state.warnings``.

    ``code`` is the exception's class name for an exception, or whatever a
    node chose for a record it returned. ``exception`` keeps the original
    exception (never serialised, not part of equality).
    """

    code: str
    message: str
    node: str | None = None
    placement_path: tuple[str, ...] = ()
    item_index: int | None = None
    timestamp: float | None = None
    exception: BaseException | None = attrs.field(default=None, eq=False, repr=False)

    @classmethod
    def from_exception(
        cls,
        exc: BaseException,
        *,
        node: str | None = None,
        placement_path: tuple[str, ...] = (),
        item_index: int | None = None,
        timestamp: float | None = None,
    ) -> ErrorRecord:
        """A record for ``exc``: its class name as code and its text as message."""
        return cls(
            code=type(exc).__name__,
            message=str(exc) or type(exc).__name__,
            node=node,
            placement_path=placement_path,
            item_index=item_index,
            timestamp=timestamp,
            exception=exc,
        )


class _Resumable(Protocol):
    """What the engine leaves on a state to resume an interrupted placement."""

    @property
    def placement(self) -> str: ...

    def to_wire(self, state_cls: type[NodeStateBase]) -> dict[str, Any]: ...


def transient(default: Any = None) -> Any:
    """An attrs field left out of snapshots and restored as ``default``.

    For live objects that cannot be data, such as an async iterator used as a
    scatter source: ``source: AsyncIterator[int] | None = transient()``.
    """
    return attrs.field(default=default, metadata={"transient": True})


_BASE_FIELDS = frozenset({"lifecycle", "errors", "warnings", "metadata", "_resume"})


@attrs.define(kw_only=True)
class NodeStateBase:
    """Base class of every flow state; subclass it with ``@attrs.define``.

    The engine mutates the state it is given in place. Override points:
    :meth:`clone` (for states whose fields lack defaults) and, rarely,
    :meth:`snapshot` / :meth:`restore`.

    A pending state holds no timestamps, so it can be built outside Trio.
    """

    lifecycle: Lifecycle = attrs.field(factory=Lifecycle)
    errors: list[ErrorRecord] = attrs.field(factory=list[ErrorRecord])
    warnings: list[ErrorRecord] = attrs.field(factory=list[ErrorRecord])
    metadata: dict[str, Any] = attrs.field(factory=dict[str, Any])
    # Live progress of an interrupted composite placement; see RESUME_KEY.
    _resume: _Resumable | None = attrs.field(default=None, init=False, eq=False, repr=False)

    _codecs: ClassVar[dict[type[Any], _StateCodec]] = {}

    def get_metadata(self, key: str, default: Any = None) -> Any:
        """``metadata[key]``, or ``default`` when absent."""
        return self.metadata.get(key, default)

    def set_metadata(self, key: str, value: Any) -> None:
        """Set ``metadata[key]``."""
        self.metadata[key] = value

    def clone(self) -> Self:
        """A fresh state for a scatter clone or an embedded child.

        Returns a new instance of the same class with its domain fields at
        their defaults, a deep copy of ``metadata``, lifecycle pending and no
        errors or warnings. Whatever a clone needs from its parent arrives
        explicitly (the scatter item, ``inputs``), which keeps a scatter over N
        items O(N). Override this when domain fields have no defaults.

        Raises:
            ExecutionError: the class cannot be built without arguments.
        """
        cls = type(self)
        try:
            fresh = cls()
        except TypeError as exc:
            raise ExecutionError(
                f"cannot clone {cls.__name__}: {exc}; give its fields defaults or override clone()"
            ) from exc
        if self.metadata:
            fresh.metadata = copy.deepcopy(self.metadata)
        return fresh

    # -- snapshots -----------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """This state as plain JSON data: domain fields and metadata.

        Errors, warnings and the lifecycle are not part of a snapshot.
        Transient fields are left out. Resume progress, if any, is under the
        reserved metadata key.

        Raises:
            CheckpointError: a field (or metadata entry) is not JSON data, or
                metadata uses the reserved key; ``field`` names it.
        """
        cls = type(self)
        codec = _codec_for(cls)
        try:
            raw = codec.unstructure(self)
        except Exception as exc:
            raise _unstructure_failure(self, exc) from None
        fields: dict[str, Any] = {}
        fresh = codec.fresh
        for name, value in raw.items():
            try:
                # cattrs already built fresh containers for fully typed fields:
                # check those; copy the rest (Any-typed values are shared).
                if name in fresh:
                    json_check(value)
                    fields[name] = value
                else:
                    fields[name] = json_copy(value)
            except NotJSONError as exc:
                where = f"fields.{name}{_suffix(exc.path)}"
                raise CheckpointError(
                    f"state field {name!r} of {type(self).__name__} cannot be data: "
                    f"{exc.describe()}; declare it transient if it is a live object",
                    field=where,
                ) from None
        if RESUME_KEY in self.metadata:
            raise CheckpointError(
                f"state metadata of {type(self).__name__} uses the reserved key "
                f"{RESUME_KEY!r} (the engine keeps resume progress there)",
                field=f"metadata.{RESUME_KEY}",
            )
        try:
            metadata = json_copy(self.metadata)
        except NotJSONError as exc:
            raise CheckpointError(
                f"state metadata of {type(self).__name__} cannot be data: {exc.describe()}",
                field=f"metadata{_suffix(exc.path)}",
            ) from None
        if self._resume is not None:
            metadata[RESUME_KEY] = self._resume.to_wire(type(self))
        return {"fields": fields, "metadata": metadata}

    @classmethod
    def restore(cls, snapshot: dict[str, Any]) -> Self:
        """A pending state of this class built from :meth:`snapshot` data.

        Raises:
            CheckpointError: the snapshot does not fit this class; ``field``
                names the first bad part.
        """
        if not isinstance(snapshot, dict):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise CheckpointError("a state snapshot must be an object", field="state")
        extra = sorted(set(snapshot) - {"fields", "metadata"})
        if extra:
            raise CheckpointError(
                f"state snapshot has unknown field(s): {', '.join(extra)}",
                field=f"state.{extra[0]}",
            )
        for key in ("fields", "metadata"):
            if not isinstance(snapshot.get(key), dict):
                raise CheckpointError(
                    f"state snapshot needs an object at {key!r}", field=f"state.{key}"
                )
        codec = _codec_for(cls)
        try:
            # The restored state never shares a container with the snapshot (a
            # checkpoint can be restored more than once): cattrs builds fresh
            # containers for fully typed fields; copy the others first.
            fresh = codec.fresh
            raw = cast("dict[str, Any]", snapshot["fields"])
            state = codec.structure(
                {
                    name: value if name in fresh else json_copy(value, f".{name}")
                    for name, value in raw.items()
                }
            )
        except NotJSONError as exc:
            raise CheckpointError(
                f"state snapshot is not JSON data: {exc.describe()}",
                field=f"state.fields{_suffix(exc.path)}",
            ) from None
        except Exception as exc:
            paths = error_paths(exc, "state.fields")
            first = paths[0][0] if paths else "state.fields"
            problem = describe_error(exc, "state.fields")
            raise CheckpointError(
                f"state snapshot does not fit {cls.__name__}: {problem}", field=first
            ) from None
        metadata = dict(snapshot["metadata"])
        wire = metadata.pop(RESUME_KEY, None)
        state.metadata = json_copy(metadata)
        if wire is not None:
            from dagon_actors._progress import resume_from_wire

            state._resume = resume_from_wire(wire, cls)
        return state


def _suffix(path: str) -> str:
    if not path:
        return ""
    return path if path.startswith((".", "[")) else f".{path}"


@attrs.frozen
class _StateCodec:
    """Per-class cattrs functions for a state's domain fields.

    ``fresh`` names the fields whose type cattrs unstructures into new
    containers all the way down (no ``Any``), so a snapshot need not copy them.
    """

    unstructure: Callable[[Any], dict[str, Any]]
    structure: Callable[[Any], Any]
    fresh: frozenset[str]


_JSON_LEAVES = (int, float, str, bool, type(None))


def _fresh_type(tp: Any) -> bool:
    """True when cattrs builds new containers for every level of ``tp``."""
    if tp in _JSON_LEAVES:
        return True
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (list, dict) or origin is types.UnionType or origin is typing.Union:
        if origin is dict and args and args[0] is not str:
            return False
        return bool(args) and all(_fresh_type(arg) for arg in args)
    return attrs.has(tp) and all(_fresh_type(a.type) for a in attrs.fields(tp))


def _unstructure_failure(state: NodeStateBase, exc: Exception) -> CheckpointError:
    """Name the field whose value cattrs could not unstructure."""
    cls = type(state)
    for attribute in attrs.fields(cls):
        if attribute.name in _BASE_FIELDS or attribute.metadata.get("transient"):
            continue
        try:
            CONVERTER.unstructure(getattr(state, attribute.name), attribute.type)
        except Exception as inner:
            return CheckpointError(
                f"state field {attribute.name!r} of {cls.__name__} cannot be data: "
                f"{type(inner).__name__}: {inner}; declare it transient if it is a live object",
                field=f"fields.{attribute.name}",
            )
    return CheckpointError(f"state of {cls.__name__} cannot be data: {exc}", field="fields")


def _codec_for(cls: type[NodeStateBase]) -> _StateCodec:
    codec = NodeStateBase._codecs.get(cls)  # pyright: ignore[reportPrivateUsage]
    if codec is not None:
        return codec
    attrs.resolve_types(cls)
    omit: dict[str, Any] = {}
    for attribute in attrs.fields(cls):
        if attribute.name in _BASE_FIELDS or attribute.metadata.get("transient"):
            omit[attribute.name] = override(omit=True)
    for attribute in attrs.fields(cls):
        if attribute.name in omit:
            continue
        try:
            CONVERTER.get_structure_hook(attribute.type)
            CONVERTER.get_unstructure_hook(attribute.type)
        except Exception as exc:
            raise CheckpointError(
                f"state field {attribute.name!r} of {cls.__name__} has type "
                f"{attribute.type!r}, which cattrs cannot (un)structure ({exc}); declare "
                "it transient or use a JSON-compatible type",
                field=f"fields.{attribute.name}",
            ) from None
    unstructure_fn = make_dict_unstructure_fn(cls, CONVERTER, **omit)
    structure_fn = make_dict_structure_fn(cls, CONVERTER, _cattrs_forbid_extra_keys=True, **omit)
    codec = _StateCodec(
        unstructure=unstructure_fn,
        structure=lambda data: structure_fn(data, cls),
        fresh=frozenset(
            a.name for a in attrs.fields(cls) if a.name not in omit and _fresh_type(a.type)
        ),
    )
    NodeStateBase._codecs[cls] = codec  # pyright: ignore[reportPrivateUsage]
    return codec


def domain_field_names(cls: type[NodeStateBase]) -> Sequence[str]:
    """Names of the fields a subclass adds (transient ones included)."""
    return [a.name for a in attrs.fields(cls) if a.name not in _BASE_FIELDS]


# get_type_hints() on a user's subclass evaluates inherited string annotations
# in the module named by __module__, which the package rewrites to
# "dagon_actors"; keep the evaluated hints so subclasses resolve anywhere.
NodeStateBase.__annotations__ = typing.get_type_hints(NodeStateBase)
