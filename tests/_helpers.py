"""Helpers shared by the scatter, gather, abort and timeout tests.

Not a fixture module: plain functions and small classes the tests import.
Every time recorded here is ``trio.current_time()``, so under
``autojump_clock`` the timetables are exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

import attrs
import trio

from dagon_actors import (
    DAGBuilder,
    Dagonizer,
    ErrorRecord,
    NodeStateBase,
    node,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
    from types import TracebackType

    from dagon_actors import AbortController, Execution, ExecutionResult, NodeContext, NodeEvent

GUARD = 600.0
"""Virtual seconds every test may take before ``trio.fail_after`` ends it."""

AGGREGATE_VERDICTS = ("all-success", "partial", "all-error", "empty")
TERMINAL_VERDICTS = ("success", "error")


@attrs.define
class FlowState(NodeStateBase):
    """A state with room for every scatter source and gather target the tests use."""

    items: list[Any] | None = attrs.field(factory=list)
    # A live object (iterator, async generator): left out of snapshots.
    source: Any = attrs.field(default=None, metadata={"transient": True})
    collected: list[Any] = attrs.field(factory=list)
    successes: list[Any] = attrs.field(factory=list)
    failures: list[Any] = attrs.field(factory=list)
    values: list[Any] = attrs.field(factory=list)
    labels: list[Any] = attrs.field(factory=list)
    value: int = 0
    label: str = ""
    config: dict[str, Any] = attrs.field(factory=dict)
    touched: list[str] = attrs.field(factory=list)


class Timetable:
    """When each labelled piece of work started and finished (``None``: never finished)."""

    def __init__(self) -> None:
        self.rows: dict[Any, tuple[float, float | None]] = {}
        self.finish_order: list[Any] = []

    def start(self, label: Any) -> None:
        assert label not in self.rows, f"{label!r} started twice"
        self.rows[label] = (trio.current_time(), None)

    def finish(self, label: Any) -> None:
        start, end = self.rows[label]
        assert end is None, f"{label!r} finished twice"
        self.rows[label] = (start, trio.current_time())
        self.finish_order.append(label)

    async def work(self, label: Any, seconds: float) -> None:
        """Record ``label`` as started, sleep ``seconds``, record it finished."""
        self.start(label)
        await trio.sleep(seconds)
        self.finish(label)

    def finished(self) -> set[Any]:
        return {label for label, (_, end) in self.rows.items() if end is not None}


class Gauge:
    """Counts how many bodies are inside it at once, and the peak."""

    def __init__(self) -> None:
        self.current = 0
        self.peak = 0

    def __enter__(self) -> Self:
        self.current += 1
        self.peak = max(self.peak, self.current)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.current -= 1


class RecordingDagonizer(Dagonizer[Any, Any]):
    """A dispatcher whose hooks append to lists, for comparing hooks with events."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.starts: list[tuple[str, tuple[str, ...]]] = []
        self.ends: list[tuple[str, str | None, tuple[str, ...]]] = []
        self.errors: list[tuple[str, str, tuple[str, ...]]] = []

    def on_node_start(self, node_name: str, state: Any, placement_path: tuple[str, ...]) -> None:
        self.starts.append((node_name, placement_path))

    def on_node_end(
        self, node_name: str, output: str | None, state: Any, placement_path: tuple[str, ...]
    ) -> None:
        self.ends.append((node_name, output, placement_path))

    def on_error(
        self, node_name: str, error: ErrorRecord, state: Any, placement_path: tuple[str, ...]
    ) -> None:
        self.errors.append((node_name, error.code, placement_path))


async def collect(
    execution: Execution[Any],
) -> tuple[list[NodeEvent], ExecutionResult[Any]]:
    """Iterate ``execution`` to its end, then await it: (events, result)."""
    events: list[NodeEvent] = []
    async for event in execution:
        events.append(event)
    return events, await execution


def event_rows(events: Sequence[NodeEvent]) -> list[tuple[str, str | None, tuple[str, ...]]]:
    """Events as (node_name, output, placement_path) rows."""
    return [(e.node_name, e.output, e.placement_path) for e in events]


def verdict_terminals(builder: DAGBuilder, verdicts: Sequence[str]) -> DAGBuilder:
    """Add a completed terminal ``on-<verdict>`` for each verdict."""
    for verdict in verdicts:
        builder.terminal(f"on-{verdict}")
    return builder


def routes_to_terminals(verdicts: Sequence[str]) -> dict[str, str | None]:
    """Routes sending each verdict to its ``on-<verdict>`` terminal."""
    return {verdict: f"on-{verdict}" for verdict in verdicts}


def register_scatter(
    dispatcher: Dagonizer[Any, Any],
    kind: str,
    body: Callable[[Any, NodeContext[Any]], Awaitable[str]],
    *,
    name: str = "s",
    outputs: Sequence[str] = ("success", "failure"),
    reducer: str = "aggregate",
    routes: Mapping[str, str | None] | None = None,
    timeout: float | None = None,
    **scatter_options: Any,
) -> None:
    """Register DAG ``main``: scatter ``name`` over ``body`` then one terminal per verdict.

    ``kind`` is ``"node"`` (the body is node ``body``, placement path
    ``(name, "body")``) or ``"dag"`` (the body is DAG ``item-flow``: placement
    ``work`` running node ``body``, whose ``success`` goes to terminal ``done``
    and every other output to the failed terminal ``failed``).
    """
    body_node = node("body", outputs=tuple(outputs), timeout=timeout)(body)
    verdicts = AGGREGATE_VERDICTS if reducer == "aggregate" else TERMINAL_VERDICTS
    builder = DAGBuilder("main")
    if routes is None:
        routes = routes_to_terminals(verdicts)
    if kind == "node":
        builder.scatter(name, body_node, reducer=reducer, routes=routes, **scatter_options)
    else:
        inner = DAGBuilder("item-flow").node(
            "work",
            body_node,
            {out: "done" if out == "success" else "failed" for out in outputs},
        )
        inner.terminal("done").terminal("failed", outcome="failed")
        dispatcher.register_dag(inner.build())
        builder.scatter(name, dag="item-flow", reducer=reducer, routes=routes, **scatter_options)
    for target in sorted({target for target in routes.values() if target is not None}):
        builder.terminal(target)
    dispatcher.register_dag(builder.build())


def clone_path(kind: str, name: str = "s") -> tuple[str, ...]:
    """The placement path of the body's own node in a scatter of ``kind``."""
    return (name, "body") if kind == "node" else (name, "work")


def live_tasks() -> set[trio.lowlevel.Task]:
    """Every task alive in this Trio run, system tasks included."""

    def walk(task: trio.lowlevel.Task) -> Iterator[trio.lowlevel.Task]:
        yield task
        for nursery in task.child_nurseries:
            for child in nursery.child_tasks:
                yield from walk(child)

    root = trio.lowlevel.current_root_task()
    assert root is not None
    return set(walk(root))


async def abort_at(when: float, controller: AbortController, reason: object = None) -> None:
    """Abort ``controller`` at virtual time ``when``."""
    await trio.sleep_until(when)
    controller.abort(reason)


def sleeper(
    name: str, seconds: float, table: Timetable, *, output: str = "success", **options: Any
) -> Any:
    """A node ``name`` that records itself in ``table`` and sleeps ``seconds``."""

    async def body(state: Any, ctx: NodeContext[Any]) -> str:
        await table.work(name, seconds)
        return output

    return node(name, outputs=(output,), **options)(body)
