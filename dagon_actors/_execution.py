"""Execution: one run, consumed by awaiting it, iterating it, or both.

The flow body runs once. Iterating paces the run at the placement
boundaries of the DAG being executed: each ``__anext__`` that finds no
buffered event runs exactly one placement to completion (inside its own
cancel scope, and inside any nursery the placement opens) and then returns
the events that placement produced. Nothing is ever yielded from inside a
nursery or cancel scope: events are collected, the scope closes, then they
are handed over ("collect then yield"). Awaiting runs the remaining
placements under a single cancel scope and builds no event objects.
"""

from __future__ import annotations

# Execution drives the dispatcher's private run loop.
# pyright: reportPrivateUsage=false
from collections import deque
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, final

import trio

from dagon_actors import _clock
from dagon_actors._dispatcher import Run
from dagon_actors._errors import DAGError
from dagon_actors._phases import run_phases
from dagon_actors._progress import Frame
from dagon_actors._records import ExecutionResult, Interruption
from dagon_actors._state import LifecycleVariant, NodeStateBase

if TYPE_CHECKING:
    from collections.abc import Generator

    from dagon_actors._abort import AbortSignal
    from dagon_actors._dag import DAG
    from dagon_actors._dispatcher import Dagonizer
    from dagon_actors._records import NodeEvent

__all__ = ["Execution"]

StateT = TypeVar("StateT", bound=NodeStateBase)


@final
class Execution(Generic[StateT]):
    """A run in progress; made by ``Dagonizer.execute`` / ``resume``.

    ``await execution`` returns the :class:`ExecutionResult`; ``async for
    event in execution`` yields one :class:`NodeEvent` per finished
    placement, embedded and scatter children included (a composite
    placement hands over its children's events, in completion order, when it
    finishes). Breaking out of the loop and then awaiting finishes the run;
    awaiting again returns the same result.
    """

    def __init__(
        self,
        dispatcher: Dagonizer[StateT, Any],
        dag: DAG,
        state: StateT,
        cursor: str,
        *,
        resume: bool,
        signal: AbortSignal | None,
        deadline: float | None,
    ) -> None:
        self._dispatcher = dispatcher
        self._dag = dag
        self._state = state
        self._cursor = cursor
        self._is_resume = resume
        self._signal = signal if signal is not None else dispatcher._idle_signal
        self._deadline_seconds = deadline
        self._deadline = float("inf")
        self._frame: Frame | None = None
        self._run: Run | None = None
        self._buffer: deque[NodeEvent] = deque()
        self._result: ExecutionResult[StateT] | None = None
        self._busy = False

    @property
    def result(self) -> ExecutionResult[StateT] | None:
        """The result once the run has ended, else ``None``."""
        return self._result

    def __await__(self) -> Generator[Any, None, ExecutionResult[StateT]]:
        return self._wait().__await__()

    def __aiter__(self) -> Execution[StateT]:
        return self

    async def __anext__(self) -> NodeEvent:
        if self._buffer:
            return self._buffer.popleft()
        if self._result is None:
            await self._advance(one_step=True)
            if self._buffer:
                return self._buffer.popleft()
        raise StopAsyncIteration

    async def _wait(self) -> ExecutionResult[StateT]:
        if self._result is None:
            await self._advance(one_step=False)
        else:
            await trio.lowlevel.checkpoint()
        assert self._result is not None
        return self._result

    def _begin(self, *, collect: bool) -> tuple[Run, Frame]:
        state = self._state
        state.lifecycle.start(_clock.now())
        if not self._is_resume:
            state._resume = None
        if self._deadline_seconds is not None:
            self._deadline = _clock.deadline_after(self._deadline_seconds)
        dispatcher = self._dispatcher
        contexts = None
        if self._signal is dispatcher._idle_signal:
            contexts = dispatcher._idle_contexts.setdefault(self._dag.name, {})
        run = Run(self._signal, collect=collect, contexts=contexts)
        frame = Frame(dag=self._dag, state=state, cursor=self._cursor)
        self._run, self._frame = run, frame
        if dispatcher._hook_flow:
            dispatcher._call_hook(state, dispatcher.on_flow_start, self._dag.name, state)
        return run, frame

    async def _advance(self, *, one_step: bool) -> None:
        if self._busy:
            raise DAGError(
                "this Execution is already being consumed by another task; await or "
                "iterate an Execution from one task at a time"
            )
        self._busy = True
        try:
            await self._advance_inner(one_step=one_step)
        finally:
            self._busy = False

    async def _advance_inner(self, *, one_step: bool) -> None:
        if self._run is None or self._frame is None:
            run, frame = self._begin(collect=one_step)
        else:
            run, frame = self._run, self._frame
        if not one_step:
            run.events = None
        dispatcher = self._dispatcher
        signal = self._signal
        scope = trio.CancelScope(deadline=self._deadline)
        signal.attach(scope)
        try:
            with scope:
                if not frame.begun and not signal.aborted:
                    frame.begun = True
                    if self._dag.phases and not await run_phases(dispatcher, run, frame, "pre"):
                        self._state.lifecycle.finish(LifecycleVariant.FAILED, _clock.now())
                while not frame.done and not signal.aborted:
                    await dispatcher._step(run, frame)
                    if one_step:
                        break
        except BaseException as exc:
            # Not our scope's cancellation: the caller's own, or a bug. Trio
            # requires it to propagate; the state still records how it ended.
            variant = (
                LifecycleVariant.FAILED
                if isinstance(exc, Exception)
                else LifecycleVariant.CANCELLED
            )
            self._state.lifecycle.finish(variant, _clock.now())
            await self._finish(
                run,
                frame,
                Interruption(node_name=frame.cursor or "", reason="abort", detail=exc)
                if frame.cursor is not None and variant is LifecycleVariant.CANCELLED
                else None,
            )
            raise
        finally:
            signal.detach(scope)
        interruption: Interruption | None = None
        if not frame.done and (scope.cancelled_caught or signal.aborted):
            reason: Literal["abort", "timeout"] = "abort" if signal.aborted else "timeout"
            interruption = Interruption(
                node_name=frame.cursor or "",
                reason=reason,
                detail=signal.reason if reason == "abort" else None,
            )
            variant = (
                LifecycleVariant.CANCELLED if reason == "abort" else LifecycleVariant.TIMED_OUT
            )
            self._state.lifecycle.finish(variant, _clock.now())
        if run.events:
            self._buffer.extend(run.events)
            run.events.clear()
        if frame.done or interruption is not None:
            await self._finish(run, frame, interruption)

    async def _finish(self, run: Run, frame: Frame, interruption: Interruption | None) -> None:
        state = self._state
        dispatcher = self._dispatcher
        if interruption is None and run.timeout_record is not None:
            interruption = Interruption(
                node_name=frame.cursor or "",
                reason="timeout",
                detail=run.timeout_record.exception,
            )
        # Post phases run on every exit path, a run aborted before it began included.
        if self._dag.phases:
            await run_phases(dispatcher, run, frame, "post")
            if run.events:
                self._buffer.extend(run.events)
                run.events.clear()
        outcome = frame.terminal_outcome
        result = ExecutionResult(
            state=state,
            cursor=frame.cursor,
            executed_nodes=frame.executed,
            skipped_nodes=frame.skipped,
            terminal_outcome="failed"
            if outcome == "failed"
            else "completed"
            if outcome == "completed"
            else None,
            interrupted_at=interruption,
        )
        self._result = result
        if dispatcher._hook_flow:
            dispatcher._call_hook(state, dispatcher.on_flow_end, self._dag.name, state, result)
