"""The run's bookkeeping: frames (one run of one DAG level) and resume progress.

Nothing here awaits or reads a clock. The Trio shell (``_dispatcher``,
``_scatter``) moves a :class:`Frame` through its DAG and leaves a progress
record on the state while a composite placement is in flight:

* :class:`ScatterProgress` -- items pulled, items completed but not yet
  folded (waiting for an earlier slow item), items pulled but not completed,
  and the fold position. Completion is recorded synchronously when a body
  returns, so a cancellation can never make a finished item run again.
* :class:`EmbeddedProgress` -- the child's frame (its state and cursor).
* :class:`ParallelProgress` -- the outputs of members that finished.

If the placement finishes, the record is dropped. If the run is interrupted,
it stays on the state, ``NodeStateBase.snapshot`` writes it (``to_wire``)
under the reserved metadata key, and :func:`resume_from_wire` rebuilds it so
a resume continues exactly where the run stopped.
"""

from __future__ import annotations

from typing import Any, cast

import attrs

from dagon_actors._codec import CONVERTER, describe_error, error_paths
from dagon_actors._dag import DAG
from dagon_actors._errors import CheckpointError
from dagon_actors._gather import GatherRecord
from dagon_actors._json import NotJSONError, json_copy
from dagon_actors._state import NodeStateBase

__all__ = [
    "EmbeddedProgress",
    "Frame",
    "ParallelProgress",
    "PendingItem",
    "ScatterProgress",
    "resume_from_wire",
]


@attrs.define(eq=False)
class Frame:
    """One run of one DAG level: the top-level run, an embedded child or a DAG-body clone.

    ``prefix`` is the placement path of the composite that contains this
    level (empty at top level); ``item_index`` is inherited by every node in
    a DAG-body clone. ``steps`` counts placements toward ``max_steps``.
    """

    dag: DAG | None
    state: NodeStateBase
    cursor: str | None
    prefix: tuple[str, ...] = ()
    item_index: int | None = None
    executed: list[str] = attrs.field(factory=list[str])
    skipped: list[str] = attrs.field(factory=list[str])
    steps: int = 0
    begun: bool = False
    done: bool = False
    failed: bool = False
    terminal_outcome: str | None = None

    def to_wire(self) -> _FrameWire:
        return _FrameWire(cursor=self.cursor, state=self.state.snapshot(), failed=self.failed)


@attrs.define(eq=False)
class PendingItem:
    """An item pulled from the source whose body has not completed."""

    item: Any
    frame: Frame | None = None


@attrs.define(eq=False)
class ScatterProgress:
    """Where an in-flight scatter placement stands; see the module docstring."""

    placement: str
    pulled: int = 0
    next_fold: int = 0
    successes: int = 0
    failures: int = 0
    exhausted: bool = False
    done: dict[int, GatherRecord] = attrs.field(factory=dict[int, GatherRecord])
    pending: dict[int, PendingItem] = attrs.field(factory=dict[int, PendingItem])
    records: list[GatherRecord] | None = None

    def to_wire(self, state_cls: type[NodeStateBase]) -> dict[str, Any]:
        def item(value: Any, index: int) -> Any:
            try:
                return json_copy(value)
            except NotJSONError as exc:
                raise CheckpointError(
                    f"scatter {self.placement!r}: item {index} cannot be data: {exc.describe()}",
                    field=f"metadata.{self.placement}.items[{index}]",
                ) from None

        def record(rec: GatherRecord) -> _RecordWire:
            clone = rec.clone_state
            return _RecordWire(
                index=rec.index,
                item=item(rec.item, rec.index),
                output=rec.output,
                clone_state=None if clone is None else clone.snapshot(),
            )

        wire = _ScatterWire(
            placement=self.placement,
            pulled=self.pulled,
            next_fold=self.next_fold,
            successes=self.successes,
            failures=self.failures,
            exhausted=self.exhausted,
            done=[record(self.done[i]) for i in sorted(self.done)],
            pending=[
                _PendingWire(
                    index=i,
                    item=item(p.item, i),
                    child=None if p.frame is None else p.frame.to_wire(),
                )
                for i, p in sorted(self.pending.items())
            ],
            records=None if self.records is None else [record(r) for r in self.records],
        )
        return CONVERTER.unstructure(wire, _Wire)


@attrs.define(eq=False)
class EmbeddedProgress:
    """An embedded placement whose child run is in flight."""

    placement: str
    child: Frame

    def to_wire(self, state_cls: type[NodeStateBase]) -> dict[str, Any]:
        wire = _EmbeddedWire(placement=self.placement, child=self.child.to_wire())
        return CONVERTER.unstructure(wire, _Wire)


