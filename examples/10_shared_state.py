"""10 shared state: one Store on the services bag, written by parent and child.

The dispatcher is built with a services bag holding a ``MemoryStore`` as
``log``. Every node, the embedded child's included, receives that same
object as ``ctx.services.log`` and appends to the ``entries`` key with an
atomic ``update``, so no value travels through inputs or gathers.

Part 2 aborts a run after ``step-a``, captures a checkpoint with the store
alongside the state, restores the store into a fresh ``MemoryStore`` and
resumes on a fresh dispatcher bound to it.

Run: python examples/10_shared_state.py
"""

import json

import attrs
import trio

from dagon_actors import (
    AbortController,
    Checkpoint,
    DAGBuilder,
    Dagonizer,
    MemoryStore,
    NodeContext,
    NodeStateBase,
    Store,
    node,
)


@attrs.frozen
class Services:
    log: Store


@node("step-a", outputs=("done",))
async def step_a(state: NodeStateBase, ctx: NodeContext[Services]) -> str:
    await ctx.services.log.update("entries", lambda v: f"{v},step-a" if v else "step-a")
    return "done"


@node("child-step", outputs=("done",))
async def child_step(state: NodeStateBase, ctx: NodeContext[Services]) -> str:
    await ctx.services.log.update("entries", lambda v: f"{v},child-step" if v else "child-step")
    return "done"


@node("step-b", outputs=("done",))
async def step_b(state: NodeStateBase, ctx: NodeContext[Services]) -> str:
    await ctx.services.log.update("entries", lambda v: f"{v},step-b" if v else "step-b")
    return "done"


# The child never mentions the store: it lives outside the topology.
child_dag = (
    DAGBuilder("sub-flow", "1")
    .node("child-step", child_step, {"done": "child-end"})
    .terminal("child-end")
    .build()
)

parent_dag = (
    DAGBuilder("main-flow", "1")
    .node("step-a", step_a, {"done": "run-child"})
    .embedded_dag("run-child", "sub-flow", {"success": "step-b", "error": "step-b"})
    .node("step-b", step_b, {"done": "end"})
    .terminal("end")
    .build()
)


def new_dispatcher(log: Store) -> Dagonizer[NodeStateBase, Services]:
    dispatcher = Dagonizer[NodeStateBase, Services](services=Services(log=log))
    dispatcher.register_dag(child_dag)
    dispatcher.register_dag(parent_dag)
    return dispatcher


async def part_1() -> None:
    log = MemoryStore()
    await new_dispatcher(log).execute("main-flow", NodeStateBase())
    print()
    print("Part 1: Normal run:")
    print(f'  log.entries = "{await log.get("entries", "")}"')


async def part_2() -> None:
    log = MemoryStore()
    controller = AbortController()
    execution = new_dispatcher(log).execute("main-flow", NodeStateBase(), abort=controller.signal)
    seen = 0
    async for _event in execution:
        seen += 1
        if seen == 1:
            controller.abort("checkpoint")
    partial = await execution
    if partial.cursor is None:
        print()
        print("Part 2: run completed before abort; no cursor")
        return

    checkpoint = await Checkpoint.capture("main-flow", partial, stores={"log": log})
    text = checkpoint.to_json()
    print()
    print("Part 2: Checkpoint captured:")
    print(f'  cursor                  = "{partial.cursor}"')
    print(f'  log at capture          = "{await log.get("entries", "")}"')

    fresh_log = MemoryStore()
    loaded = Checkpoint.load(json.loads(text))
    await loaded.restore_stores({"log": fresh_log})
    print(f'  log after restoreStores = "{await fresh_log.get("entries", "")}"')

    restored = loaded.restore_state(NodeStateBase.restore)
    await new_dispatcher(fresh_log).resume(restored.dag_name, restored.state, restored.cursor)
    print(f'  log after resume        = "{await fresh_log.get("entries", "")}"')


async def main() -> None:
    await part_1()
    await part_2()
    print()
    print("Parent and child append to one store in execution order. The checkpoint")
    print("carries the store's contents, so the resumed run continues from them and")
    print("nothing is written twice.")


if __name__ == "__main__":
    trio.run(main)
