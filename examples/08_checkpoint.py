"""08 checkpoint: abort a run, snapshot it, restore it, resume it.

DAG ``count`` runs the node ``inc`` three times (placements ``a``, ``b``,
``c``). The run is iterated event by event and aborted right after the first
event, so it stops with the cursor on ``b``. The partial result becomes a
``Checkpoint``, goes through JSON (a stand-in for a file or a database), is
loaded back, and the state is rebuilt with ``CountState.restore``. A fresh
dispatcher, as after a process restart, resumes at the cursor: ``a`` is not
run again.

Run: python examples/08_checkpoint.py
"""

import json
from typing import Any

import attrs
import trio

from dagon_actors import (
    AbortController,
    Checkpoint,
    DAGBuilder,
    Dagonizer,
    NodeContext,
    NodeStateBase,
    node,
)


@attrs.define
class CountState(NodeStateBase):
    count: int = 0
    log: list[str] = attrs.Factory(list)


@node("inc", outputs=("done",))
async def inc(state: CountState, ctx: NodeContext[Any]) -> str:
    state.count += 1
    state.log.append(f"tick:{state.count}")
    return "done"


dag = (
    DAGBuilder("count", "1")
    .node("a", inc, {"done": "b"})
    .node("b", inc, {"done": "c"})
    .node("c", inc, {"done": "end"})
    .terminal("end")
    .build()
)


def new_dispatcher() -> Dagonizer[CountState, None]:
    dispatcher: Dagonizer[CountState, None] = Dagonizer()
    dispatcher.register_dag(dag)
    return dispatcher


async def main() -> None:
    # Step 1: a partial run, aborted after the first event.
    controller = AbortController()
    execution = new_dispatcher().execute("count", CountState(), abort=controller.signal)
    seen = 0
    async for _event in execution:
        seen += 1
        if seen == 1:
            controller.abort("pause after a")
    partial = await execution

    print()
    print("Checkpoint lifecycle: abort -> snapshot -> restore -> resume")
    print(f'  partial: count={partial.state.count} cursor="{partial.cursor}"')

    # Step 2: capture and persist.
    checkpoint = await Checkpoint.capture("count", partial)
    persisted = checkpoint.to_json()

    # Step 3: load it back and rebuild a typed state.
    loaded = Checkpoint.load(json.loads(persisted))
    restored = loaded.restore_state(CountState.restore)
    print(f'  restored: count={restored.state.count} cursor="{restored.cursor}"')

    # Step 4: resume on a fresh dispatcher.
    resumed = await new_dispatcher().resume(restored.dag_name, restored.state, restored.cursor)
    log = json.dumps(resumed.state.log, separators=(",", ":"))
    print(f"  resumed: count={resumed.state.count} log={log}")
    print()
    print("The cursor says where to continue; the snapshot carries the domain")
    print("fields. The resumed run ends exactly as an uninterrupted one would.")


if __name__ == "__main__":
    trio.run(main)
