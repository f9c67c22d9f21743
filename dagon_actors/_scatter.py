"""Fan-out: one clone per source item as Trio tasks in the scatter's nursery.

The pool holds at most ``concurrency`` clones. The next item is pulled only
when a slot frees *and* the newest pulled index is no more than
``reorder_window`` ahead of the oldest unfolded one, so an endless async
source never runs ahead of the pool and results waiting for a slow earlier
item stay bounded. Lists, other iterables and async iterables share this one
path.

A clone's completion is recorded synchronously when its body returns (no
``await`` in between), then every contiguous finished record is folded into
the parent in source order. If the scatter is interrupted, its
:class:`~dagon_actors._progress.ScatterProgress` stays on the state for a
checkpoint; a resume re-runs only the items that had not completed.

The engine never closes a source it did not exhaust (the caller owns it).
An abort that lands while an async generator is suspended inside its own
``__anext__`` ends that generator, as Trio cancellation does to any
coroutine; sources that hand items over without waiting (lists, channels
that already hold items, most generators) survive an abort intact.
"""

from __future__ import annotations

# The scatter is the dispatcher's own code, split out for size: it uses the
# dispatcher's private helpers.
# pyright: reportPrivateUsage=false
import inspect
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast

import trio

from dagon_actors._errors import ExecutionError, ValidationError
from dagon_actors._gather import GatherRecord, bind
from dagon_actors._paths import PathError, copy_paths, get_path
from dagon_actors._progress import Frame, PendingItem, ScatterProgress

if TYPE_CHECKING:
    from dagon_actors._dag import DAG, ScatterNode
    from dagon_actors._dispatcher import Dagonizer, Run
    from dagon_actors._gather import Folder
    from dagon_actors._state import NodeStateBase

__all__ = ["run_scatter"]

_NO_ITEM = object()


def _closed_generator(source: object) -> bool:
    """An async generator that has finished: it cannot feed a resume."""
    return inspect.isasyncgen(source) and cast("Any", source).ag_frame is None


class _Source:
    """Pulls items one at a time from a list, an iterable or an async iterable."""

    __slots__ = ("_async", "_sync")

    def __init__(self, source: object, already_pulled: int) -> None:
        self._sync: Iterator[Any] | None = None
        self._async: AsyncIterator[Any] | None = None
        if isinstance(source, AsyncIterable):
            # The caller supplies, on resume, an iterator already positioned
            # after the items the checkpoint pulled.
            self._async = cast("AsyncIterable[Any]", source).__aiter__()
        elif isinstance(source, Sequence):
            seq = cast("Sequence[Any]", source)
            self._sync = iter(seq[already_pulled:]) if already_pulled else iter(seq)
        else:
            self._sync = iter(cast("Iterable[Any]", source))

    async def pull(self) -> Any:
        if self._sync is not None:
            return next(self._sync, _NO_ITEM)
        try:
            return await cast("AsyncIterator[Any]", self._async).__anext__()
        except StopAsyncIteration:
            return _NO_ITEM


