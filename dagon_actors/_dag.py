"""The immutable DAG and its placement records.

A DAG stores only names (node names, child DAG names, dotted paths), so it
round-trips as plain JSON data through :meth:`DAG.to_dict` and
:meth:`DAG.from_dict`. Node objects handed to the builder ride along in
``DAG.nodes`` for registration but are not part of the data or of equality.

Wire format (``format`` is the document version; ``version`` is the DAG's)::

    {"format": 1, "name": "chat", "version": "1", "entrypoint": "classify",
     "placements": [{"kind": "node", "name": "classify", "node": "classify",
                     "routes": {"on_topic": "respond", "off_topic": "respond"}},
                    {"kind": "terminal", "name": "end", "outcome": "completed"}],
     "phases": []}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, cast, final

import attrs
from cattrs.strategies import configure_tagged_union

from dagon_actors._codec import CONVERTER, error_paths
from dagon_actors._errors import ValidationError
from dagon_actors._gather import (
    AppendGather,
    CustomGather,
    DiscardGather,
    GatherSpec,
    MapGather,
    PartitionGather,
)

__all__ = [
    "DAG",
    "FORMAT_VERSION",
    "EmbeddedDAGNode",
    "ParallelNode",
    "PhaseNode",
    "Placement",
    "ScatterNode",
    "SingleNode",
    "TerminalNode",
]

FORMAT_VERSION = 1
"""Version of the DAG document format written by ``to_dict``."""

Routes = Mapping[str, str | None]
Combine = Literal["all-success", "any-success", "collect"]


@attrs.frozen(kw_only=True)
class SingleNode:
    """Run one node; follow ``routes[output]`` (``None`` ends the flow)."""

    KIND: ClassVar[str] = "node"
    name: str
    node: str
    routes: Routes


@attrs.frozen(kw_only=True)
class EmbeddedDAGNode:
    """Run registered DAG ``dag`` on a clone; route ``success`` or ``error``."""

    KIND: ClassVar[str] = "embedded"
    name: str
    dag: str
    routes: Routes
    inputs: Mapping[str, str] = attrs.field(factory=dict[str, str])
    outputs: Mapping[str, str] = attrs.field(factory=dict[str, str])


@attrs.frozen(kw_only=True)
class ScatterNode:
    """Run ``body`` (a node) or ``dag`` once per source item, on clones; route the verdict."""

    KIND: ClassVar[str] = "scatter"
    name: str
    source: str
    routes: Routes
    body: str | None = None
    dag: str | None = None
    item_key: str = "item"
    concurrency: int | None = None
    inputs: Mapping[str, str] = attrs.field(factory=dict[str, str])
    gather: GatherSpec = attrs.field(factory=DiscardGather)
    reducer: str = "aggregate"
    success_outputs: tuple[str, ...] = ("success",)
    reorder_window: int | None = None


@attrs.frozen(kw_only=True)
class ParallelNode:
    """Run single placements ``members`` concurrently on the same state; combine."""

    KIND: ClassVar[str] = "parallel"
    name: str
    members: tuple[str, ...]
    combine: Combine
    routes: Routes


@attrs.frozen(kw_only=True)
class TerminalNode:
    """End the flow with ``outcome``."""

    KIND: ClassVar[str] = "terminal"
    name: str
    outcome: Literal["completed", "failed"] = "completed"


@attrs.frozen(kw_only=True)
class PhaseNode:
    """A lifecycle hook: ``pre`` runs before the first placement, ``post`` after the flow."""

    KIND: ClassVar[str] = "phase"
    name: str
    node: str
    phase: Literal["pre", "post"] = "pre"


Placement = SingleNode | EmbeddedDAGNode | ScatterNode | ParallelNode | TerminalNode
"""Every placement kind a DAG's flow may hold."""


