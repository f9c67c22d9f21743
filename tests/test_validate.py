"""Validation at build and register time (DESIGN.md "DAGs and placements").

Every finding comes in one ``ValidationError`` whose text starts with
``Invalid DAG:`` and has one ``  - <dag>.<placement>: <problem>`` line per
finding; unreachable placements are warnings on ``DAG.warnings``.
"""

from __future__ import annotations

import warnings

import pytest

from dagon_actors import DAGBuilder, Dagonizer, NodeStateBase, ValidationError, node

AGGREGATE = {"all-success": None, "partial": None, "all-error": None, "empty": None}


@node("two", outputs=("done", "retry"))
async def two(state: NodeStateBase, ctx: object) -> str:
    """Declares two outputs."""
    return "done"


@node("one", outputs=("done",))
async def one(state: NodeStateBase, ctx: object) -> str:
    """Declares one output."""
    return "done"


def findings_of(builder: DAGBuilder) -> list[str]:
    """The finding lines of the error ``builder.build()`` raises (checking its layout)."""
    with pytest.raises(ValidationError) as info:
        builder.build()
    first, *lines = str(info.value).splitlines()
    assert first == "Invalid DAG:"
    assert all(line.startswith("  - ") for line in lines)
    return [line.removeprefix("  - ") for line in lines]


def register_findings(dispatcher: Dagonizer, builder: DAGBuilder) -> list[str]:
    """The finding lines of the error ``register_dag`` raises for ``builder``'s DAG."""
    dag = builder.build()
    with pytest.raises(ValidationError) as info:
        dispatcher.register_dag(dag)
    first, *lines = str(info.value).splitlines()
    assert first == "Invalid DAG:"
    assert all(line.startswith("  - ") for line in lines)
    return [line.removeprefix("  - ") for line in lines]


def only(findings: list[str], prefix: str) -> str:
    """The one finding starting with ``prefix``."""
    matching = [f for f in findings if f.startswith(prefix)]
    assert len(matching) == 1, findings
    return matching[0]


# -- one finding each ------------------------------------------------------------------


def test_route_to_unknown_placement() -> None:
    """A route to a placement that does not exist names the route's target."""
    findings = findings_of(DAGBuilder("flow").node("a", one, {"done": "nowhere"}))
    assert "'nowhere'" in only(findings, "flow.a: ")


def test_unrouted_output() -> None:
    """Every declared output of the node must be routed (to a placement or ``None``)."""
    findings = findings_of(DAGBuilder("flow").node("a", two, {"done": None}))
    assert "'retry'" in only(findings, "flow.a: ")


def test_route_naming_an_output_the_node_lacks() -> None:
    """Routing an output the node never produces is a finding naming that output."""
    findings = findings_of(DAGBuilder("flow").node("a", one, {"done": None, "oops": None}))
    assert "'oops'" in only(findings, "flow.a: ")


def test_duplicate_placement_names() -> None:
    """Two placements with one name are reported under that name."""
    findings = findings_of(
        DAGBuilder("flow").node("a", one, {"done": None}).node("a", one, {"done": None})
    )
    assert "duplicate" in only(findings, "flow.a: ")


def test_parallel_member_that_is_not_a_single_placement() -> None:
    """A parallel member must be a ``.node()`` placement, not a terminal or a composite."""
    builder = (
        DAGBuilder("flow").parallel("par", ["end"], "collect", {"success": "end"}).terminal("end")
    )
    assert "'end'" in only(findings_of(builder), "flow.par: ")


def test_parallel_member_that_is_not_a_placement() -> None:
    """A parallel member naming nothing in the DAG is a finding naming the member."""
    builder = DAGBuilder("flow").parallel("par", ["ghost"], "collect", {"success": None})
    assert "'ghost'" in only(findings_of(builder), "flow.par: ")


