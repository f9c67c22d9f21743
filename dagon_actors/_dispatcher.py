"""Dagonizer: registries, execute/resume, hooks, and the Trio shell that runs placements.

A run moves one state through its DAG a placement at a time (a
:class:`~dagon_actors._progress.Frame` per DAG level). Every placement runs
under the run's cancel scope (abort, deadline); a node with its own timeout
gets a scope of its own; composite placements (scatter, parallel) own a
nursery, and no task outlives the placement that started it. Embedded
children run in the parent's task, so an abort reaches them at any depth.

A node that raises is contained at one point (:meth:`Dagonizer._run_node`):
its exception becomes an error record on the state, and the placement's
kind decides what follows (DESIGN.md "Nodes").
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import trio

from dagon_actors import _clock
from dagon_actors._abort import AbortSignal
from dagon_actors._composite import run_embedded, run_parallel
from dagon_actors._dag import (
    DAG,
    EmbeddedDAGNode,
    ParallelNode,
    PhaseNode,
    ScatterNode,
    SingleNode,
    TerminalNode,
)
from dagon_actors._errors import ExecutionError, NodeTimeoutError, ValidationError
from dagon_actors._node import FunctionNode, NodeContext, NodeOutput, node_outputs
from dagon_actors._paths import PathError, copy_paths
from dagon_actors._phases import run_phases
from dagon_actors._records import NodeEvent
from dagon_actors._scatter import run_scatter
from dagon_actors._state import ErrorRecord, LifecycleVariant, NodeStateBase
from dagon_actors._validate import BUILTIN_REDUCERS, validate

if TYPE_CHECKING:
    from dagon_actors._execution import Execution
    from dagon_actors._gather import GatherRecord
    from dagon_actors._progress import Frame
    from dagon_actors._records import ExecutionResult

__all__ = ["Dagonizer", "PlacementFailure", "Run"]

StateT = TypeVar("StateT", bound=NodeStateBase)
ServicesT = TypeVar("ServicesT")

Reducer = Callable[[Sequence["GatherRecord"]], str]


class PlacementFailure(Exception):
    """Internal: a placement failed; the run stops with the cursor on it.

    ``record`` is already on the state (and reported to ``on_error``).
    ``timed_out`` marks a node timeout, reported as ``interrupted_at``.
    """

    def __init__(self, record: ErrorRecord, *, timed_out: bool = False) -> None:
        super().__init__(record.message)
        self.record = record
        self.timed_out = timed_out


class Run:
    """Internal: what every level of one top-level run shares."""

    __slots__ = ("contexts", "events", "signal", "timeout_record")

    def __init__(
        self,
        signal: AbortSignal,
        *,
        collect: bool,
        contexts: dict[tuple[str, ...], NodeContext[Any]] | None = None,
    ) -> None:
        self.signal: AbortSignal = signal
        # Node contexts of single placements by placement path (no item index).
        self.contexts: dict[tuple[str, ...], NodeContext[Any]] = (
            {} if contexts is None else contexts
        )
        # Events are only built when someone iterates the execution.
        self.events: list[NodeEvent] | None = [] if collect else None
        # A node timeout at top level, surfaced as interrupted_at.
        self.timeout_record: ErrorRecord | None = None


class Dagonizer(Generic[StateT, ServicesT]):
    """The dispatcher: registries, :meth:`execute` / :meth:`resume`, and hooks.

    ``services`` is handed, as the same object, to every node of every run
    (embedded children and scatter clones included); the engine never looks
    inside it. ``max_steps`` bounds the placements one run of one DAG level
    may execute. ``post_phase_timeout`` bounds each post phase.

    Extend it to observe runs: override the plain (not async) hook methods
    :meth:`on_flow_start`, :meth:`on_flow_end`, :meth:`on_node_start`,
    :meth:`on_node_end` and :meth:`on_error`. A hook that raises becomes a
    warning on the state.
    """

    def __init__(
        self,
        *,
        services: ServicesT = None,
        max_steps: int = 10_000,
        post_phase_timeout: float = 5.0,
    ) -> None:
        if max_steps < 1:
            raise ValidationError(f"max_steps must be at least 1, got {max_steps}")
        if post_phase_timeout <= 0:
            raise ValidationError(f"post_phase_timeout must be positive, got {post_phase_timeout}")
        self._services = services
        self.max_steps = max_steps
        self.post_phase_timeout = post_phase_timeout
        self._nodes: dict[str, Any] = {}
        self._dags: dict[str, DAG] = {}
        self._reducers: dict[str, tuple[Reducer | None, frozenset[str]]] = {
            name: (None, verdicts) for name, verdicts in BUILTIN_REDUCERS.items()
        }
        # Runs given no abort signal share one that nothing can abort, and
        # with it one cache of node contexts per DAG.
        self._idle_signal = AbortSignal()
        self._idle_contexts: dict[str, dict[tuple[str, ...], NodeContext[Any]]] = {}
        # Skip the call entirely for hooks a subclass did not override.
        self._hook_node_start = self._overrides("on_node_start")
        self._hook_node_end = self._overrides("on_node_end")
        self._hook_error = self._overrides("on_error")
        self._hook_flow = self._overrides("on_flow_start") or self._overrides("on_flow_end")

    @property
    def services(self) -> ServicesT:
        """The services bag every node receives (read-only: runs cache contexts)."""
        return self._services

    def _overrides(self, hook: str) -> bool:
        return getattr(type(self), hook) is not getattr(Dagonizer, hook)

    # -- registries -------------------------------------------------------------

    def register_node(self, node: Any) -> None:
        """Make ``node`` available by its name to DAGs registered later.

        Raises:
            ValidationError: another object already holds the name, or the
                object is not a node.
        """
        name = getattr(node, "name", None)
        if not isinstance(name, str) or not callable(getattr(node, "execute", None)):
            raise ValidationError(f"{node!r} is not a node (needs name, outputs, execute)")
        outputs = getattr(node, "outputs", None)
        if outputs is None or isinstance(outputs, str):
            raise ValidationError(f"node {name!r}: outputs must be a sequence of names")
        known = self._nodes.get(name)
        if known is not None and known is not node:
            raise ValidationError(f"a different node is already registered as {name!r}")
        self._nodes[name] = node

    def register_dag(self, dag: DAG) -> None:
        """Validate ``dag`` against the registry and register it with its node objects.

        Raises:
            ValidationError: one error listing every finding (unknown node
                names, unrouted outputs or verdicts, ...), or a name clash.
        """
        clashing = {
            name
            for name, obj in dag.nodes.items()
            if name in self._nodes and self._nodes[name] is not obj
        }
        clashes = [
            f"{dag.name}.{placement}: a different node is already registered as {name!r}"
            for placement, name in _node_references(dag)
            if name in clashing
        ]
        known = self._dags.get(dag.name)
        if known is not None and known != dag:
            clashes.append(f"{dag.name}.<dag>: a different DAG is already registered as this name")
        if clashes:
            raise ValidationError.from_findings(dag.name, clashes)

        def outputs_of(name: str) -> Sequence[str] | None:
            obj = dag.nodes.get(name, self._nodes.get(name))
            return None if obj is None else node_outputs(obj)

        reducers = {name: verdicts for name, (_, verdicts) in self._reducers.items()}
        checked = validate(dag, outputs_of, strict_names=True, reducers=reducers)
        for obj in dag.nodes.values():
            self.register_node(obj)
        self._dags[dag.name] = checked

    def register_reducer(
        self, name: str, fn: Callable[[Sequence[GatherRecord]], str], verdicts: Iterable[str]
    ) -> None:
        """Add a scatter reducer: ``fn(records) -> verdict``, one of ``verdicts``.

        ``records`` are the scatter's :class:`GatherRecord` objects in source
        order. ``verdicts`` is used to check that DAGs route every verdict.
        """
        verdict_set = frozenset(verdicts)
        if not verdict_set:
            raise ValidationError(f"reducer {name!r} declares no verdicts")
        if name in BUILTIN_REDUCERS:
            raise ValidationError(f"reducer {name!r} is built in and cannot be replaced")
        self._reducers[name] = (fn, verdict_set)

    def get_dag(self, name: str) -> DAG:
        """The registered DAG called ``name``.

        Raises:
            ValidationError: no such DAG.
        """
        dag = self._dags.get(name)
        if dag is None:
            known = ", ".join(sorted(self._dags)) or "none"
            raise ValidationError(f"unknown DAG {name!r} (registered: {known})", dag_name=name)
        return dag

    def list_dags(self) -> list[str]:
        """Names of the registered DAGs, in registration order."""
        return list(self._dags)

    def get_node(self, name: str) -> Any:
        """The registered node called ``name`` (``None`` if unknown)."""
        return self._nodes.get(name)

    # -- runs ---------------------------------------------------------------------

    def execute(
        self,
        dag_name: str,
        state: StateT,
        *,
        abort: AbortSignal | None = None,
        deadline: float | None = None,
    ) -> Execution[StateT]:
        """Start a run of ``dag_name`` on ``state`` at its entrypoint.

        The returned :class:`Execution` is awaitable (the result) and
        async-iterable (one event per finished placement); the run happens
        once whichever way it is consumed.

        Raises:
            ValidationError: ``dag_name`` is not registered.
        """
        from dagon_actors._execution import Execution

        dag = self.get_dag(dag_name)
        return Execution(
            self, dag, state, dag.entrypoint, resume=False, signal=abort, deadline=deadline
        )

    def resume(
        self,
        dag_name: str,
        state: StateT,
        cursor: str,
        *,
        abort: AbortSignal | None = None,
        deadline: float | None = None,
    ) -> Execution[StateT]:
        """Continue a run of ``dag_name`` at ``cursor``.

        Progress an interrupted composite placement left on the state (or in a
        restored snapshot) is picked up: completed scatter items and child
        placements never run again.

        Raises:
            ValidationError: unknown DAG, or ``cursor`` is not one of its placements.
        """
        from dagon_actors._execution import Execution

        dag = self.get_dag(dag_name)
        if dag.placement(cursor) is None:
            raise ValidationError(
                f"cursor {cursor!r} is not a placement of DAG {dag_name!r}",
                dag_name=dag_name,
                placement=cursor,
            )
        return Execution(self, dag, state, cursor, resume=True, signal=abort, deadline=deadline)

    # -- hooks (override points) ----------------------------------------------------

    def on_flow_start(self, dag_name: str, state: StateT) -> None:
        """A top-level run is starting."""

    def on_flow_end(self, dag_name: str, state: StateT, result: ExecutionResult[StateT]) -> None:
        """A top-level run has ended (every exit path)."""

    def on_node_start(self, node_name: str, state: Any, placement_path: tuple[str, ...]) -> None:
        """A placement (at any depth) is starting."""

    def on_node_end(
        self, node_name: str, output: str | None, state: Any, placement_path: tuple[str, ...]
    ) -> None:
        """A placement (at any depth) has finished with ``output``."""

    def on_error(
        self, node_name: str, error: ErrorRecord, state: Any, placement_path: tuple[str, ...]
    ) -> None:
        """An error record was added (never for an abort or deadline)."""

    def _call_hook(self, state: NodeStateBase, hook: Callable[..., object], *args: Any) -> None:
        """Call a hook; its exception becomes a warning on ``state``."""
        try:
            hook(*args)
        except Exception as exc:
            state.warnings.append(
                ErrorRecord(
                    code=type(exc).__name__,
                    message=f"hook {hook.__name__} raised: {exc}",
                    node=args[0] if args and isinstance(args[0], str) else None,
                    timestamp=_clock.now(),
                    exception=exc,
                )
            )

    # -- recording -------------------------------------------------------------------

    def _record_error(
        self,
        state: NodeStateBase,
        error: BaseException | ErrorRecord,
        *,
        node_name: str,
        path: tuple[str, ...],
        item_index: int | None,
        as_warning: bool = False,
    ) -> ErrorRecord:
        """Add an error record to ``state`` and report it to ``on_error``.

        With ``as_warning`` the record goes to ``state.warnings`` instead and
        ``on_error`` is not called (post phases: their failures never fail a run).
        """
        now = _clock.now()
        if isinstance(error, ErrorRecord):
            record = ErrorRecord(
                code=error.code,
                message=error.message,
                node=error.node or node_name,
                placement_path=error.placement_path or path,
                item_index=error.item_index if error.item_index is not None else item_index,
                timestamp=error.timestamp if error.timestamp is not None else now,
                exception=error.exception,
            )
        else:
            record = ErrorRecord.from_exception(
                error, node=node_name, placement_path=path, item_index=item_index, timestamp=now
            )
        if as_warning:
            state.warnings.append(record)
            return record
        state.errors.append(record)
        if self._hook_error:
            self._call_hook(state, self.on_error, node_name, record, state, path)
        return record

    def _record_warning(
        self,
        state: NodeStateBase,
        error: BaseException,
        message: str,
        *,
        node_name: str,
        path: tuple[str, ...],
        item_index: int | None,
    ) -> None:
        """Add a warning record to ``state``."""
        state.warnings.append(
            ErrorRecord(
                code=type(error).__name__,
                message=message,
                node=node_name,
                placement_path=path,
                item_index=item_index,
                timestamp=_clock.now(),
                exception=error,
            )
        )

    def _context(
        self,
        run: Run,
        dag_name: str,
        node_name: str,
        path: tuple[str, ...],
        item_index: int | None,
    ) -> NodeContext[Any]:
        """The context of one node run.

        Contexts are frozen and, outside a scatter item, depend only on the
        placement path and the run's signal: each is built once per run, or
        once and for all for runs given no abort signal of their own.
        """
        if item_index is not None:
            return NodeContext(
                services=self.services,
                dag_name=dag_name,
                node_name=node_name,
                placement_path=path,
                signal=run.signal,
                item_index=item_index,
            )
        ctx = run.contexts.get(path)
        if ctx is None:
            ctx = run.contexts[path] = NodeContext(
                services=self.services,
                dag_name=dag_name,
                node_name=node_name,
                placement_path=path,
                signal=run.signal,
            )
        return ctx

    # -- running one node ------------------------------------------------------------

    async def _run_node(
        self,
        run: Run,
        node: Any,
        state: NodeStateBase,
        *,
        dag_name: str,
        node_name: str,
        path: tuple[str, ...],
        item_index: int | None,
        allowed: Container[str],
        body_of: str | None = None,
        failures_are_warnings: bool = False,
    ) -> str | ErrorRecord:
        """Run ``node`` once as placement ``node_name``, containing whatever it raises.

        Returns its output, or the error record (already on ``state``) when
        it raised, timed out, or returned an output not in ``allowed``.
        Cancellation propagates.
        """
        if self._hook_node_start:
            self._call_hook(state, self.on_node_start, node_name, state, path)
        ctx = self._context(run, dag_name, node_name, path, item_index)
        try:
            if type(node) is FunctionNode:
                # @node functions are called directly: one coroutine fewer.
                fn_node = cast("FunctionNode[Any, Any]", node)
                if fn_node.timeout is None and fn_node.retry is None:
                    result = await fn_node.fn(state, ctx)
                else:
                    result = await self._run_guarded(
                        node, state, ctx, fn_node.timeout, fn_node.retry
                    )
            else:
                timeout = getattr(node, "timeout", None)
                retry = getattr(node, "retry", None)
                if timeout is None and retry is None:
                    result = await node.execute(state, ctx)
                else:
                    result = await self._run_guarded(node, state, ctx, timeout, retry)
            if type(result) is str:
                output: str = result
            elif isinstance(result, NodeOutput):
                output = result.output
                for error in result.errors:
                    self._record_error(
                        state,
                        error,
                        node_name=node_name,
                        path=path,
                        item_index=item_index,
                        as_warning=failures_are_warnings,
                    )
            else:
                raise ExecutionError(
                    f"node {node_name!r} of DAG {dag_name!r} returned {result!r}, "
                    "not an output name",
                    dag_name=dag_name,
                    placement=node_name,
                    node=node_name,
                )
            if output not in allowed:
                shown = _name_of(cast("object", node), node_name)
                where = (
                    f"which placement {path[-1]!r} of DAG {dag_name!r} does not route"
                    if body_of is None
                    else f"which it does not declare (body of scatter {body_of!r} of DAG "
                    f"{dag_name!r})"
                )
                raise ExecutionError(
                    f"node {shown!r} returned output {output!r}, {where}",
                    dag_name=dag_name,
                    placement=path[-1] if body_of is None else body_of,
                    node=node_name,
                )
        except Exception as exc:
            record = self._record_error(
                state,
                exc,
                node_name=node_name,
                path=path,
                item_index=item_index,
                as_warning=failures_are_warnings,
            )
            if self._hook_node_end:
                self._call_hook(state, self.on_node_end, node_name, None, state, path)
            return record
        if self._hook_node_end:
            self._call_hook(state, self.on_node_end, node_name, output, state, path)
        return output

    async def _run_guarded(
        self,
        node: Any,
        state: NodeStateBase,
        ctx: NodeContext[Any],
        timeout: float | None,
        retry: Any,
    ) -> Any:
        async def attempt() -> Any:
            if timeout is None:
                return await node.execute(state, ctx)
            with trio.move_on_after(timeout) as scope:
                return await node.execute(state, ctx)
            if scope.cancelled_caught:
                raise NodeTimeoutError(
                    f"node {ctx.node_name!r} of DAG {ctx.dag_name!r} timed out after {timeout}s",
                    timeout=timeout,
                    dag_name=ctx.dag_name,
                    placement=ctx.placement_path[-1],
                    node=ctx.node_name,
                )
            raise AssertionError("unreachable")  # pragma: no cover

        if retry is None:
            return await attempt()

        def on_retry(attempt_no: int, exc: Exception, delay: float) -> None:
            self._record_warning(
                state,
                exc,
                f"attempt {attempt_no} of node {ctx.node_name!r} failed ({exc}); "
                f"retrying in {delay:g}s",
                node_name=ctx.node_name,
                path=ctx.placement_path,
                item_index=ctx.item_index,
            )

        return await retry.run(attempt, on_retry=on_retry)

    # -- frames ------------------------------------------------------------------------

    async def _run_child(self, run: Run, frame: Frame) -> None:
        """Run a child frame (embedded DAG, DAG-body clone) to its end."""
        state = frame.state
        dag = cast("DAG", frame.dag)
        if not frame.begun:
            frame.begun = True
            state.lifecycle.start(_clock.now())
            if dag.phases and not await run_phases(self, run, frame, "pre"):
                state.lifecycle.finish(LifecycleVariant.FAILED, _clock.now())
                return
        try:
            while not frame.done:
                await self._step(run, frame)
        finally:
            if dag.phases and frame.done:
                await run_phases(self, run, frame, "post")

    def _emit(
        self,
        run: Run,
        node_name: str,
        output: str | None,
        path: tuple[str, ...],
        skipped: bool = False,
    ) -> None:
        """Hand an event to the consumer, if someone is iterating."""
        if run.events is not None:
            run.events.append(
                NodeEvent(node_name=node_name, output=output, placement_path=path, skipped=skipped)
            )

    def _fail(
        self, frame: Frame, run: Run | None = None, name: str = "", path: tuple[str, ...] = ()
    ) -> None:
        """End ``frame`` failed with the cursor left on the failed placement.

        The error record is already on the state. Given ``run``, the placement
        ran and finished failed, so it reports its one event (output ``None``).
        """
        frame.failed = True
        frame.done = True
        frame.state.lifecycle.finish(LifecycleVariant.FAILED, _clock.now())
        if run is not None:
            self._emit(run, name, None, path)

    def _engine_failure(self, frame: Frame, error: Exception, name: str) -> PlacementFailure:
        """Record ``error`` for placement ``name``; return the failure to raise."""
        record = self._record_error(
            frame.state,
            error,
            node_name=name,
            path=(*frame.prefix, name),
            item_index=frame.item_index,
        )
        return PlacementFailure(record)

    async def _step(self, run: Run, frame: Frame) -> None:
        """Run the placement at ``frame.cursor`` and route on its output."""
        # A running frame always has its DAG and a cursor (no cast(): hot path).
        dag: DAG = frame.dag  # pyright: ignore[reportAssignmentType]
        name: str = frame.cursor  # pyright: ignore[reportAssignmentType]
        placement = dag.placement(name)
        frame.steps += 1
        if frame.steps > self.max_steps:
            error = ExecutionError(
                f"DAG {dag.name!r} exceeded max_steps={self.max_steps} "
                f"(a cycle that never exits?); stopped before {name!r}",
                dag_name=dag.name,
                placement=name,
            )
            self._engine_failure(frame, error, name)
            self._fail(frame)
            return
        path = (*frame.prefix, name)
        skipped = False
        try:
            if type(placement) is SingleNode:
                node = self._nodes.get(placement.node)
                if node is None:
                    raise self._engine_failure(
                        frame,
                        ValidationError(
                            f"placement {name!r} of DAG {dag.name!r} names unknown node "
                            f"{placement.node!r}",
                            dag_name=dag.name,
                            placement=name,
                        ),
                        name,
                    )
                outcome = await self._run_node(
                    run,
                    node,
                    frame.state,
                    dag_name=dag.name,
                    node_name=name,
                    path=path,
                    item_index=frame.item_index,
                    allowed=placement.routes,
                )
                if isinstance(outcome, ErrorRecord):
                    timed_out = isinstance(outcome.exception, NodeTimeoutError)
                    if timed_out and not frame.prefix:
                        run.timeout_record = outcome
                    self._fail(frame, run, name, path)
                    return
                output: str = outcome
            elif type(placement) is TerminalNode:
                self._hook_start(frame, name, path)
                frame.terminal_outcome = placement.outcome
                frame.executed.append(name)
                frame.cursor = None
                frame.done = True
                variant = (
                    LifecycleVariant.FAILED
                    if placement.outcome == "failed"
                    else LifecycleVariant.COMPLETED
                )
                if variant is LifecycleVariant.FAILED:
                    frame.failed = True
                frame.state.lifecycle.finish(variant, _clock.now())
                self._hook_end(frame, name, None, path)
                self._emit(run, name, None, path)
                return
            else:
                self._hook_start(frame, name, path)
                if type(placement) is EmbeddedDAGNode:
                    output = await run_embedded(self, run, frame, placement, path)
                elif type(placement) is ScatterNode:
                    output, skipped = await run_scatter(self, run, frame, placement, path)
                else:
                    output = await run_parallel(
                        self, run, frame, cast("ParallelNode", placement), path
                    )
                self._hook_end(frame, name, output, path)
        except PlacementFailure:
            if type(placement) is not SingleNode:
                self._hook_end(frame, name, None, path)
            self._fail(frame, run, name, path)
            return
        # Every kind but a terminal routes its output.
        routes: Mapping[str, str | None] = getattr(placement, "routes")  # noqa: B009
        if output not in routes:
            error = ExecutionError(
                f"placement {name!r} of DAG {dag.name!r} produced {output!r}, which it "
                "does not route",
                dag_name=dag.name,
                placement=name,
            )
            self._engine_failure(frame, error, name)
            self._fail(frame, run, name, path)
            return
        nxt = routes[output]
        (frame.skipped if skipped else frame.executed).append(name)
        if run.events is not None:
            self._emit(run, name, output, path, skipped)
        frame.cursor = nxt
        if nxt is None:
            frame.done = True
            frame.state.lifecycle.finish(LifecycleVariant.COMPLETED, _clock.now())
        # One scheduler pass per placement: fairness, and the point where an
        # abort landing between placements is seen.
        await trio.lowlevel.checkpoint()

    def _hook_start(self, frame: Frame, name: str, path: tuple[str, ...]) -> None:
        if self._hook_node_start:
            self._call_hook(frame.state, self.on_node_start, name, frame.state, path)

    def _hook_end(self, frame: Frame, name: str, output: str | None, path: tuple[str, ...]) -> None:
        if self._hook_node_end:
            self._call_hook(frame.state, self.on_node_end, name, output, frame.state, path)

    # -- composite placements --------------------------------------------------------

    def _child_dag(self, frame: Frame, name: str, dag_name: str) -> DAG:
        """The registered DAG a composite placement runs, or a failure naming it."""
        dag = self._dags.get(dag_name)
        if dag is None:
            parent = cast("DAG", frame.dag)
            raise self._engine_failure(
                frame,
                ValidationError(
                    f"placement {name!r} of DAG {parent.name!r} runs DAG {dag_name!r}, "
                    "which is not registered",
                    dag_name=parent.name,
                    placement=name,
                    path=dag_name,
                ),
                name,
            )
        return dag

    def _copy_paths(
        self,
        frame: Frame,
        name: str,
        mapping: Mapping[str, str],
        source: object,
        dest: object,
        *,
        copy_values: bool,
    ) -> None:
        """Copy ``{dest_path: source_path}`` values; a missing path fails the placement."""
        try:
            copy_paths(mapping, source, dest, deep=copy_values)
        except PathError as exc:
            raise self._path_failure(frame, name, exc.path, exc.on) from None

    def _path_failure(self, frame: Frame, name: str, path: str, obj: object) -> PlacementFailure:
        dag = cast("DAG", frame.dag)
        return self._engine_failure(
            frame,
            ValidationError(
                f"placement {name!r} of DAG {dag.name!r}: path {path!r} does not exist on "
                f"{type(obj).__name__}",
                dag_name=dag.name,
                placement=name,
                path=path,
            ),
            name,
        )

    def _take_progress(self, frame: Frame, name: str, kind: type[Any]) -> Any:
        """The progress an interrupted run left for placement ``name``, if any."""
        progress = frame.state._resume  # pyright: ignore[reportPrivateUsage]
        if progress is not None and progress.placement == name and isinstance(progress, kind):
            return progress
        return None

    def _reducer(self, name: str) -> tuple[Reducer | None, frozenset[str]] | None:
        """A registered reducer (``None`` fn for built-ins) and its verdicts."""
        return self._reducers.get(name)


def _name_of(node: object, default: str) -> str:
    name = getattr(node, "name", default)
    return name if isinstance(name, str) else default


def _node_references(dag: DAG) -> list[tuple[str, str]]:
    """(placement name, node name) for every placement and phase that runs a node."""
    refs: list[tuple[str, str]] = []
    for placement in (*dag.placements, *dag.phases):
        if isinstance(placement, SingleNode | PhaseNode):
            refs.append((placement.name, placement.node))
        elif isinstance(placement, ScatterNode) and placement.body is not None:
            refs.append((placement.name, placement.body))
    return refs
