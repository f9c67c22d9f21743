"""Nodes: the protocol, the ``@node`` decorator, and what a node receives.

A node is any object with a ``name``, its ``outputs`` and an async
``execute(state, ctx)`` returning one of its outputs (or a
:class:`NodeOutput`). Optional attributes read with ``getattr``: ``timeout``
(seconds per attempt) and ``retry`` (a ``RetryPolicy``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar, final

import attrs

from dagon_actors._abort import AbortSignal
from dagon_actors._errors import ValidationError
from dagon_actors._retry import RetryPolicy
from dagon_actors._state import ErrorRecord

__all__ = ["FunctionNode", "Node", "NodeContext", "NodeOutput", "node"]

StateT = TypeVar("StateT")
StateT_contra = TypeVar("StateT_contra", contravariant=True)
ServicesT = TypeVar("ServicesT")
ServicesT_co = TypeVar("ServicesT_co", covariant=True)
ServicesT_contra = TypeVar("ServicesT_contra", contravariant=True)


@final
@attrs.frozen(kw_only=True)
class NodeContext(Generic[ServicesT_co]):
    """What a node receives besides the state; built by the dispatcher.

    ``services`` is the dispatcher's services bag, the same object for every
    node, embedded child and scatter clone. ``placement_path`` runs from the
    top-level DAG down to and including the placement being run;
    ``item_index`` is the scatter position (``None`` outside a scatter).
    ``signal`` is the run's abort signal, never ``None``.
    """

    services: ServicesT_co
    dag_name: str
    node_name: str
    placement_path: tuple[str, ...]
    signal: AbortSignal
    item_index: int | None = None


@final
@attrs.frozen
class NodeOutput:
    """A node's result when it has errors to add besides its output name.

    ``errors`` holds exceptions or ``ErrorRecord`` objects; the engine records
    them on the state (filling in node, path and item index) before routing.
    """

    output: str
    errors: Sequence[BaseException | ErrorRecord] = ()


class Node(Protocol[StateT_contra, ServicesT_contra]):
    """The node protocol. Frozen attrs classes qualify (the attributes are read-only)."""

    @property
    def name(self) -> str:
        """The node's registry name."""
        ...

    @property
    def outputs(self) -> Sequence[str]:
        """Every output ``execute`` may return."""
        ...

    async def execute(
        self, state: StateT_contra, ctx: NodeContext[ServicesT_contra], /
    ) -> str | NodeOutput:
        """Do the work and name the output to follow."""
        ...


@final
@attrs.frozen(kw_only=True)
class FunctionNode(Generic[StateT, ServicesT]):
    """A node made by :func:`node` from an async function."""

    name: str
    outputs: tuple[str, ...]
    fn: Callable[[StateT, NodeContext[ServicesT]], Awaitable[str | NodeOutput]] = attrs.field(
        repr=False
    )
    timeout: float | None = None
    retry: RetryPolicy | None = None

    async def execute(self, state: StateT, ctx: NodeContext[ServicesT], /) -> str | NodeOutput:
        """Call the wrapped function."""
        return await self.fn(state, ctx)

    async def __call__(self, state: StateT, ctx: NodeContext[ServicesT], /) -> str | NodeOutput:
        """Call the wrapped function directly (handy in tests)."""
        return await self.fn(state, ctx)


def node(
    name: str,
    *,
    outputs: Sequence[str],
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
) -> Callable[
    [Callable[[StateT, NodeContext[ServicesT]], Awaitable[str | NodeOutput]]],
    FunctionNode[StateT, ServicesT],
]:
    """Turn ``async def fn(state, ctx)`` into a node named ``name``.

    Example::

        @node("step-a", outputs=("done",))
        async def step_a(state: MyState, ctx: NodeContext[Services]) -> str:
            return "done"
    """
    if isinstance(outputs, str):
        raise ValidationError(
            f"node {name!r}: outputs must be a sequence of names, not the string {outputs!r}"
        )
    if not outputs:
        raise ValidationError(f"node {name!r} declares no outputs")
    if timeout is not None and timeout <= 0:
        raise ValidationError(f"node {name!r}: timeout must be positive, got {timeout!r}")

    def wrap(
        fn: Callable[[StateT, NodeContext[ServicesT]], Awaitable[str | NodeOutput]],
    ) -> FunctionNode[StateT, ServicesT]:
        return FunctionNode(name=name, outputs=tuple(outputs), fn=fn, timeout=timeout, retry=retry)

    return wrap


def node_outputs(obj: Any) -> tuple[str, ...]:
    """The declared outputs of a node object, as a tuple."""
    return tuple(obj.outputs)