def test_scatter_with_both_body_and_dag() -> None:
    """A scatter takes exactly one of a body node and a DAG."""
    builder = DAGBuilder("flow").scatter("s", one, dag="child", source="items", routes=AGGREGATE)
    only(findings_of(builder), "flow.s: ")


def test_scatter_with_neither_body_nor_dag() -> None:
    """A scatter with nothing to run is a finding."""
    builder = DAGBuilder("flow").scatter("s", source="items", routes=AGGREGATE)
    only(findings_of(builder), "flow.s: ")


@pytest.mark.parametrize("concurrency", [0, -1])
def test_scatter_concurrency_below_one(concurrency: int) -> None:
    """A scatter's concurrency must be at least 1."""
    builder = DAGBuilder("flow").scatter(
        "s", one, source="items", routes=AGGREGATE, concurrency=concurrency
    )
    assert "concurrency" in only(findings_of(builder), "flow.s: ")


def test_unrouted_reducer_verdicts() -> None:
    """Every verdict the reducer can produce must be routed, one finding per verdict."""
    builder = DAGBuilder("flow").scatter("s", one, source="items", routes={"all-success": None})
    findings = [f for f in findings_of(builder) if f.startswith("flow.s: ")]
    assert len(findings) == 3
    for verdict in ("partial", "all-error", "empty"):
        assert any(f"'{verdict}'" in f for f in findings), findings


def test_terminal_reducer_verdicts_must_be_routed() -> None:
    """The ``terminal`` reducer's verdicts are ``success`` and ``error``."""
    builder = DAGBuilder("flow").scatter(
        "s", one, source="items", routes={"success": None}, reducer="terminal"
    )
    assert "'error'" in only(findings_of(builder), "flow.s: ")


def test_embedded_placement_routes_success_and_error() -> None:
    """An embedded placement must route both ``success`` and ``error``."""
    builder = DAGBuilder("flow").embedded_dag("emb", "child", {"success": None})
    assert "'error'" in only(findings_of(builder), "flow.emb: ")


# -- all at once --------------------------------------------------------------------------


def test_every_finding_is_listed_at_once() -> None:
    """One error lists every offending placement of the DAG, not just the first."""
    builder = (
        DAGBuilder("flow")
        .node("a", two, {"done": "nowhere"})
        .node("b", one, {"done": None})
        .node("b", one, {"done": None})
        .parallel("par", ["ghost"], "collect", {"success": None})
        .scatter("s", source="items", routes=AGGREGATE, concurrency=0)
    )
    findings = findings_of(builder)
    places = {finding.split(":", 1)[0] for finding in findings}
    assert places == {"flow.a", "flow.b", "flow.par", "flow.s"}
    assert len([f for f in findings if f.startswith("flow.a: ")]) == 2
    assert len([f for f in findings if f.startswith("flow.s: ")]) == 2


def test_error_carries_the_dag_name_and_findings() -> None:
    """The error names the DAG and holds the finding lines as data too."""
    with pytest.raises(ValidationError) as info:
        DAGBuilder("flow").node("a", one, {"done": "nowhere"}).build()
    assert info.value.dag_name == "flow"
    assert [f"  - {f}" for f in info.value.findings] == str(info.value).splitlines()[1:]


# -- unreachable placements -------------------------------------------------------------


