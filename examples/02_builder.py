"""02 builder: the chat DAG of 01, written step by step with DAGBuilder.

The builder records placements fluently; ``build()`` validates the whole
graph once and returns an immutable ``DAG`` whose placements keep their
definition order.

Run: python examples/02_builder.py
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


def build_chat_dag() -> DAGBuilder:
    builder = DAGBuilder("chat", "1")
    builder.node("classify", classify, {"on_topic": "respond", "off_topic": "respond"})
    builder.node("respond", respond, {"success": "end"})
    builder.terminal("end")
    return builder


async def main() -> None:
    dag = build_chat_dag().build()

    dispatcher: Dagonizer[ChatState, None] = Dagonizer()
    dispatcher.register_dag(dag)

    state = ChatState(input="What is a generic type parameter?")
    await dispatcher.execute("chat", state)

    kinds = " → ".join(f"{type(p).__name__}({p.name})" for p in dag.placements)
    print()
    print("Builder DAG: same shape as 01-linear, constructed via DAGBuilder (02-builder)")
    print(f'  input:  "{state.input}"')
    print(f'  reply:  "{state.reply}"')
    print()
    print(f"  built DAG @id: {dag.id}")
    print(f"  nodes:  {kinds}")
    print()
    print("Each builder call adds one placement; build() checks every route")
    print("against the node outputs before the DAG can be registered.")


if __name__ == "__main__":
    trio.run(main)
