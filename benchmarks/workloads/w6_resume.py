"""W6 — resume: abort a 10,000-item scatter half-way, checkpoint, resume on a fresh dispatcher.

Counts body completions across both runs (must be exactly 10,000), checks the
gathered results are complete and in order, and times the whole interrupted
path (first run + capture/JSON/load/restore + resume) against an
uninterrupted run of the same DAG in the same round.

Floor: the same 10,000 bodies in a plain Trio nursery gated by
``CapacityLimiter(64)``, uninterrupted.

The body awaits one Trio checkpoint before it counts itself done, so clones
in flight at the abort are really cancelled mid-body and run again on resume.
"""

from typing import Any

import trio

from benchmarks._harness import (
    FLOOR,
    OURS,
    Config,
    Row,
    Sample,
    Trial,
    WorkloadResult,
    alternate,
    fmt,
    now,
    prepare,
    require,
    rows_from,
    verdict,
)

KEY = "W6"
TITLE = "abort a 10,000-item scatter half-way, checkpoint, resume"
UNIT = "ms per run"
CONCURRENCY = 64
RESUMED = "ours (abort + checkpoint + resume)"
EXTRA = "ours: resume's extra time"


class Tally:
    """Counts bodies; the body that completes number `abort_at` aborts the run."""

    def __init__(self, abort_at: int | None = None, controller: Any = None) -> None:
        self.started = 0
        self.done = 0
        self.abort_at = abort_at
        self.controller = controller


def _expected(n: int) -> list[int]:
    return [item * 2 for item in range(n)]


# -- floor -------------------------------------------------------------------------


def floor_trial(n: int) -> Trial:
    async def scatter(items: list[int]) -> tuple[list[int], Tally]:
        tally = Tally()
        results = [0] * len(items)
        limiter = trio.CapacityLimiter(CONCURRENCY)

        async def work(index: int, token: object) -> None:
            try:
                tally.started += 1
                await trio.lowlevel.checkpoint()
                results[index] = items[index] * 2
                tally.done += 1
            finally:
                limiter.release_on_behalf_of(token)

        async with trio.open_nursery() as nursery:
            for index in range(len(items)):
                token = object()
                await limiter.acquire_on_behalf_of(token)
                nursery.start_soon(work, index, token)
        return results, tally

    async def batch() -> tuple[float, list[int], Tally]:
        await scatter(list(range(100)))  # warm-up
        start = now()
        results, tally = await scatter(list(range(n)))
        return now() - start, results, tally

    def trial() -> Sample:
        elapsed, results, tally = trio.run(batch)
        require(tally.done == n and results == _expected(n), "floor lost items")
        return Sample(elapsed * 1e3, f"completed={tally.done}")

    return trial


# -- dagon_actors ------------------------------------------------------------------------


def ours_kit() -> Any:
    import attrs

    from dagon_actors import DAGBuilder, Gather, NodeStateBase, node

    @attrs.define
    class ResumeState(NodeStateBase):
        items: list[int] = attrs.Factory(list)
        results: list[int] = attrs.Factory(list)
        out: int = 0

    @node("work", outputs=("success",))
    async def work(state: Any, ctx: Any) -> str:
        tally: Tally = ctx.services
        tally.started += 1
        await trio.lowlevel.checkpoint()
        state.out = state.get_metadata("item") * 2
        tally.done += 1
        if tally.done == tally.abort_at:
            tally.controller.abort("half-way")
        return "success"

    dag = (
        DAGBuilder("w6", "1")
        .scatter(
            "s",
            work,
            source="items",
            concurrency=CONCURRENCY,
            gather=Gather.map({"out": "results"}),
            routes={"all-success": None, "partial": None, "all-error": None, "empty": None},
        )
        .build()
    )
    return ResumeState, dag


def _check_finished(result: Any, tally: Tally, n: int) -> None:
    require(result.cursor is None, f"run stopped at {result.cursor!r}")
    require(not result.state.errors, f"errors: {result.state.errors[:1]}")
    require(tally.done == n, f"{tally.done} body completions, expected exactly {n}")
    require(result.state.results == _expected(n), "gathered results incomplete or out of order")


def ours_uninterrupted_trial(n: int) -> Trial:
    from dagon_actors import Dagonizer

    state_class, dag = ours_kit()

    async def once(items: int) -> tuple[float, Any, Tally]:
        tally = Tally()
        dispatcher = Dagonizer(services=tally)
        dispatcher.register_dag(dag)
        start = now()
        result = await dispatcher.execute("w6", state_class(items=list(range(items))))
        return now() - start, result, tally

    async def batch() -> tuple[float, Any, Tally]:
        await once(100)  # warm-up
        return await once(n)

    def trial() -> Sample:
        elapsed, result, tally = trio.run(batch)
        _check_finished(result, tally, n)
        return Sample(elapsed * 1e3, f"completed={tally.done}")

    return trial


