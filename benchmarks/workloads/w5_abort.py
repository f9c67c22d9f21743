"""W5 — abort: 1,000 clones in flight in a scatter nested inside an embedded DAG.

Real milliseconds from ``abort()`` until the run returns, and tasks left alive
afterwards (found by walking Trio's task tree from the root task; the
benchmark's own tasks are excluded).

Floor: the same shape in plain Trio — a cancel scope around a nursery (the
embedded child) holding a nursery (the scatter) of 1,000 sleeping tasks —
cancelled with ``CancelScope.cancel()``.
"""

from collections.abc import Awaitable, Callable
from typing import Any

import trio
import trio.testing

from benchmarks._harness import (
    FLOOR,
    OURS,
    Config,
    Sample,
    Trial,
    WorkloadResult,
    alternate,
    live_tasks,
    now,
    prepare,
    require,
    rows_from,
    verdict,
)

KEY = "W5"
TITLE = "abort 1,000 in-flight clones of a scatter inside an embedded DAG"
UNIT = "ms abort→return"
SLEEP = 3600.0


async def measure_abort(
    clones: int, start_run: Callable[[], Awaitable[Any]], abort: Callable[[], None]
) -> tuple[float, int, Any]:
    """Start `start_run` in a task, abort once everything is blocked, time until it returns.

    Returns (seconds from abort to return, tasks left alive, what the run returned).
    """
    box: dict[str, Any] = {}

    async def runner() -> None:
        box["result"] = await start_run()
        box["returned"] = now()
        box["left"] = live_tasks() - baseline - {trio.lowlevel.current_task()}

    async with trio.open_nursery() as nursery:
        baseline = live_tasks()  # the benchmark's own tasks
        nursery.start_soon(runner)
        await trio.testing.wait_all_tasks_blocked()
        in_flight = len(live_tasks() - baseline) - 1  # minus the runner
        require(in_flight >= clones, f"only {in_flight} tasks in flight, expected ≥{clones}")
        aborted = now()
        abort()
    return box["returned"] - aborted, len(box["left"]), box["result"]


# -- floor -------------------------------------------------------------------------


def floor_trial(clones: int, alive: list[int]) -> Trial:
    async def once() -> tuple[float, int, Any]:
        scope = trio.CancelScope()

        async def scatter() -> None:
            async with trio.open_nursery() as clones_nursery:
                for _ in range(clones):
                    clones_nursery.start_soon(trio.sleep, SLEEP)

        async def start_run() -> bool:
            with scope:
                async with trio.open_nursery() as child_nursery:
                    child_nursery.start_soon(scatter)
            return scope.cancelled_caught

        return await measure_abort(clones, start_run, scope.cancel)

    def trial() -> Sample:
        elapsed, left, caught = trio.run(once)
        require(caught, "the cancel scope did not catch the cancellation")
        alive.append(left)
        return Sample(elapsed * 1e3, f"alive={left}")

    return trial


# -- dagon_actors ------------------------------------------------------------------------


def ours_trial(clones: int, alive: list[int]) -> Trial:
    import attrs

    from dagon_actors import AbortController, DAGBuilder, Dagonizer, NodeStateBase, node

    @attrs.define
    class AbortState(NodeStateBase):
        items: list[int] = attrs.Factory(list)

    @node("sleeper", outputs=("success",))
    async def sleeper(state: Any, ctx: Any) -> str:
        await trio.sleep(SLEEP)
        return "success"

    inner = (
        DAGBuilder("w5-inner", "1")
        .scatter(
            "s",
            sleeper,
            source="items",
            routes={"all-success": None, "partial": None, "all-error": None, "empty": None},
        )
        .build()
    )
    outer = (
        DAGBuilder("w5-outer", "1")
        .embedded_dag(
            "emb", "w5-inner", routes={"success": None, "error": None}, inputs={"items": "items"}
        )
        .build()
    )

    async def once() -> tuple[float, int, Any]:
        dispatcher = Dagonizer()
        dispatcher.register_dag(inner)
        dispatcher.register_dag(outer)
        controller = AbortController()
        state = AbortState(items=list(range(clones)))

        async def start_run() -> Any:
            return await dispatcher.execute("w5-outer", state, abort=controller.signal)

        return await measure_abort(clones, start_run, controller.abort)

    def trial() -> Sample:
        elapsed, left, result = trio.run(once)
        require(result.cursor == "emb", f"cursor {result.cursor!r}, expected 'emb'")
        interrupted = result.interrupted_at
        require(
            interrupted is not None and interrupted.reason == "abort",
            f"interrupted_at {interrupted!r}",
        )
        require(
            result.state.lifecycle.variant == "cancelled",
            f"lifecycle {result.state.lifecycle.variant!r}",
        )
        alive.append(left)
        return Sample(elapsed * 1e3, f"alive={left}")

    return trial


def run(config: Config) -> WorkloadResult:
    clones = 1_000
    rounds = config.pick(7, 2)
    alive: dict[str, list[int]] = {FLOOR: [], OURS: []}
    trials: dict[str, Trial | str] = {}
    if config.wants(FLOOR):
        trials[FLOOR] = prepare(FLOOR, lambda: floor_trial(clones, alive[FLOOR]))
    if config.wants(OURS):
        trials[OURS] = prepare(OURS, lambda: ours_trial(clones, alive[OURS]))
    outcome = alternate(trials, rounds, label=KEY)
    rows = rows_from(KEY, outcome, unit=UNIT, higher_is_better=False)
    result = WorkloadResult(KEY, TITLE, rows)
    ours = result.row(OURS)
    if ours is not None:
        worst = max(alive[OURS])
        passed = ours.median < 50 and worst == 0
        result.targets = [
            f"W5 ours under 50 ms with 0 tasks alive: {ours.median:.1f} ms (max "
            f"{max(ours.samples):.1f}), {worst} alive at worst — {verdict(passed)}"
        ]
    else:
        result.targets = [f"W5 ours under 50 ms with 0 tasks alive: {verdict(None)}"]
    return result
