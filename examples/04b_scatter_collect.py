"""04b scatter-collect: generate candidates in parallel, then select the best.

A scatter over ``providers`` runs ``generate`` once per provider (three at a
time); each clone writes its own ``candidate``, a map gather collects those
into ``candidates`` in source order, and ``select`` keeps the top score.

Run: python examples/04b_scatter_collect.py
"""

import json
from typing import Any

import attrs
import trio

from dagon_actors import DAGBuilder, Dagonizer, Gather, NodeContext, NodeStateBase, node


@attrs.define
class SelectState(NodeStateBase):
    providers: list[str] = attrs.Factory(list)
    candidate: dict[str, Any] | None = None
    candidates: list[dict[str, Any]] = attrs.Factory(list)
    chosen: dict[str, Any] | None = None


@node("generate", outputs=("success",))
async def generate(state: SelectState, ctx: NodeContext[Any]) -> str:
    provider: str = state.get_metadata("provider")
    score = 10 * len(provider) + ord(provider[0]) % 7
    state.candidate = {"provider": provider, "text": f"draft from {provider}", "score": score}
    return "success"


@node("select", outputs=("done",))
async def select(state: SelectState, ctx: NodeContext[Any]) -> str:
    state.chosen = max(state.candidates, key=lambda c: c["score"])
    return "done"


dag = (
    DAGBuilder("generate-and-select", "1")
    .scatter(
        "generate-all",
        generate,
        source="providers",
        item_key="provider",
        concurrency=3,
        gather=Gather.map({"candidate": "candidates"}),
        routes={
            "all-success": "select",
            "partial": "select",
            "all-error": "no-candidates",
            "empty": "no-candidates",
        },
    )
    .node("select", select, {"done": "end"})
    .terminal("end")
    .terminal("no-candidates", outcome="failed")
    .build()
)


async def main() -> None:
    dispatcher: Dagonizer[SelectState, None] = Dagonizer()
    dispatcher.register_dag(dag)

    state = SelectState(providers=["alpha", "bravo", "charlie", "delta"])
    await dispatcher.execute("generate-and-select", state)

    discarded = len(state.providers) - len(state.candidates)
    print()
    print("Scatter-collect: scatter over providers, collect candidates, select best")
    print(f"  providers:  {json.dumps(state.providers, separators=(',', ':'))}")
    print(
        f"  candidates: {len(state.candidates)} collected "
        f"({'none' if discarded == 0 else discarded} discarded)"
    )
    for candidate in state.candidates:
        print(f"    - {candidate['provider']}: score {candidate['score']}")
    assert state.chosen is not None
    print(f"  chosen:     {state.chosen['provider']} (score {state.chosen['score']})")
    print()
    print("The map gather copies one clone field per item into a parent list;")
    print("selection is an ordinary node that runs after the fan-in.")


if __name__ == "__main__":
    trio.run(main)