def ours_resume_trial(n: int, breakdown: list[str]) -> Trial:
    from dagon_actors import AbortController, Checkpoint, Dagonizer

    state_class, dag = ours_kit()

    async def once(items: int) -> tuple[float, Any, Tally, str]:
        controller = AbortController()
        tally = Tally(abort_at=items // 2, controller=controller)
        first_dispatcher = Dagonizer(services=tally)
        first_dispatcher.register_dag(dag)
        start = now()
        first = await first_dispatcher.execute(
            "w6", state_class(items=list(range(items))), abort=controller.signal
        )
        aborted = now()
        require(first.cursor == "s", f"aborted run has cursor {first.cursor!r}, not 's'")
        interrupted = first.interrupted_at
        require(
            interrupted is not None and interrupted.reason == "abort",
            f"interrupted_at {interrupted!r}",
        )
        done_before = tally.done
        text = (await Checkpoint.capture("w6", first)).to_json()
        restored = Checkpoint.load(text).restore_state(state_class.restore)
        captured = now()
        second_dispatcher = Dagonizer(services=tally)  # a fresh dispatcher, same counters
        second_dispatcher.register_dag(dag)
        second = await second_dispatcher.resume(restored.dag_name, restored.state, restored.cursor)
        finished = now()
        detail = (
            f"first run {fmt((aborted - start) * 1e3)} ms ({done_before} done), checkpoint "
            f"{fmt((captured - aborted) * 1e3)} ms ({len(text) / 1024:.0f} KiB JSON), resume "
            f"{fmt((finished - captured) * 1e3)} ms"
        )
        return finished - start, second, tally, detail

    async def batch() -> tuple[float, Any, Tally, str]:
        await once(100)  # warm-up
        return await once(n)

    def trial() -> Sample:
        elapsed, result, tally, detail = trio.run(batch)
        _check_finished(result, tally, n)
        breakdown.append(detail)
        rerun = tally.started - tally.done
        return Sample(elapsed * 1e3, f"completed={tally.done} (+{rerun} cancelled mid-body, rerun)")

    return trial


def run(config: Config) -> WorkloadResult:
    n = config.pick(10_000, 1_000)
    rounds = config.pick(5, 2)
    breakdown: list[str] = []
    trials: dict[str, Trial | str] = {}
    if config.wants(FLOOR):
        trials[FLOOR] = prepare(FLOOR, lambda: floor_trial(n))
    if config.wants(OURS):
        trials[OURS] = prepare(OURS, lambda: ours_uninterrupted_trial(n))
        trials[RESUMED] = prepare(RESUMED, lambda: ours_resume_trial(n, breakdown))
    outcome = alternate(trials, rounds, label=KEY)
    rows = rows_from(KEY, outcome, unit=UNIT, higher_is_better=False, bases={RESUMED: OURS})
    result = WorkloadResult(KEY, TITLE if n == 10_000 else f"{TITLE} (n={n})", rows)
    plain = next((r for r in rows if r.system == OURS and r.ok), None)
    resumed = next((r for r in rows if r.system == RESUMED and r.ok), None)
    if plain is not None and resumed is not None:
        pairs = list(zip(resumed.samples, plain.samples, strict=False))
        extra = Row(
            workload="W6 extra",
            system=EXTRA,
            unit="ms over uninterrupted",
            higher_is_better=False,
            samples=[a - b for a, b in pairs],
            base=OURS,
        )
        share = extra.median / plain.median
        extra.check = f"{share:+.0%} of an uninterrupted run; last: {breakdown[-1]}"
        result.rows.append(extra)
        result.targets = [
            f"W6 exactly {n:,} body completions across abort + resume: "
            f"{verdict(True)} (checked in every round); resume's extra time "
            f"{extra.median:.1f} ms = {share:.0%} of an uninterrupted run"
        ]
    else:
        failure = next((r.failure for r in rows if r.key == OURS and r.failure), None)
        if failure is None:
            outcome = verdict(None)
        elif failure.startswith("BenchmarkError"):
            outcome = f"MISS ({failure})"
        else:
            outcome = f"NOT MEASURED ({failure})"
        result.targets = [f"W6 exactly {n:,} body completions across abort + resume: {outcome}"]
    return result