@attrs.define(eq=False)
class ParallelProgress:
    """A parallel placement: outputs of the members that finished (``None``: failed)."""

    placement: str
    done: dict[str, str | None] = attrs.field(factory=dict[str, str | None])

    def to_wire(self, state_cls: type[NodeStateBase]) -> dict[str, Any]:
        wire = _ParallelWire(placement=self.placement, done=dict(self.done))
        return CONVERTER.unstructure(wire, _Wire)


# -- wire records --------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _FrameWire:
    cursor: str | None
    state: dict[str, Any]
    failed: bool = False


@attrs.frozen(kw_only=True)
class _RecordWire:
    index: int
    item: Any
    output: str | None
    clone_state: dict[str, Any] | None


@attrs.frozen(kw_only=True)
class _PendingWire:
    index: int
    item: Any
    child: _FrameWire | None


@attrs.frozen(kw_only=True)
class _ScatterWire:
    placement: str
    pulled: int
    next_fold: int
    successes: int
    failures: int
    exhausted: bool
    done: list[_RecordWire]
    pending: list[_PendingWire]
    records: list[_RecordWire] | None


@attrs.frozen(kw_only=True)
class _EmbeddedWire:
    placement: str
    child: _FrameWire


@attrs.frozen(kw_only=True)
class _ParallelWire:
    placement: str
    done: dict[str, str | None]


_Wire = _ScatterWire | _EmbeddedWire | _ParallelWire

_KINDS: dict[type[Any], str] = {
    _ScatterWire: "scatter",
    _EmbeddedWire: "embedded",
    _ParallelWire: "parallel",
}


def _configure() -> None:
    from cattrs.strategies import configure_tagged_union

    configure_tagged_union(_Wire, CONVERTER, tag_generator=_KINDS.__getitem__, tag_name="kind")


_configure()


_WHERE = "state.metadata.__dagon_resume__"


def _restore(snapshot: dict[str, Any], state_cls: type[NodeStateBase], where: str) -> Any:
    try:
        return state_cls.restore(snapshot)
    except CheckpointError as exc:
        inner = (exc.field or "state").removeprefix("state")
        raise CheckpointError(exc.message, field=f"{_WHERE}.{where}{inner}") from None


def _frame(wire: _FrameWire, state_cls: type[NodeStateBase], where: str) -> Frame:
    # The DAG is resolved by the dispatcher when the resume reaches the placement.
    state = _restore(wire.state, state_cls, f"{where}.state")
    done = wire.cursor is None  # the child had finished
    return Frame(
        dag=None, state=state, cursor=wire.cursor, begun=True, done=done, failed=wire.failed
    )


def _record(wire: _RecordWire, state_cls: type[NodeStateBase], where: str) -> GatherRecord:
    clone = (
        None
        if wire.clone_state is None
        else _restore(wire.clone_state, state_cls, f"{where}.clone_state")
    )
    return GatherRecord(index=wire.index, item=wire.item, output=wire.output, clone_state=clone)


def resume_from_wire(
    data: object, state_cls: type[NodeStateBase]
) -> ScatterProgress | EmbeddedProgress | ParallelProgress:
    """Rebuild live progress from the reserved metadata of a snapshot.

    Raises:
        CheckpointError: the progress record is malformed; ``field`` names it.
    """
    try:
        wire = cast("_Wire", CONVERTER.structure(data, _Wire))  # pyright: ignore[reportArgumentType]
    except Exception as exc:
        paths = error_paths(exc, "state.metadata.__dagon_resume__")
        raise CheckpointError(
            f"resume progress is malformed: {describe_error(exc)}",
            field=paths[0][0] if paths else "state.metadata.__dagon_resume__",
        ) from None
    match wire:
        case _EmbeddedWire(placement=placement, child=child):
            return EmbeddedProgress(placement=placement, child=_frame(child, state_cls, "child"))
        case _ParallelWire(placement=placement, done=done):
            return ParallelProgress(placement=placement, done=dict(done))
        case _ScatterWire():
            return ScatterProgress(
                placement=wire.placement,
                pulled=wire.pulled,
                next_fold=wire.next_fold,
                successes=wire.successes,
                failures=wire.failures,
                exhausted=wire.exhausted,
                done={
                    r.index: _record(r, state_cls, f"done[{i}]") for i, r in enumerate(wire.done)
                },
                pending={
                    p.index: PendingItem(
                        item=p.item,
                        frame=None
                        if p.child is None
                        else _frame(p.child, state_cls, f"pending[{i}].child"),
                    )
                    for i, p in enumerate(wire.pending)
                },
                records=None
                if wire.records is None
                else [_record(r, state_cls, f"records[{i}]") for i, r in enumerate(wire.records)],
            )
