"""Shared fixtures.

``recorder`` makes nodes that log when they start and finish (in Trio time)
and keep the ``NodeContext`` they were given, so a test can assert the order
and the timetable of a run exactly.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import trio

from dagon_actors import NodeContext, NodeOutput, node


@attrs.define
class Recorder:
    """Makes logging nodes; ``entries`` holds ``(event, placement, trio time)`` rows."""

    entries: list[tuple[str, str, float]] = attrs.field(factory=list)
    contexts: list[NodeContext[Any]] = attrs.field(factory=list)

    def node(
        self,
        name: str,
        output: str | NodeOutput = "done",
        *,
        outputs: tuple[str, ...] | None = None,
        delay: float = 0.0,
        raises: Exception | None = None,
    ) -> Any:
        """A node named ``name`` that sleeps ``delay``, then raises or returns ``output``.

        ``outputs`` defaults to the one output it returns.
        """
        returned = output.output if isinstance(output, NodeOutput) else output
        declared = outputs if outputs is not None else (returned,)

        @node(name, outputs=declared)
        async def body(state: Any, ctx: NodeContext[Any]) -> str | NodeOutput:
            self.contexts.append(ctx)
            self.entries.append(("start", ctx.node_name, trio.current_time()))
            if delay:
                await trio.sleep(delay)
            if raises is not None:
                raise raises
            self.entries.append(("end", ctx.node_name, trio.current_time()))
            return output

        return body

    @property
    def started(self) -> list[str]:
        """Placement names in the order they started."""
        return [name for event, name, _ in self.entries if event == "start"]

    def timetable(self, origin: float = 0.0) -> list[tuple[str, str, float]]:
        """``entries`` with times relative to ``origin``."""
        return [(event, name, at - origin) for event, name, at in self.entries]


@pytest.fixture
def recorder() -> Recorder:
    """A fresh :class:`Recorder`."""
    return Recorder()
