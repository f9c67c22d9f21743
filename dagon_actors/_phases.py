"""Lifecycle phases: hooks that run before and after every run of a DAG.

A pre phase runs before the first placement; if it fails the run ends failed
with the cursor where the run would have started. A post phase runs after the
flow on every exit path, shielded from abort and bounded by the dispatcher's
``post_phase_timeout``; its failure (or overrun) becomes a warning. Phases
are hooks, not placements: "never repeat a completed placement" is about the
flow's placements.
"""

from __future__ import annotations

# Phases are the dispatcher's own code, split out for size.
# pyright: reportPrivateUsage=false
from typing import TYPE_CHECKING, Any, cast

import trio

from dagon_actors._errors import NodeTimeoutError, ValidationError
from dagon_actors._state import ErrorRecord

if TYPE_CHECKING:
    from dagon_actors._dag import DAG, PhaseNode
    from dagon_actors._dispatcher import Dagonizer, Run
    from dagon_actors._progress import Frame

__all__ = ["run_phases"]


class _AnyOutput:
    """Every output is allowed: phases are not routed."""

    def __contains__(self, item: object) -> bool:
        return True


_ANY = _AnyOutput()


async def run_phases(dispatcher: Dagonizer[Any, Any], run: Run, frame: Frame, which: str) -> bool:
    """Run ``which`` phases of the frame's DAG; False if a pre phase failed."""
    dag = cast("DAG", frame.dag)
    for phase in dag.phases:
        if phase.phase != which:
            continue
        if which == "pre":
            if not await _run_phase(dispatcher, run, frame, phase):
                return False
        else:
            with (
                trio.CancelScope(shield=True),
                trio.move_on_after(dispatcher.post_phase_timeout) as bound,
            ):
                await _run_phase(dispatcher, run, frame, phase)
            if bound.cancelled_caught:
                error = NodeTimeoutError(
                    f"post phase {phase.name!r} of DAG {dag.name!r} ran past "
                    f"post_phase_timeout={dispatcher.post_phase_timeout}s",
                    timeout=dispatcher.post_phase_timeout,
                    dag_name=dag.name,
                    placement=phase.name,
                    node=phase.node,
                )
                dispatcher._record_warning(
                    frame.state,
                    error,
                    error.message,
                    node_name=phase.name,
                    path=(*frame.prefix, phase.name),
                    item_index=frame.item_index,
                )
    return True


async def _run_phase(
    dispatcher: Dagonizer[Any, Any], run: Run, frame: Frame, phase: PhaseNode
) -> bool:
    node = dispatcher._nodes.get(phase.node)
    path = (*frame.prefix, phase.name)
    dag = cast("DAG", frame.dag)
    if node is None:
        error = ValidationError(
            f"phase {phase.name!r} of DAG {dag.name!r} names unknown node {phase.node!r}",
            dag_name=dag.name,
            placement=phase.name,
        )
        outcome: str | ErrorRecord = dispatcher._record_error(
            frame.state, error, node_name=phase.name, path=path, item_index=frame.item_index
        )
    elif phase.phase == "pre":
        outcome = await dispatcher._run_node(
            run,
            node,
            frame.state,
            dag_name=dag.name,
            node_name=phase.name,
            path=path,
            item_index=frame.item_index,
            allowed=_ANY,
        )
    else:
        outcome = await _run_post(dispatcher, run, frame, node, phase, path)
    ok = not isinstance(outcome, ErrorRecord)
    if ok and not frame.prefix:
        frame.executed.append(phase.name)
    dispatcher._emit(run, phase.name, outcome if ok else None, path)
    if not ok and phase.phase == "pre":
        frame.failed = True
        frame.done = True
    return ok


async def _run_post(
    dispatcher: Dagonizer[Any, Any],
    run: Run,
    frame: Frame,
    node: Any,
    phase: PhaseNode,
    path: tuple[str, ...],
) -> str | ErrorRecord:
    # A post phase failure is a warning, never an error of the run.
    return await dispatcher._run_node(
        run,
        node,
        frame.state,
        dag_name=cast("DAG", frame.dag).name,
        node_name=phase.name,
        path=path,
        item_index=frame.item_index,
        allowed=_ANY,
        failures_are_warnings=True,
    )
