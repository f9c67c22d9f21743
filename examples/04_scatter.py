"""04 scatter: run one node per item of a list, at most two at a time.

``probe-all`` forks a clone of the state for each URL in ``state.urls``
(the URL arrives as clone metadata under ``url``), runs ``probe`` on it, and
a partition gather folds the URLs back into ``succeeded`` / ``failed`` by
each clone's output, in source order whatever order the clones finish in.

Run: python examples/04_scatter.py
"""

import json
from typing import Any

import attrs
import trio
import trio.lowlevel

from dagon_actors import DAGBuilder, Dagonizer, Gather, NodeContext, NodeStateBase, node


@attrs.define
class ProbeState(NodeStateBase):
    urls: list[str] = attrs.Factory(list)
    succeeded: list[str] = attrs.Factory(list)
    failed: list[str] = attrs.Factory(list)


@node("probe", outputs=("ok", "fail"))
async def probe(state: ProbeState, ctx: NodeContext[Any]) -> str:
    url: str = state.get_metadata("url")
    await trio.lowlevel.checkpoint()  # stand-in for the network round trip
    return "ok" if len(url) % 2 == 0 else "fail"


dag = (
    DAGBuilder("probe-urls", "1")
    .scatter(
        "probe-all",
        probe,
        source="urls",
        item_key="url",
        concurrency=2,
        gather=Gather.partition({"ok": "succeeded", "fail": "failed"}),
        success_outputs=("ok",),
        routes={"all-success": "end", "partial": "end", "all-error": "end", "empty": "end"},
    )
    .terminal("end")
    .build()
)


async def main() -> None:
    dispatcher: Dagonizer[ProbeState, None] = Dagonizer()
    dispatcher.register_dag(dag)

    state = ProbeState(
        urls=[
            "https://a.example",
            "https://bb.example",
            "https://ccc.example",
            "https://dddd.example",
        ]
    )
    await dispatcher.execute("probe-urls", state)

    print()
    print("Scatter DAG: probe runs once per URL, concurrency=2")
    print(f"  succeeded: {json.dumps(state.succeeded, separators=(',', ':'))}")
    print(f"  failed:    {json.dumps(state.failed, separators=(',', ':'))}")
    print()
    print("Clones never write the parent: the gather folds each URL into the list")
    print("named for its clone's output, and the aggregate verdict routes onward.")


if __name__ == "__main__":
    trio.run(main)
