"""DAGBuilder: the mutable side of a DAG; ``build()`` validates once and freezes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Self

from dagon_actors._dag import (
    DAG,
    EmbeddedDAGNode,
    ParallelNode,
    PhaseNode,
    Placement,
    ScatterNode,
    SingleNode,
    TerminalNode,
)
from dagon_actors._errors import ValidationError
from dagon_actors._gather import DiscardGather, GatherSpec
from dagon_actors._node import node_outputs
from dagon_actors._validate import validate

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from dagon_actors._dag import Combine

__all__ = ["DAGBuilder"]


class DAGBuilder:
    """Accumulates placements fluently; :meth:`build` returns a validated :class:`DAG`.

    Every method returns the builder. The first placement added is the
    entrypoint unless :meth:`entrypoint` names another. ``node`` arguments may
    be node objects (registered along with the DAG) or registered names.

    Example::

        dag = (
            DAGBuilder("chat", "1")
            .node("classify", classify, {"on_topic": "respond", "off_topic": "respond"})
            .node("respond", respond, {"success": "end"})
            .terminal("end")
            .build()
        )
    """

    def __init__(self, name: str, version: str = "1") -> None:
        self._name = name
        self._version = str(version)
        self._placements: list[Placement] = []
        self._phases: list[PhaseNode] = []
        self._entrypoint: str | None = None
        self._nodes: dict[str, Any] = {}
        self._problems: list[str] = []

    def _node_name(self, placement: str, node: Any) -> str:
        if isinstance(node, str):
            return node
        name = getattr(node, "name", None)
        if not isinstance(name, str) or not hasattr(node, "execute"):
            self._problems.append(
                f"{self._name}.{placement}: {node!r} is neither a node name nor a node object"
            )
            return f"<invalid node for {placement}>"
        known = self._nodes.get(name)
        if known is not None and known is not node:
            self._problems.append(
                f"{self._name}.{placement}: two different node objects are named {name!r}"
            )
        self._nodes[name] = node
        return name

    def node(self, name: str, node: Any, routes: Mapping[str, str | None]) -> Self:
        """A single placement running ``node``; ``routes`` maps each output onward."""
        self._placements.append(
            SingleNode(name=name, node=self._node_name(name, node), routes=dict(routes))
        )
        return self

    def embedded_dag(
        self,
        name: str,
        dag_name: str,
        routes: Mapping[str, str | None],
        inputs: Mapping[str, str] | None = None,
        outputs: Mapping[str, str] | None = None,
    ) -> Self:
        """Run registered DAG ``dag_name`` on a clone; route ``success`` / ``error``.

        ``inputs={child_path: parent_path}`` is copied in before the child
        runs; ``outputs={parent_path: child_path}`` is copied back when it
        finishes. Keys are destinations, values are sources.
        """
        self._placements.append(
            EmbeddedDAGNode(
                name=name,
                dag=dag_name,
                routes=dict(routes),
                inputs=dict(inputs or {}),
                outputs=dict(outputs or {}),
            )
        )
        return self

    def scatter(
        self,
        name: str,
        body: Any = None,
        *,
        dag: str | None = None,
        source: str,
        routes: Mapping[str, str | None],
        item_key: str = "item",
        concurrency: int | None = None,
        inputs: Mapping[str, str] | None = None,
        gather: GatherSpec | None = None,
        reducer: str = "aggregate",
        success_outputs: Sequence[str] = ("success",),
        reorder_window: int | None = None,
    ) -> Self:
        """Fan out over the items at ``source``; run ``body`` (or ``dag``) per item.

        See DESIGN.md "DAGs and placements" for every option. Exactly one of
        ``body`` and ``dag`` must be given.
        """
        body_name = None if body is None else self._node_name(name, body)
        self._placements.append(
            ScatterNode(
                name=name,
                body=body_name,
                dag=dag,
                source=source,
                routes=dict(routes),
                item_key=item_key,
                concurrency=concurrency,
                inputs=dict(inputs or {}),
                gather=gather if gather is not None else DiscardGather(),
                reducer=reducer,
                success_outputs=tuple(success_outputs),
                reorder_window=reorder_window,
            )
        )
        return self

    def parallel(
        self,
        name: str,
        members: Sequence[str],
        combine: Combine,
        routes: Mapping[str, str | None],
    ) -> Self:
        """Run single placements ``members`` concurrently on the same state."""
        self._placements.append(
            ParallelNode(name=name, members=tuple(members), combine=combine, routes=dict(routes))
        )
        return self

    def terminal(self, name: str, outcome: Literal["completed", "failed"] = "completed") -> Self:
        """An explicit end; ``outcome="failed"`` marks the run failed."""
        self._placements.append(TerminalNode(name=name, outcome=outcome))
        return self

    def phase(self, name: str, node: Any, phase: Literal["pre", "post"] = "pre") -> Self:
        """A lifecycle hook run before (``pre``) or after (``post``) every run."""
        self._phases.append(PhaseNode(name=name, node=self._node_name(name, node), phase=phase))
        return self

    def entrypoint(self, name: str) -> Self:
        """Start the flow at ``name`` instead of the first placement."""
        self._entrypoint = name
        return self

    def build(self) -> DAG:
        """Validate and freeze.

        Raises:
            ValidationError: one error listing every finding.
        """
        entry = self._entrypoint
        if entry is None:
            entry = self._placements[0].name if self._placements else ""
        dag = DAG(
            name=self._name,
            version=self._version,
            entrypoint=entry,
            placements=tuple(self._placements),
            phases=tuple(self._phases),
            nodes=dict(self._nodes),
        )

        def outputs_of(name: str) -> Sequence[str] | None:
            obj = self._nodes.get(name)
            return None if obj is None else node_outputs(obj)

        try:
            built = validate(dag, outputs_of, strict_names=False)
        except ValidationError as exc:
            findings = [*self._problems, *exc.findings]
            raise ValidationError.from_findings(self._name, findings) from None
        if self._problems:
            raise ValidationError.from_findings(self._name, self._problems)
        return built
