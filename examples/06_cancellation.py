"""06 cancellation: stop a run from outside, by abort signal or by deadline.

Node ``slow`` would take five seconds. Run (a) is aborted by an
``AbortController`` 25 ms in; run (b) is given a 25 ms ``deadline``. Both
cancel the node's Trio cancel scope at once (the node never polls), and both
leave the cursor on ``slow`` so the run could be resumed there.

The script runs on Trio's ``MockClock``, so the waits take no real time.

Run: python examples/06_cancellation.py
"""

from typing import Any

import attrs
import trio
import trio.testing

from dagon_actors import AbortController, DAGBuilder, Dagonizer, NodeContext, NodeStateBase, node


@attrs.define
class SlowState(NodeStateBase):
    finished: bool = False


@node("slow", outputs=("done",))
async def slow(state: SlowState, ctx: NodeContext[Any]) -> str:
    await trio.sleep(5)
    state.finished = True
    return "done"


dag = DAGBuilder("slow-flow", "1").node("slow", slow, {"done": "end"}).terminal("end").build()


async def main() -> None:
    dispatcher: Dagonizer[SlowState, None] = Dagonizer()
    dispatcher.register_dag(dag)

    # (a) An AbortController, aborted 25 ms after the run starts.
    controller = AbortController()

    async def abort_soon() -> None:
        await trio.sleep(0.025)
        controller.abort("user pressed stop")

    aborted = SlowState()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(abort_soon)
        result_a = await dispatcher.execute("slow-flow", aborted, abort=controller.signal)

    # (b) A run deadline of 25 ms.
    late = SlowState()
    result_b = await dispatcher.execute("slow-flow", late, deadline=0.025)

    print()
    print("Cancellation shapes: AbortSignal vs deadlineMs")
    print(
        f"  (a) AbortController: lifecycle={aborted.lifecycle.variant.value} "
        f'cursor="{result_a.cursor}"'
    )
    print(
        f"  (b) deadlineMs:      lifecycle={late.lifecycle.variant.value} "
        f'cursor="{result_b.cursor}"'
    )
    print()
    print("An abort ends the run cancelled, a deadline ends it timed_out; either")
    print("way the interrupted placement is where a resume would start.")


if __name__ == "__main__":
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
