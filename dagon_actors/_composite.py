"""Embedded-DAG and parallel placements, run by the dispatcher.

An embedded placement runs a registered DAG once on a clone of the state, in
the parent's task (so an abort reaches it at any depth), copies ``inputs`` in
and ``outputs`` back, and routes ``success`` or ``error``. While the child is
in flight its frame rides on the parent state as
:class:`~dagon_actors._progress.EmbeddedProgress`, so a resume continues the
child from its own cursor.

A parallel placement runs its member placements concurrently on the *same*
state in one nursery; a member that raises counts as not-success and does not
cancel its siblings. Finished members are recorded as they finish, so a
resume never reruns them.
"""

from __future__ import annotations

# These placements are the dispatcher's own code, split out for size: they use
# its private helpers.
# pyright: reportPrivateUsage=false
from typing import TYPE_CHECKING, Any, cast

import trio

from dagon_actors._errors import ValidationError
from dagon_actors._progress import EmbeddedProgress, Frame, ParallelProgress

if TYPE_CHECKING:
    from dagon_actors._dag import DAG, EmbeddedDAGNode, ParallelNode, SingleNode
    from dagon_actors._dispatcher import Dagonizer, Run

__all__ = ["run_embedded", "run_parallel"]


async def run_embedded(
    dispatcher: Dagonizer[Any, Any],
    run: Run,
    frame: Frame,
    placement: EmbeddedDAGNode,
    path: tuple[str, ...],
) -> str:
    parent = frame.state
    child_dag = dispatcher._child_dag(frame, placement.name, placement.dag)
    progress: EmbeddedProgress | None = dispatcher._take_progress(
        frame, placement.name, EmbeddedProgress
    )
    if progress is None:
        try:
            child_state = parent.clone()
        except Exception as exc:
            raise dispatcher._engine_failure(frame, exc, placement.name) from None
        dispatcher._copy_paths(
            frame, placement.name, placement.inputs, parent, child_state, copy_values=True
        )
        child = Frame(
            dag=child_dag,
            state=child_state,
            cursor=child_dag.entrypoint,
            prefix=path,
            item_index=frame.item_index,
        )
        progress = EmbeddedProgress(placement=placement.name, child=child)
    else:
        child = progress.child
        child.dag = child_dag
        child.prefix = path
        child.item_index = frame.item_index
    parent._resume = progress
    await dispatcher._run_child(run, child)
    child_state = child.state
    # Copy back before dropping the progress: if a path is missing the
    # placement fails, and a resume finds the finished child instead of
    # running it again.
    dispatcher._copy_paths(
        frame, placement.name, placement.outputs, child_state, parent, copy_values=False
    )
    parent._resume = None
    parent.errors.extend(child_state.errors)
    parent.warnings.extend(child_state.warnings)
    return "error" if child.failed or child_state.errors else "success"


async def run_parallel(
    dispatcher: Dagonizer[Any, Any],
    run: Run,
    frame: Frame,
    placement: ParallelNode,
    path: tuple[str, ...],
) -> str:
    dag = cast("DAG", frame.dag)
    state = frame.state
    progress: ParallelProgress | None = dispatcher._take_progress(
        frame, placement.name, ParallelProgress
    )
    if progress is None:
        progress = ParallelProgress(placement=placement.name)
    state._resume = progress
    members: list[SingleNode] = []
    for member_name in placement.members:
        member = cast("SingleNode", dag.placement(member_name))
        if member_name not in progress.done:
            if member.node not in dispatcher._nodes:
                raise dispatcher._engine_failure(
                    frame,
                    ValidationError(
                        f"member {member_name!r} of parallel {placement.name!r} names unknown "
                        f"node {member.node!r}",
                        dag_name=dag.name,
                        placement=placement.name,
                    ),
                    placement.name,
                )
            members.append(member)
    done = progress.done

    async def run_member(member: SingleNode) -> None:
        outcome = await dispatcher._run_node(
            run,
            dispatcher._nodes[member.node],
            state,
            dag_name=dag.name,
            node_name=member.name,
            path=(*path, member.name),
            item_index=frame.item_index,
            allowed=member.routes,
        )
        output = outcome if type(outcome) is str else None
        done[member.name] = output
        dispatcher._emit(run, member.name, output, (*path, member.name))

    async with trio.open_nursery() as nursery:
        for member in members:
            nursery.start_soon(run_member, member, name=f"{placement.name}/{member.name}")
    state._resume = None
    outputs = [done.get(m) for m in placement.members]
    if placement.combine == "collect":
        state.metadata["parallel_outputs"] = {m: done.get(m) for m in placement.members}
        return "success"
    if placement.combine == "all-success":
        ok = all(out == "success" for out in outputs)
    else:
        ok = any(out == "success" for out in outputs)
    return "success" if ok else "error"