async def run_scatter(
    dispatcher: Dagonizer[Any, Any],
    run: Run,
    frame: Frame,
    placement: ScatterNode,
    path: tuple[str, ...],
) -> tuple[str, bool]:
    """Run scatter ``placement``; return its verdict and whether it was skipped.

    Raises:
        PlacementFailure: a run-time definition error (unknown body DAG,
            missing source or gather target) or a source that raised.
    """
    state = frame.state
    dag = cast("DAG", frame.dag)
    name = placement.name
    progress: ScatterProgress | None = dispatcher._take_progress(frame, name, ScatterProgress)
    try:
        source: object = get_path(state, placement.source)
    except PathError:
        raise dispatcher._path_failure(frame, name, placement.source, state) from None
    try:
        folder = bind(placement.gather, state, name)
    except ValidationError as exc:
        raise dispatcher._engine_failure(frame, exc, name) from None
    reducer_entry = dispatcher._reducer(placement.reducer)
    if reducer_entry is None:
        raise dispatcher._engine_failure(
            frame,
            ValidationError(
                f"scatter {name!r} of DAG {dag.name!r} uses unknown reducer {placement.reducer!r}",
                dag_name=dag.name,
                placement=name,
            ),
            name,
        )
    reducer_fn, verdicts = reducer_entry
    body_node: Any = None
    body_dag: DAG | None = None
    if placement.dag is not None:
        body_dag = dispatcher._child_dag(frame, name, placement.dag)
    else:
        body_node = dispatcher.get_node(cast("str", placement.body))
        if body_node is None:
            raise dispatcher._engine_failure(
                frame,
                ValidationError(
                    f"scatter {name!r} of DAG {dag.name!r} names unknown body node "
                    f"{placement.body!r}",
                    dag_name=dag.name,
                    placement=name,
                ),
                name,
            )

    if progress is None:
        progress = ScatterProgress(placement=name)
        if folder.keeps_records or reducer_fn is not None:
            progress.records = []
    if source is None:
        progress.exhausted = True
    limit = placement.concurrency
    if limit is None:
        limit = max(1, len(cast("Sequence[Any]", source))) if isinstance(source, Sequence) else 1
    window = placement.reorder_window or 4 * limit
    if progress.pulled and not progress.exhausted and _closed_generator(cast("object", source)):
        raise dispatcher._engine_failure(
            frame,
            ExecutionError(
                f"scatter {name!r} of DAG {dag.name!r}: its async generator source is closed "
                "(an abort landed inside the generator's own __anext__, which ends it); "
                f"resume with an iterator positioned after the {progress.pulled} item(s) "
                "already pulled",
                dag_name=dag.name,
                placement=name,
            ),
            name,
        )

    pool = _Pool(dispatcher, run, frame, placement, path, progress, folder, body_node, body_dag)
    state._resume = progress
    if not progress.exhausted or progress.pending:
        await pool.run(
            None if progress.exhausted else _Source(cast("object", source), progress.pulled),
            limit,
            window,
        )
    if pool.failure is not None:
        raise dispatcher._engine_failure(frame, pool.failure, name)
    state._resume = None

    records = progress.records
    if records is not None:
        folder.finish(state, records)
    total = progress.successes + progress.failures
    if reducer_fn is not None:
        verdict = reducer_fn(records or [])
        if verdict not in verdicts:
            raise dispatcher._engine_failure(
                frame,
                ExecutionError(
                    f"reducer {placement.reducer!r} of scatter {name!r} returned {verdict!r}, "
                    f"not one of its verdicts {sorted(verdicts)}",
                    dag_name=dag.name,
                    placement=name,
                ),
                name,
            )
    elif placement.reducer == "terminal":
        verdict = "success" if total and not progress.failures else "error"
    elif total == 0:
        verdict = "empty"
    elif progress.failures == 0:
        verdict = "all-success"
    elif progress.successes == 0:
        verdict = "all-error"
    else:
        verdict = "partial"
    return verdict, total == 0


