"""03 schema: load a DAG from plain data, run it, round-trip it, reject a bad one.

``DAG.from_dict`` is the boundary where untrusted data becomes a DAG: the
document is structured strictly and the graph validated, and any problem
comes back as one ``ValidationError`` listing every finding.

Run: python examples/03_schema.py
"""

import json
from typing import Any

import trio

from dagon_actors import DAG, Dagonizer, NodeContext, NodeStateBase, ValidationError, node

DOCUMENT: dict[str, Any] = {
    "format": 1,
    "name": "from-json",
    "version": "1",
    "entrypoint": "echo",
    "placements": [
        {"kind": "node", "name": "echo", "node": "echo", "routes": {"success": "end"}},
        {"kind": "terminal", "name": "end", "outcome": "completed"},
    ],
}


@node("echo", outputs=("success",))
async def echo(state: NodeStateBase, ctx: NodeContext[Any]) -> str:
    state.set_metadata("seen", True)
    return "success"


async def main() -> None:
    dag = DAG.from_dict(DOCUMENT)
    print()
    print(f"Loaded:  {dag.name} v{dag.version} ({len(dag.placements)} node(s))")

    dispatcher: Dagonizer[NodeStateBase, None] = Dagonizer()
    dispatcher.register_node(echo)
    dispatcher.register_dag(dag)
    state = NodeStateBase()
    await dispatcher.execute("from-json", state)
    print(f"Executed: metadata.seen = {json.dumps(state.get_metadata('seen'))}")

    round_tripped = DAG.from_dict(dag.to_dict())
    print(f"Round-trip equal: {json.dumps(round_tripped == dag)}")

    try:
        DAG.from_dict({"name": "broken", "version": "1"})
    except ValidationError as err:
        print(f"ValidationError (first failure): {str(err).splitlines()[0]}")

    print()
    print("A document names nodes rather than holding them, so it round-trips as")
    print("data; the nodes it names are registered on the dispatcher.")


if __name__ == "__main__":
    trio.run(main)
