"""05 embedded DAGs: one registered DAG runs as a single placement of another.

Placement ``invoke`` runs DAG ``child`` on a clone of the parent state:
``inputs`` seeds the child's ``payload`` from the parent's ``seed`` before
it starts, and ``outputs`` copies the child's ``payload`` back into the
parent's ``result`` when it finishes. The parent then routes on ``success``
or ``error``.

Run: python examples/05_embedded_dags.py
"""

from typing import Any

import attrs
import trio

from dagon_actors import DAGBuilder, Dagonizer, NodeContext, NodeStateBase, node


@attrs.define
class FlowState(NodeStateBase):
    seed: int = 0
    payload: int = 0
    result: int = 0


@node("increment", outputs=("done",))
async def increment(state: FlowState, ctx: NodeContext[Any]) -> str:
    state.payload += 1
    return "done"


child_dag = (
    DAGBuilder("child", "1")
    .node("increment", increment, {"done": "child-end"})
    .terminal("child-end")
    .build()
)

parent_dag = (
    DAGBuilder("parent", "1")
    .embedded_dag(
        "invoke",
        "child",
        {"success": "end", "error": "end-fail"},
        inputs={"payload": "seed"},
        outputs={"result": "payload"},
    )
    .terminal("end")
    .terminal("end-fail", outcome="failed")
    .build()
)


async def main() -> None:
    dispatcher: Dagonizer[FlowState, None] = Dagonizer()
    dispatcher.register_dag(child_dag)
    dispatcher.register_dag(parent_dag)

    state = FlowState(seed=41)
    await dispatcher.execute("parent", state)

    print()
    print("EmbeddedDAGNode: parent -> invoke(child) -> END")
    print(f"  seed={state.seed} → child DAG incremented payload → result={state.result}")
    print()
    print("The child runs on a fresh clone: domain values cross the boundary only")
    print("through the placement's inputs and outputs mappings.")


if __name__ == "__main__":
    trio.run(main)
