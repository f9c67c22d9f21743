"""Private helpers for the checkpoint and resume tests (not collected).

The resume tests all follow one script: run a flow, stop it part-way,
capture a checkpoint of the state and of a store that counts executions,
send it through JSON text into *fresh* stores, a *fresh* state and a *fresh*
dispatcher, resume, and check that every unit of work ran exactly once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import attrs
import trio

from dagon_actors import (
    AbortController,
    Checkpoint,
    DAGBuilder,
    Dagonizer,
    ExecutionResult,
    MemoryStore,
    NodeStateBase,
    RestoredCheckpoint,
    Store,
    node,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

RESUME_KEY = "__dagon_resume__"
"""Reserved state-metadata key holding an interrupted placement's progress."""


@attrs.define(eq=False)
class Services:
    """The services bag the resume tests hand to every node.

    ``counts`` is the store where bodies count their executions;
    ``controller`` lets a node (or hook) abort its own run; ``abort_after``
    names the work unit after which a node aborts (``None``: never), and
    ``abort_before`` the unit at whose start it aborts.
    """

    counts: Store
    controller: AbortController = attrs.field(factory=AbortController)
    abort_after: str | None = None
    abort_before: str | None = None
    started: list[tuple[str, float]] = attrs.field(factory=list)
    finished: list[tuple[str, float]] = attrs.field(factory=list)


async def count(services: Services, unit: str) -> None:
    """Count one execution of ``unit`` in the counts store (atomically)."""
    await services.counts.update(unit, lambda v: (v or 0) + 1)


def elapsed() -> float:
    """The Trio clock (virtual under ``autojump_clock``)."""
    return trio.current_time()


async def abort_at(controller: AbortController, when: float, reason: str = "test abort") -> None:
    """Abort ``controller`` at Trio time ``when``."""
    await trio.sleep_until(when)
    controller.abort(reason)


async def run_until(
    dispatcher: Dagonizer[Any, Any],
    dag_name: str,
    state: NodeStateBase,
    controller: AbortController,
    when: float | None,
) -> ExecutionResult[Any]:
    """Execute, aborting at Trio time ``when`` (``None``: never from outside)."""
    async with trio.open_nursery() as nursery:
        if when is not None:
            nursery.start_soon(abort_at, controller, when)
        result = await dispatcher.execute(dag_name, state, abort=controller.signal)
        nursery.cancel_scope.cancel()
    return result


@attrs.frozen
class Crossing:
    """What survives a checkpoint's trip through JSON text."""

    text: str
    wire: dict[str, Any]
    loaded: Checkpoint
    restored: RestoredCheckpoint[Any]
    stores: dict[str, MemoryStore]


async def through_json(
    dag_name: str,
    result: ExecutionResult[Any],
    stores: Mapping[str, Store],
    factory: Callable[[dict[str, Any]], Any],
) -> Crossing:
    """Capture, write JSON text, load it back, restore into fresh stores and state."""
    ckpt = await Checkpoint.capture(dag_name, result, stores=stores)
    text = ckpt.to_json()
    wire = json.loads(text)
    loaded = Checkpoint.load(text)
    fresh = {name: MemoryStore() for name in stores}
    await loaded.restore_stores(fresh)
    restored = loaded.restore_state(factory)
    return Crossing(text=text, wire=wire, loaded=loaded, restored=restored, stores=fresh)


async def counts_of(store: Store) -> dict[str, int]:
    """The counts store's content, as a plain dict."""
    return dict((await store.snapshot()).entries)


def resume_progress(wire: Mapping[str, Any]) -> dict[str, Any] | None:
    """The progress record inside a checkpoint's wire document, if any."""
    return wire["state"]["metadata"].get(RESUME_KEY)


# -- a one-node flow, for checkpoints that need an interrupted result -----------


@node("only", outputs=("done",))
async def _only(state: NodeStateBase, ctx: Any) -> str:
    return "done"


ONE_STEP = DAGBuilder("one-step").node("only", _only, {"done": None}).build()


async def interrupted(state: NodeStateBase) -> ExecutionResult[Any]:
    """A result of ``one-step`` aborted before it began: cursor on ``only``.

    The state's domain fields and metadata are left exactly as given.
    """
    dispatcher: Dagonizer[Any, Any] = Dagonizer()
    dispatcher.register_dag(ONE_STEP)
    controller = AbortController()
    controller.abort("before start")
    result = await dispatcher.execute("one-step", state, abort=controller.signal)
    assert result.cursor == "only"
    return result


async def finished(state: NodeStateBase) -> ExecutionResult[Any]:
    """A result of ``one-step`` that ran to its end (cursor ``None``)."""
    dispatcher: Dagonizer[Any, Any] = Dagonizer()
    dispatcher.register_dag(ONE_STEP)
    result = await dispatcher.execute("one-step", state)
    assert result.cursor is None
    return result