@final
@attrs.frozen(kw_only=True)
class DAG:
    """An immutable graph definition; build one with ``DAGBuilder`` or :meth:`from_dict`.

    ``warnings`` lists findings that do not invalidate the DAG (unreachable
    placements). ``nodes`` holds node objects the builder was given; they are
    registered with the DAG and are not part of equality or ``to_dict``.
    """

    name: str
    version: str
    entrypoint: str
    placements: tuple[Placement, ...]
    phases: tuple[PhaseNode, ...] = ()
    warnings: tuple[str, ...] = attrs.field(default=(), eq=False)
    nodes: Mapping[str, Any] = attrs.field(factory=dict[str, Any], eq=False, repr=False)
    _index: dict[str, Placement] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_index", {p.name: p for p in self.placements})

    @property
    def id(self) -> str:
        """A stable identifier: ``urn:dagon:dag:<name>:<version>``."""
        return f"urn:dagon:dag:{self.name}:{self.version}"

    def placement(self, name: str) -> Placement | None:
        """The placement called ``name``, or ``None``."""
        return self._index.get(name)

    def placement_names(self) -> list[str]:
        """Placement names in definition order."""
        return [p.name for p in self.placements]

    def to_dict(self) -> dict[str, Any]:
        """This DAG as plain JSON data (see the module docstring).

        Raises:
            ValidationError: a scatter uses ``Gather.custom``, which holds a
                Python callable and cannot be data.
        """
        custom = [
            p.name
            for p in self.placements
            if isinstance(p, ScatterNode) and isinstance(p.gather, CustomGather)
        ]
        if custom:
            findings = [
                f"{self.name}.{name}: Gather.custom holds a Python callable and cannot be "
                "written as data"
                for name in custom
            ]
            raise ValidationError.from_findings(self.name, findings)
        document = _Document(
            format=FORMAT_VERSION,
            name=self.name,
            version=self.version,
            entrypoint=self.entrypoint,
            placements=list(self.placements),
            phases=list(self.phases),
        )
        return CONVERTER.unstructure(document)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DAG:
        """Load and validate a DAG document.

        Raises:
            ValidationError: the document is malformed (missing or extra
                fields, wrong types, unknown kinds or format) or the graph is
                invalid; every finding is listed.
        """
        from dagon_actors._validate import check_structure

        if not isinstance(data, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValidationError.from_findings(
                "<document>", [f"<document>: expected an object, got {type(data).__name__}"]
            )
        raw_name = data.get("name")
        dag_name = raw_name if isinstance(raw_name, str) else "<document>"
        fmt = data.get("format")
        if fmt is None:
            raise ValidationError.from_findings(
                dag_name, [f"{dag_name}.format: required field missing"]
            )
        if fmt != FORMAT_VERSION or type(fmt) is not int:
            raise ValidationError.from_findings(
                dag_name,
                [
                    f"{dag_name}.format: unsupported document format {fmt!r} "
                    f"(this version reads {FORMAT_VERSION})"
                ],
            )
        payload = dict(data)
        unknown = _unknown_kinds(payload)
        if unknown:
            raise ValidationError.from_findings(
                dag_name, [f"{dag_name}.{where}: {problem}" for where, problem in unknown]
            )
        try:
            document = CONVERTER.structure(payload, _Document)
        except Exception as exc:
            findings = [
                f"{dag_name}.{_name_path(path, payload)}: {problem}"
                for path, problem in error_paths(exc)
            ]
            raise ValidationError.from_findings(dag_name, findings) from None
        dag = cls(
            name=document.name,
            version=document.version,
            entrypoint=document.entrypoint,
            placements=tuple(document.placements),
            phases=tuple(document.phases),
        )
        return check_structure(dag)


_PLACEMENT_KINDS = ("node", "embedded", "scatter", "parallel", "terminal")
_GATHER_KINDS = ("partition", "map", "append", "discard")


def _unknown_kinds(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Placements (and gathers) whose ``kind`` tag is missing or unknown."""
    found: list[tuple[str, str]] = []
    placements = payload.get("placements")
    if not isinstance(placements, list):
        return found
    for index, entry in enumerate(cast("list[Any]", placements)):
        if not isinstance(entry, dict):
            continue
        doc = cast("dict[str, Any]", entry)
        name = doc.get("name")
        where = name if isinstance(name, str) else f"placements[{index}]"
        kind = doc.get("kind")
        if kind not in _PLACEMENT_KINDS:
            problem = (
                "required field missing: kind"
                if kind is None
                else f"unknown placement kind {kind!r} (known: {', '.join(_PLACEMENT_KINDS)})"
            )
            found.append((where, problem))
        gather = doc.get("gather")
        if kind == "scatter" and isinstance(gather, dict):
            gather_kind = cast("dict[str, Any]", gather).get("kind")
            if gather_kind not in _GATHER_KINDS:
                found.append((where, f"unknown gather kind {gather_kind!r}"))
    return found


def _name_path(path: str, payload: Mapping[str, Any]) -> str:
    """Say ``placements[0].routes`` as ``<placement name>.routes`` where possible."""
    if not path.startswith("placements["):
        return path or "<document>"
    index_text, _, rest = path[len("placements[") :].partition("]")
    try:
        entry = payload["placements"][int(index_text)]
        name = entry.get("name")
    except (LookupError, ValueError, TypeError, AttributeError):
        return path
    if not isinstance(name, str):
        return path
    rest = rest.lstrip(".")
    return f"{name}.{rest}" if rest else name


@attrs.frozen(kw_only=True)
class _Document:
    format: int
    name: str
    version: str
    entrypoint: str
    placements: list[Placement]
    phases: list[PhaseNode] = attrs.field(factory=list[PhaseNode])


def _tag(cls: type[Any]) -> str:
    return cls.KIND


def _refuse_custom(_value: object, _cls: type[Any]) -> CustomGather:
    raise ValueError("Gather.custom holds a Python callable and cannot be loaded from data")


CONVERTER.register_structure_hook(CustomGather, _refuse_custom)

configure_tagged_union(
    PartitionGather | MapGather | AppendGather | DiscardGather | CustomGather,
    CONVERTER,
    tag_generator=_tag,
    tag_name="kind",
)
configure_tagged_union(Placement, CONVERTER, tag_generator=_tag, tag_name="kind")