class _Pool:
    """The clones of one scatter run: start, complete, fold."""

    def __init__(
        self,
        dispatcher: Dagonizer[Any, Any],
        run: Run,
        frame: Frame,
        placement: ScatterNode,
        path: tuple[str, ...],
        progress: ScatterProgress,
        folder: Folder,
        body_node: Any,
        body_dag: DAG | None,
    ) -> None:
        self.dispatcher = dispatcher
        self.run_ctx = run
        self.frame = frame
        self.placement = placement
        self.path = path
        self.progress = progress
        self.folder = folder
        self.body_node = body_node
        self.body_dag = body_dag
        self.in_flight = 0
        self.lot = trio.lowlevel.ParkingLot()
        self.failure: Exception | None = None
        self.success_outputs = frozenset(placement.success_outputs)
        if body_node is not None:
            self.body_path = (*path, body_node.name)
            self.body_outputs = frozenset(body_node.outputs)

    async def run(self, source: _Source | None, limit: int, window: int) -> None:
        progress = self.progress
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            # Items pulled before an interruption (and not completed) go first.
            for index in sorted(progress.pending):
                pending = progress.pending[index]
                self.in_flight += 1
                nursery.start_soon(self.clone, index, pending)
            while source is not None:
                # Stop while the newest pulled index is more than `window` ahead
                # of the oldest unfolded one (DESIGN.md).
                while self.in_flight >= limit or progress.pulled - 1 - progress.next_fold > window:
                    await self.lot.park()
                try:
                    item = await source.pull()
                except Exception as exc:
                    self.failure = exc
                    nursery.cancel_scope.cancel()
                    break
                if item is _NO_ITEM:
                    progress.exhausted = True
                    break
                index = progress.pulled
                progress.pulled = index + 1
                pending = PendingItem(item)
                progress.pending[index] = pending
                self.in_flight += 1
                nursery.start_soon(self.clone, index, pending)

    def _new_clone(self, index: int, item: Any) -> NodeStateBase:
        parent = self.frame.state
        clone = parent.clone()
        clone.metadata[self.placement.item_key] = item
        clone.metadata["item_index"] = index
        copy_paths(self.placement.inputs, parent, clone, deep=True)
        return clone

    async def clone(self, index: int, pending: PendingItem) -> None:
        dispatcher = self.dispatcher
        item = pending.item
        output: str | None
        if pending.frame is not None:
            clone = pending.frame.state
        else:
            try:
                clone = self._new_clone(index, item)
            except Exception as exc:
                self.in_flight -= 1
                self._abandon(self._as_failure(exc))
                return
        if self.body_node is not None:
            outcome = await dispatcher._run_node(
                self.run_ctx,
                self.body_node,
                clone,
                dag_name=cast("DAG", self.frame.dag).name,
                node_name=self.body_node.name,
                path=self.body_path,
                item_index=index,
                allowed=self.body_outputs,
                body_of=self.placement.name,
            )
            output = outcome if type(outcome) is str else None
        else:
            child = pending.frame
            body_dag = cast("DAG", self.body_dag)
            if child is None:
                child = Frame(
                    dag=body_dag,
                    state=clone,
                    cursor=body_dag.entrypoint,
                    prefix=self.path,
                    item_index=index,
                )
                pending.frame = child
            else:
                child.dag = body_dag
                child.prefix = self.path
                child.item_index = index
            await dispatcher._run_child(self.run_ctx, child)
            output = "error" if child.failed or clone.errors else "success"
        # From here to the end nothing awaits: the completion is recorded
        # before any cancellation can be delivered.
        self.complete(GatherRecord(index=index, item=item, output=output, clone_state=clone))

    def complete(self, record: GatherRecord) -> None:
        progress = self.progress
        parent = self.frame.state
        clone = record.clone_state
        del progress.pending[record.index]
        if clone.errors:
            parent.errors.extend(clone.errors)
        if clone.warnings:
            parent.warnings.extend(clone.warnings)
        if self.body_node is not None:
            self.dispatcher._emit(self.run_ctx, self.body_node.name, record.output, self.body_path)
        if record.index == progress.next_fold:
            self._fold(record)
            done = progress.done
            while done:
                following = done.pop(progress.next_fold, None)
                if following is None:
                    break
                self._fold(following)
        else:
            progress.done[record.index] = record
        self.in_flight -= 1
        self.lot.unpark_all()

    def _fold(self, record: GatherRecord) -> None:
        progress = self.progress
        try:
            self.folder.fold(record)
        except Exception as exc:
            self._abandon(self._as_failure(exc))
        if record.output is not None and record.output in self.success_outputs:
            progress.successes += 1
        else:
            progress.failures += 1
        if progress.records is not None:
            progress.records.append(record)
        progress.next_fold += 1

    def _as_failure(self, exc: Exception) -> Exception:
        if isinstance(exc, PathError):
            dag = cast("DAG", self.frame.dag)
            return ValidationError(
                f"scatter {self.placement.name!r} of DAG {dag.name!r}: input path "
                f"{exc.path!r} does not exist",
                dag_name=dag.name,
                placement=self.placement.name,
                path=exc.path,
            )
        return exc

    def _abandon(self, failure: Exception) -> None:
        """Stop the scatter: the placement fails with ``failure``; progress is kept."""
        if self.failure is None:
            self.failure = failure
        self.nursery.cancel_scope.cancel()
