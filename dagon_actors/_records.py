"""Records a run hands to its caller: events, the interruption, the result."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar, final

import attrs

__all__ = ["ExecutionResult", "Interruption", "NodeEvent"]

StateT = TypeVar("StateT")


@final
@attrs.frozen(kw_only=True)
class NodeEvent:
    """One finished placement (or scatter clone, or parallel member); made by the dispatcher.

    ``placement_path`` runs from the top-level DAG to the placement itself;
    ``output`` is ``None`` for a placement that produced none (a terminal, a
    body that raised).
    """

    node_name: str
    output: str | None
    placement_path: tuple[str, ...]
    skipped: bool = False


@final
@attrs.frozen(kw_only=True)
class Interruption:
    """Why and where a run stopped early: ``reason`` is ``"abort"`` or ``"timeout"``.

    ``node_name`` always equals the result's ``cursor``. ``detail`` holds the
    reason given to ``AbortController.abort`` (or the timeout error); it is
    not serialised.
    """

    node_name: str
    reason: Literal["abort", "timeout"]
    detail: Any = attrs.field(default=None, eq=False)


@final
@attrs.frozen(kw_only=True)
class ExecutionResult(Generic[StateT]):
    """The outcome of one ``execute`` or ``resume``; made by the dispatcher.

    ``state`` is the very object passed in (mutated in place). ``cursor`` is
    the placement that would run next (``None`` when the flow finished).
    ``executed_nodes`` / ``skipped_nodes`` list this run's own top-level
    placements in order, terminals and phases included.
    """

    state: StateT
    cursor: str | None
    executed_nodes: list[str]
    skipped_nodes: list[str]
    terminal_outcome: Literal["completed", "failed"] | None = None
    interrupted_at: Interruption | None = None
