"""07 retry: call a flaky dependency through a RetryPolicy inside a node.

``fetch`` wraps a function that fails with ``TransientError`` on its first
two calls. ``policy.run`` retries it with exponential backoff (50 ms, then
100 ms; no jitter), so the third attempt succeeds and the node routes
``success``. Had the budget run out, ``policy.run`` would re-raise the
last error and ``fetch`` would route ``error`` to the failed terminal.

The script runs on Trio's ``MockClock``, so the backoff takes no real time.

Run: python examples/07_retry.py
"""

from typing import Any

import attrs
import trio
import trio.testing

from dagon_actors import (
    BackoffStrategy,
    DAGBuilder,
    Dagonizer,
    NodeContext,
    NodeStateBase,
    RetryPolicy,
    node,
)


class TransientError(Exception):
    """A failure worth another try."""


@attrs.define
class FetchState(NodeStateBase):
    attempts: int = 0
    failures: int = 0
    result: str = ""


policy = RetryPolicy(
    max_attempts=5,
    strategy=BackoffStrategy.EXPONENTIAL,
    base_delay=0.05,
    jitter=0,
    retry_on=(TransientError,),
)


@node("fetch", outputs=("success", "error"))
async def fetch(state: FetchState, ctx: NodeContext[Any]) -> str:
    async def flaky() -> str:
        state.attempts += 1
        if state.attempts <= 2:
            state.failures += 1
            raise TransientError(f"attempt {state.attempts}: upstream unavailable")
        return "OK"

    try:
        state.result = await policy.run(flaky)
    except TransientError:
        return "error"  # the budget is spent: route to the failed terminal
    return "success"


dag = (
    DAGBuilder("retry-flow", "1")
    .node("fetch", fetch, {"success": "end", "error": "end-fail"})
    .terminal("end")
    .terminal("end-fail", outcome="failed")
    .build()
)


async def main() -> None:
    dispatcher: Dagonizer[FetchState, None] = Dagonizer()
    dispatcher.register_dag(dag)

    state = FetchState()
    await dispatcher.execute("retry-flow", state)

    print()
    print("Retry DAG: fetch with EXPONENTIAL backoff")
    print(f'  attempts={state.attempts}  result="{state.result}"')
    print(f"  (threw {state.failures} time(s) before succeeding)")
    print()
    print("The policy owns the budget and the waits; the node only says what to")
    print("retry. Backoff sleeps on Trio's clock, so an abort ends a wait at once.")


if __name__ == "__main__":
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
