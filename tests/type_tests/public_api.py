"""Type promises of the public API, checked by pyright only (never collected by pytest).

A line ending in ``# pyright: ignore[...]`` must be an error: pyright runs with
``reportUnnecessaryTypeIgnoreComment``, so if it stopped being one the check
fails.
"""

from __future__ import annotations

from typing import assert_type

import attrs

from dagon_actors import (
    Checkpoint,
    Dagonizer,
    ExecutionResult,
    MemoryStore,
    Node,
    NodeContext,
    NodeEvent,
    NodeStateBase,
    RestoredCheckpoint,
    RetryPolicy,
    Store,
    node,
)


@attrs.define
class Order(NodeStateBase):
    total: int = 0


@attrs.define
class Unrelated(NodeStateBase):
    name: str = ""


@attrs.frozen
class Services:
    log: Store


@node("bill", outputs=("done",))
async def bill(state: Order, ctx: NodeContext[Services]) -> str:
    assert_type(state.total, int)
    assert_type(ctx.services, Services)
    assert_type(ctx.item_index, int | None)
    await ctx.services.log.set("billed", state.total)
    return "done"


# @node keeps the function's state and services types.
as_node: Node[Order, Services] = bill
wrong_state: Node[Unrelated, Services] = bill  # pyright: ignore[reportAssignmentType]


async def run_and_resume() -> None:
    dispatcher: Dagonizer[Order, Services] = Dagonizer(services=Services(log=MemoryStore()))
    assert_type(dispatcher.services, Services)
    execution = dispatcher.execute("billing", Order())
    async for event in execution:
        assert_type(event, NodeEvent)
    result = await execution
    assert_type(result, ExecutionResult[Order])
    assert_type(result.state, Order)
    dispatcher.execute("billing", Unrelated())  # pyright: ignore[reportArgumentType]

    checkpoint = await Checkpoint.capture("billing", result, stores={"log": MemoryStore()})
    restored = Checkpoint.load(checkpoint.to_json()).restore_state(Order.restore)
    assert_type(restored, RestoredCheckpoint[Order])
    await dispatcher.resume(restored.dag_name, restored.state, restored.cursor)


async def retry_keeps_return_types() -> None:
    async def fetch(url: str, attempts: int) -> bytes:
        return url.encode() * attempts

    policy = RetryPolicy(max_attempts=2)
    assert_type(await policy.run(fetch, "x", 2), bytes)
    await policy.run(fetch, "x")  # pyright: ignore[reportArgumentType]
