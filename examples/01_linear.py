"""01 linear: the smallest useful DAG, two nodes and a terminal.

``classify`` picks one of two outputs; both route to ``respond``, which
answers and routes ``success`` to the completed terminal ``end``.

Run: python examples/01_linear.py
"""

from typing import Any

import attrs
import trio

from dagon_actors import DAGBuilder, Dagonizer, NodeContext, NodeStateBase, node


@attrs.define
class ChatState(NodeStateBase):
    input: str = ""
    topic: str = ""
    reply: str = ""


@node("classify", outputs=("on_topic", "off_topic"))
async def classify(state: ChatState, ctx: NodeContext[Any]) -> str:
    state.topic = "off_topic" if "weather" in state.input.lower() else "on_topic"
    return state.topic


@node("respond", outputs=("success",))
async def respond(state: ChatState, ctx: NodeContext[Any]) -> str:
    if state.topic == "off_topic":
        state.reply = "I only talk about coding, not the weather."
    else:
        state.reply = f"Echo: {state.input}"
    return "success"


dag = (
    DAGBuilder("chat", "1")
    .node("classify", classify, {"on_topic": "respond", "off_topic": "respond"})
    .node("respond", respond, {"success": "end"})
    .terminal("end")
    .build()
)


async def main() -> None:
    dispatcher: Dagonizer[ChatState, None] = Dagonizer()
    dispatcher.register_dag(dag)

    on_topic = ChatState(input="How do I declare a const in TypeScript?")
    await dispatcher.execute("chat", on_topic)

    off_topic = ChatState(input="What is the weather like today?")
    await dispatcher.execute("chat", off_topic)

    print()
    print("Linear DAG: classify -> respond -> END")
    print(f'  on_topic  → "{on_topic.reply}"')
    print(f'  off_topic → "{off_topic.reply}"')
    print()
    print("Both outputs of classify route to the same placement; the terminal")
    print("placement `end` marks the explicit, completed end of the flow.")


if __name__ == "__main__":
    trio.run(main)