def test_unreachable_placements_are_warnings_on_the_dag() -> None:
    """An unreachable placement does not fail the build; it is listed on ``dag.warnings``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dag = (
            DAGBuilder("flow")
            .node("a", one, {"done": None})
            .node("lost", one, {"done": "end"})
            .terminal("end")
            .build()
        )
    assert caught == []
    assert isinstance(dag.warnings, tuple)
    assert len(dag.warnings) == 2
    assert all(isinstance(w, str) for w in dag.warnings)
    assert any("lost" in w for w in dag.warnings)
    assert any("end" in w for w in dag.warnings)


def test_reachable_dag_has_no_warnings() -> None:
    """Parallel members count as reached through their parallel placement."""
    dag = (
        DAGBuilder("flow")
        .parallel("par", ["m"], "collect", {"success": None})
        .node("m", one, {"done": None})
        .build()
    )
    assert dag.warnings == ()


def test_cycles_are_allowed() -> None:
    """A loop (retry as flow) is a valid DAG."""
    dag = (
        DAGBuilder("flow")
        .node("a", two, {"done": None, "retry": "b"})
        .node("b", one, {"done": "a"})
        .build()
    )
    assert dag.warnings == ()


# -- at register time ---------------------------------------------------------------------


def test_register_reports_unknown_node_names() -> None:
    """Node names the registry does not know are findings, every one at once."""
    builder = (
        DAGBuilder("flow")
        .node("a", "nope", {"done": "s"})
        .scatter("s", "nope-either", source="items", routes=AGGREGATE)
    )
    findings = register_findings(Dagonizer(), builder)
    assert "'nope'" in only(findings, "flow.a: ")
    assert "'nope-either'" in only(findings, "flow.s: ")


def test_register_checks_routes_against_registered_nodes() -> None:
    """A name-only placement's routes are checked against the registered node's outputs."""
    dispatcher = Dagonizer()
    dispatcher.register_node(two)
    findings = register_findings(dispatcher, DAGBuilder("flow").node("a", "two", {"done": None}))
    assert "'retry'" in only(findings, "flow.a: ")


def test_register_reports_unknown_reducers() -> None:
    """A scatter naming a reducer nobody registered is a finding."""
    builder = DAGBuilder("flow").scatter(
        "s", one, source="items", routes={"ok": None}, reducer="majority"
    )
    assert "'majority'" in only(register_findings(Dagonizer(), builder), "flow.s: ")


def test_register_checks_custom_reducer_verdicts() -> None:
    """A registered reducer's verdicts must all be routed."""
    dispatcher = Dagonizer()
    dispatcher.register_reducer("majority", lambda records: "yes", {"yes", "no"})
    ok = DAGBuilder("ok").scatter(
        "s", one, source="items", routes={"yes": None, "no": None}, reducer="majority"
    )
    dispatcher.register_dag(ok.build())
    bad = DAGBuilder("bad").scatter(
        "s", one, source="items", routes={"yes": None}, reducer="majority"
    )
    assert "'no'" in only(register_findings(dispatcher, bad), "bad.s: ")


def test_register_rejects_a_different_node_under_a_registered_name() -> None:
    """A builder's node object clashing with a registered node is reported for its placement."""

    @node("one", outputs=("done",))
    async def impostor(state: NodeStateBase, ctx: object) -> str:
        return "done"

    dispatcher = Dagonizer()
    dispatcher.register_node(one)
    findings = register_findings(dispatcher, DAGBuilder("flow").node("a", impostor, {"done": None}))
    assert "'one'" in only(findings, "flow.a: ")
    assert dispatcher.list_dags() == []


def test_register_accepts_the_same_node_object_again() -> None:
    """Registering a DAG whose node object is already registered is fine."""
    dispatcher = Dagonizer()
    dispatcher.register_node(one)
    dispatcher.register_dag(DAGBuilder("flow").node("a", one, {"done": None}).build())
    dispatcher.register_dag(DAGBuilder("again").node("a", one, {"done": None}).build())
    assert dispatcher.list_dags() == ["flow", "again"]


def test_register_accepts_unregistered_child_dags() -> None:
    """Embedded and scatter DAGs not registered yet are checked when a run reaches them."""
    dispatcher = Dagonizer()
    dispatcher.register_dag(
        DAGBuilder("flow")
        .embedded_dag("emb", "later", {"success": "s", "error": None})
        .scatter("s", dag="later-too", source="items", routes=AGGREGATE)
        .build()
    )
    assert dispatcher.list_dags() == ["flow"]
