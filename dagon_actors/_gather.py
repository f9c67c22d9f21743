"""Gather strategies: how scatter clone results fold back into the parent.

A strategy is a frozen definition (part of the DAG, written by ``to_dict``
except :meth:`Gather.custom`). At run time :func:`bind` resolves its targets
on the parent state once, so a missing target fails the placement before any
clone runs, and the returned folder is fed records strictly in source order
whatever the completion order. Clones never write the parent; only the
folder does. This module never awaits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableSequence, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, final

import attrs

from dagon_actors._errors import ValidationError
from dagon_actors._paths import PathError, get_path

if TYPE_CHECKING:
    from dagon_actors._state import NodeStateBase

__all__ = [
    "AppendGather",
    "CustomGather",
    "DiscardGather",
    "Folder",
    "Gather",
    "GatherRecord",
    "GatherSpec",
    "MapGather",
    "PartitionGather",
    "bind",
]


@final
@attrs.frozen(kw_only=True)
class GatherRecord:
    """One finished scatter item, handed to gathers and custom reducers.

    ``output`` is ``None`` when the body raised. ``clone_state`` is the
    clone the body ran on.
    """

    index: int
    item: Any
    output: str | None
    clone_state: Any = attrs.field(default=None, eq=False)


@attrs.frozen(kw_only=True)
class PartitionGather:
    """Append each item (or clone ``field``) to the parent list named for its output."""

    KIND: ClassVar[str] = "partition"
    targets: Mapping[str, str]
    field: str | None = None


@attrs.frozen(kw_only=True)
class MapGather:
    """Append a field of each completed clone to a parent list: ``{clone_field: list}``."""

    KIND: ClassVar[str] = "map"
    targets: Mapping[str, str]


@attrs.frozen(kw_only=True)
class AppendGather:
    """Append each completed item (or clone ``field``) to one parent list."""

    KIND: ClassVar[str] = "append"
    target: str
    field: str | None = None


@attrs.frozen
class DiscardGather:
    """Keep nothing but the outcome (the default)."""

    KIND: ClassVar[str] = "discard"


@attrs.frozen
class CustomGather:
    """Hand ``fn(state, records)`` every record in source order, once, at the end."""

    KIND: ClassVar[str] = "custom"
    fn: Callable[[Any, list[GatherRecord]], None]


GatherSpec = PartitionGather | MapGather | AppendGather | DiscardGather | CustomGather
"""Every gather strategy a scatter placement may hold."""


@final
class Gather:
    """Constructors for gather strategies (the names users write)."""

    @staticmethod
    def partition(targets: Mapping[str, str], *, field: str | None = None) -> PartitionGather:
        """``{output: parent_list}``: route items by output; unmapped outputs are skipped."""
        return PartitionGather(targets=dict(targets), field=field)

    @staticmethod
    def map(targets: Mapping[str, str]) -> MapGather:
        """``{clone_field: parent_list}``: collect a field of every completed clone."""
        return MapGather(targets=dict(targets))

    @staticmethod
    def append(target: str, *, field: str | None = None) -> AppendGather:
        """Collect every completed item (or a clone field) into ``target``."""
        return AppendGather(target=target, field=field)

    @staticmethod
    def custom(fn: Callable[[Any, list[GatherRecord]], None]) -> CustomGather:
        """Call ``fn(state, records)`` with every record in source order."""
        return CustomGather(fn)

    @staticmethod
    def discard() -> DiscardGather:
        """Keep nothing but the outcome."""
        return DiscardGather()


# -- run time ----------------------------------------------------------------


class Folder:
    """Folds records into the parent, in source order; built by :func:`bind`."""

    keeps_records: bool = False

    def fold(self, record: GatherRecord) -> None:
        """Fold one record (the next in source order)."""

    def finish(self, state: Any, records: Sequence[GatherRecord]) -> None:
        """Called once after the last record."""


def _target_list(state: object, path: str, placement: str) -> MutableSequence[Any]:
    try:
        value = get_path(state, path)
    except PathError:
        raise ValidationError(
            f"scatter {placement!r}: gather target {path!r} does not exist on "
            f"{type(state).__name__}",
            placement=placement,
            path=path,
        ) from None
    if not isinstance(value, MutableSequence):
        raise ValidationError(
            f"scatter {placement!r}: gather target {path!r} is a {type(value).__name__}, "
            "not a list",
            placement=placement,
            path=path,
        )
    return value  # pyright: ignore[reportUnknownVariableType]


def _clone_value(record: GatherRecord, field: str | None, placement: str) -> Any:
    if field is None:
        return record.item
    try:
        return get_path(record.clone_state, field)
    except PathError:
        raise ValidationError(
            f"scatter {placement!r}: clone field {field!r} does not exist on "
            f"{type(record.clone_state).__name__}",
            placement=placement,
            path=field,
        ) from None


@attrs.define
class _PartitionFolder(Folder):
    lists: dict[str, MutableSequence[Any]]
    field: str | None
    placement: str

    def fold(self, record: GatherRecord) -> None:
        if record.output is None:
            return
        target = self.lists.get(record.output)
        if target is not None:
            target.append(_clone_value(record, self.field, self.placement))


@attrs.define
class _MapFolder(Folder):
    pairs: list[tuple[str, MutableSequence[Any]]]
    placement: str

    def fold(self, record: GatherRecord) -> None:
        if record.output is None:
            return
        for field, target in self.pairs:
            target.append(_clone_value(record, field, self.placement))


@attrs.define
class _AppendFolder(Folder):
    target: MutableSequence[Any]
    field: str | None
    placement: str

    def fold(self, record: GatherRecord) -> None:
        if record.output is not None:
            self.target.append(_clone_value(record, self.field, self.placement))


@attrs.define
class _CustomFolder(Folder):
    fn: Callable[[Any, list[GatherRecord]], None]
    keeps_records: bool = True

    def finish(self, state: Any, records: Sequence[GatherRecord]) -> None:
        self.fn(state, list(records))


_DISCARD = Folder()


def bind(spec: GatherSpec, state: NodeStateBase, placement: str) -> Folder:
    """Resolve ``spec``'s targets on ``state`` for placement ``placement``.

    Raises:
        ValidationError: a target path does not exist or is not a list.
    """
    match spec:
        case DiscardGather():
            return _DISCARD
        case PartitionGather(targets=targets, field=field):
            lists = {out: _target_list(state, path, placement) for out, path in targets.items()}
            return _PartitionFolder(lists, field, placement)
        case MapGather(targets=targets):
            pairs = [(f, _target_list(state, path, placement)) for f, path in targets.items()]
            return _MapFolder(pairs, placement)
        case AppendGather(target=target, field=field):
            return _AppendFolder(_target_list(state, target, placement), field, placement)
        case CustomGather(fn=fn):
            return _CustomFolder(fn)
