"""Pure graph checks: findings in, findings out; no Trio, no registry state.

``find_problems`` returns every finding at once as ``<dag>.<placement>:
<problem>`` lines, and unreachable placements separately as warnings. The
builder calls it knowing only the node objects it was given (names it cannot
resolve are not findings yet); ``Dagonizer.register_dag`` calls it again with
the registry, where an unknown node name is a finding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import attrs

from dagon_actors._dag import (
    DAG,
    EmbeddedDAGNode,
    ParallelNode,
    ScatterNode,
    SingleNode,
    TerminalNode,
)
from dagon_actors._errors import ValidationError
from dagon_actors._paths import PathError, split_path

__all__ = ["BUILTIN_REDUCERS", "check_structure", "find_problems", "validate"]

BUILTIN_REDUCERS: Mapping[str, frozenset[str]] = {
    "aggregate": frozenset({"all-success", "partial", "all-error", "empty"}),
    "terminal": frozenset({"success", "error"}),
}
"""Verdicts each built-in reducer can produce."""

_EMBEDDED_OUTCOMES = frozenset({"success", "error"})
_COMBINE_OUTCOMES: Mapping[str, frozenset[str]] = {
    "all-success": frozenset({"success", "error"}),
    "any-success": frozenset({"success", "error"}),
    "collect": frozenset({"success"}),
}

OutputsOf = Callable[[str], Sequence[str] | None]
"""Resolve a node name to its outputs, or ``None`` when unknown."""


def _check_routes(
    problems: list[str],
    routes: Mapping[str, str | None],
    expected: frozenset[str] | Sequence[str] | None,
    names: set[str],
    what: str,
) -> None:
    for output, target in routes.items():
        if target is not None and target not in names:
            problems.append(f"route {output!r} goes to unknown placement {target!r}")
        if expected is not None and output not in expected:
            problems.append(f"routes {output!r}, which the {what} never produces")
    if expected is not None:
        ordered = sorted(expected) if isinstance(expected, frozenset) else expected
        problems.extend(
            f"{what} output {output!r} is not routed" for output in ordered if output not in routes
        )


def _check_path(problems: list[str], path: str, what: str) -> None:
    try:
        split_path(path)
    except PathError:
        problems.append(f"{what} {path!r} is not a dotted path")


def find_problems(
    dag: DAG,
    outputs_of: OutputsOf,
    *,
    strict_names: bool,
    reducers: Mapping[str, frozenset[str]] | None,
) -> tuple[list[str], list[str]]:
    """Every finding and every warning for ``dag``.

    Args:
        dag: the DAG to check.
        outputs_of: resolves node names to declared outputs.
        strict_names: report node names ``outputs_of`` cannot resolve.
        reducers: known reducers and their verdicts; ``None`` means only the
            built-ins are known and other names are checked later.
    """
    findings: list[str] = []
    names: set[str] = set()
    duplicates: set[str] = set()
    for placement in (*dag.placements, *dag.phases):
        if placement.name in names:
            duplicates.add(placement.name)
        names.add(placement.name)
    findings.extend(f"{dag.name}.{name}: duplicate placement name" for name in sorted(duplicates))
    if not dag.placements:
        findings.append(f"{dag.name}.<dag>: has no placements")
    elif dag.placement(dag.entrypoint) is None:
        findings.append(f"{dag.name}.<dag>: entrypoint {dag.entrypoint!r} is not a placement")
    flow_names = {p.name for p in dag.placements}

    def node_outputs(name: str, problems: list[str]) -> Sequence[str] | None:
        outputs = outputs_of(name)
        if outputs is None and strict_names:
            problems.append(f"unknown node {name!r}")
        return outputs

    for placement in dag.placements:
        problems: list[str] = []
        match placement:
            case SingleNode(node=node_name, routes=routes):
                outputs = node_outputs(node_name, problems)
                what = f"node {node_name!r}"
                _check_routes(problems, routes, outputs, flow_names, what)
            case EmbeddedDAGNode(routes=routes, inputs=inputs, outputs=outs):
                _check_routes(problems, routes, _EMBEDDED_OUTCOMES, flow_names, "embedded DAG")
                for dest, src in (*inputs.items(), *outs.items()):
                    _check_path(problems, dest, "mapping destination")
                    _check_path(problems, src, "mapping source")
            case ScatterNode():
                _check_scatter(placement, problems, flow_names, node_outputs, reducers)
            case ParallelNode(members=members, combine=combine, routes=routes):
                if not members:
                    problems.append("parallel placement has no members")
                for member in members:
                    target = dag.placement(member)
                    if target is None:
                        problems.append(f"member {member!r} is not a placement")
                    elif not isinstance(target, SingleNode):
                        problems.append(f"member {member!r} is not a single placement")
                expected = _COMBINE_OUTCOMES.get(combine)
                if expected is None:
                    problems.append(f"unknown combine {combine!r}")
                _check_routes(problems, routes, expected, flow_names, f"combine {combine!r}")
            case TerminalNode(outcome=outcome):
                if outcome not in ("completed", "failed"):
                    problems.append(f"unknown terminal outcome {outcome!r}")
        findings.extend(f"{dag.name}.{placement.name}: {problem}" for problem in problems)

    for phase in dag.phases:
        problems = []
        node_outputs(phase.node, problems)
        if phase.phase not in ("pre", "post"):
            problems.append(f"unknown phase {phase.phase!r}")
        findings.extend(f"{dag.name}.{phase.name}: {problem}" for problem in problems)

    return findings, _unreachable(dag)


def _check_scatter(
    placement: ScatterNode,
    problems: list[str],
    flow_names: set[str],
    node_outputs: Callable[[str, list[str]], Sequence[str] | None],
    reducers: Mapping[str, frozenset[str]] | None,
) -> None:
    if (placement.body is None) == (placement.dag is None):
        problems.append("give exactly one of body= (a node) and dag= (a registered DAG)")
    if placement.body is not None:
        node_outputs(placement.body, problems)
    if placement.concurrency is not None and placement.concurrency < 1:
        problems.append(f"concurrency must be at least 1, got {placement.concurrency}")
    if placement.reorder_window is not None and placement.reorder_window < 1:
        problems.append(f"reorder_window must be at least 1, got {placement.reorder_window}")
    if not placement.item_key:
        problems.append("item_key must not be empty")
    _check_path(problems, placement.source, "source")
    for dest, src in placement.inputs.items():
        _check_path(problems, dest, "input destination")
        _check_path(problems, src, "input source")
    known = BUILTIN_REDUCERS if reducers is None else reducers
    verdicts = known.get(placement.reducer)
    if verdicts is None and reducers is not None:
        problems.append(f"unknown reducer {placement.reducer!r}")
    what = f"reducer {placement.reducer!r}"
    _check_routes(problems, placement.routes, verdicts, flow_names, what)


def _unreachable(dag: DAG) -> list[str]:
    if dag.placement(dag.entrypoint) is None:
        return []
    seen = {dag.entrypoint}
    stack = [dag.entrypoint]
    while stack:
        placement = dag.placement(stack.pop())
        if placement is None:
            continue
        nexts: list[str] = []
        if not isinstance(placement, TerminalNode):
            nexts.extend(t for t in placement.routes.values() if t is not None)
        if isinstance(placement, ParallelNode):
            nexts.extend(placement.members)
        for name in nexts:
            if name not in seen:
                seen.add(name)
                stack.append(name)
    return [
        f"{dag.name}.{p.name}: unreachable from entrypoint {dag.entrypoint!r}"
        for p in dag.placements
        if p.name not in seen
    ]


def validate(
    dag: DAG,
    outputs_of: OutputsOf,
    *,
    strict_names: bool,
    reducers: Mapping[str, frozenset[str]] | None = None,
) -> DAG:
    """Return ``dag`` with its warnings, or raise one error listing every finding.

    Raises:
        ValidationError: any finding; ``str(error)`` starts with ``Invalid DAG:``.
    """
    findings, warnings = find_problems(
        dag, outputs_of, strict_names=strict_names, reducers=reducers
    )
    if findings:
        raise ValidationError.from_findings(dag.name, findings)
    return attrs.evolve(dag, warnings=tuple(warnings), nodes=dag.nodes)


def check_structure(dag: DAG) -> DAG:
    """Validate a DAG whose node objects are unknown (a loaded document)."""
    return validate(dag, lambda _name: None, strict_names=False)
