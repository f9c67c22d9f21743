"""09 terminals: the ways a flow ends, and the lifecycle each leaves behind.

1. a ``None`` route ends the flow where it stands (completed);
2. an explicit terminal placement ends it completed;
3. a check node routes ``pass`` to a completed and ``fail`` to a failed
   terminal;
4. an embedded child DAG records a non-recoverable error when told to fail,
   so the parent routes ``error`` to its failed terminal.

Each pattern runs on a fresh dispatcher.

Run: python examples/09_terminals.py
"""

from typing import Any

import attrs
import trio

from dagon_actors import (
    DAG,
    DAGBuilder,
    Dagonizer,
    ErrorRecord,
    NodeContext,
    NodeOutput,
    NodeStateBase,
    node,
)


@attrs.define
class TerminalState(NodeStateBase):
    should_pass: bool = True
    steps: int = 0


@node("step-a", outputs=("ok",))
async def step_a(state: TerminalState, ctx: NodeContext[Any]) -> str:
    state.steps += 1
    return "ok"


@node("check", outputs=("pass", "fail"))
async def check(state: TerminalState, ctx: NodeContext[Any]) -> str:
    return "pass" if state.should_pass else "fail"


@node("child-work", outputs=("done",))
async def child_work(state: TerminalState, ctx: NodeContext[Any]) -> str | NodeOutput:
    if state.should_pass:
        return "done"
    fatal = ErrorRecord(code="fatal", message="child work cannot continue")
    return NodeOutput("done", errors=[fatal])


null_route = DAGBuilder("demo-null-route", "1").node("a", step_a, {"ok": None}).build()

explicit_completed = (
    DAGBuilder("demo-explicit-completed", "1")
    .node("a", step_a, {"ok": "end"})
    .terminal("end")
    .build()
)

explicit_terminals = (
    DAGBuilder("demo-explicit-terminals", "1")
    .node("check", check, {"pass": "end-ok", "fail": "end-fail"})
    .terminal("end-ok")
    .terminal("end-fail", outcome="failed")
    .build()
)

child_dag = (
    DAGBuilder("child", "1")
    .node("work", child_work, {"done": "child-end"})
    .terminal("child-end")
    .build()
)

embedded_terminals = (
    DAGBuilder("demo-embedded-dag-terminals", "1")
    .embedded_dag(
        "run",
        "child",
        {"success": "end-ok", "error": "end-fail"},
        inputs={"should_pass": "should_pass"},
    )
    .terminal("end-ok")
    .terminal("end-fail", outcome="failed")
    .build()
)


async def run_pattern(title: str, dags: list[DAG], state: TerminalState) -> None:
    dispatcher: Dagonizer[TerminalState, None] = Dagonizer()
    for dag in dags:
        dispatcher.register_dag(dag)
    result = await dispatcher.execute(dags[-1].name, state)
    print()
    print(f"{title}:")
    print(f"  lifecycle.kind = {result.state.lifecycle.variant.value}")


async def main() -> None:
    await run_pattern("Pattern 1: null route (implicit terminal)", [null_route], TerminalState())
    await run_pattern(
        "Pattern 2: explicit completed terminal", [explicit_completed], TerminalState()
    )
    await run_pattern(
        "Pattern 3a: check node routes to end-ok",
        [explicit_terminals],
        TerminalState(should_pass=True),
    )
    await run_pattern(
        "Pattern 3b: check node routes to end-fail",
        [explicit_terminals],
        TerminalState(should_pass=False),
    )
    await run_pattern(
        "Pattern 4a: scatter child DAG succeeds -> end-ok",
        [child_dag, embedded_terminals],
        TerminalState(should_pass=True),
    )
    await run_pattern(
        "Pattern 4b: scatter child DAG errors -> end-fail",
        [child_dag, embedded_terminals],
        TerminalState(should_pass=False),
    )
    print()
    print("A None route and a completed terminal end a flow the same way; a")
    print("terminal names the end in the graph, and outcome='failed' marks it a")
    print("failure. A child that records an error routes its parent to `error`.")


if __name__ == "__main__":
    trio.run(main)
