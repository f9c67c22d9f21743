"""Shared machinery for the benchmark workloads.

Timing, alternation between systems, medians and spreads, peak RSS measured in
a subprocess, live-task counting under Trio, and the Markdown table.

Every workload module builds one *trial* per system: a zero-argument callable
that starts its own event loop (``trio.run`` or ``asyncio.run``), does its
untimed setup and warm-up, times one batch, checks the result, and returns a
`Sample`. `alternate` then calls the trials round-robin (rotating the order
every round) so slow drift of the machine hits every system alike.
"""

import contextlib
import gc
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parent.parent
"""The repository root (holds ``dagon_actors/`` and ``benchmarks/``)."""

FLOOR = "floor"
OURS = "ours"
LANGGRAPH = "langgraph"
PYDANTIC_GRAPH = "pydantic-graph"
ALL_SYSTEMS = (FLOOR, OURS, LANGGRAPH, PYDANTIC_GRAPH)

DISPLAY = {
    FLOOR: "plain Trio (floor)",
    OURS: "dagon_actors",
    LANGGRAPH: "LangGraph",
    PYDANTIC_GRAPH: "pydantic-graph",
}


class BenchmarkError(AssertionError):
    """A trial produced a wrong result (wrong count, wrong order, ...)."""


def require(condition: bool, message: str) -> None:
    """Fail the trial with `message` unless `condition` holds."""
    if not condition:
        raise BenchmarkError(message)


@dataclass(frozen=True)
class Config:
    """What the command line asked for."""

    quick: bool = False
    systems: frozenset[str] = frozenset(ALL_SYSTEMS)

    def wants(self, system: str) -> bool:
        return system in self.systems

    def pick(self, full: int, quick: int) -> int:
        return quick if self.quick else full


@dataclass(frozen=True)
class Sample:
    """One timed batch of one system: the value in the row's unit, and what was checked."""

    value: float
    check: str = ""


Trial = Callable[[], Sample]


@dataclass
class Row:
    """One line of the result table."""

    workload: str
    system: str  # a key of DISPLAY, or a variant label such as "pydantic-graph (steps)"
    unit: str
    higher_is_better: bool
    samples: list[float] = field(default_factory=list)
    check: str = ""
    failure: str | None = None  # "n/a ..." or the error that stopped the system
    footnote: str | None = None
    base: str | None = None  # system key this row counts as (variants of one system)
    metrics: dict[str, float] = field(default_factory=dict)  # derived numbers targets read

    @property
    def key(self) -> str:
        return self.base or self.system

    @property
    def ok(self) -> bool:
        return self.failure is None and bool(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def label(self) -> str:
        return DISPLAY.get(self.system, self.system)


@dataclass
class WorkloadResult:
    key: str
    title: str
    rows: list[Row]
    targets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def row(self, system: str, workload: str | None = None) -> Row | None:
        """The first measured row of `system` (within the table label `workload`, default: key)."""
        label = workload or self.key
        for row in self.rows:
            if row.system == system and row.workload == label and row.ok:
                return row
        return None


# -- timing ------------------------------------------------------------------


def now() -> float:
    """Wall-clock seconds for timing (monotonic, high resolution)."""
    return time.perf_counter()


def prepare(system: str, factory: Callable[[], Trial]) -> Trial | str:
    """Build a system's trial; a failure (e.g. the engine does not import) comes back as text."""
    try:
        return factory()
    except Exception as exc:
        if os.environ.get("BENCH_TRACEBACK"):
            traceback.print_exc(file=sys.stderr)
        progress(f"  {system}: unavailable: {describe(exc)}")
        return describe(exc)


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
    return text[:160]


def alternate(
    trials: Mapping[str, Trial | str], rounds: int, *, label: str = ""
) -> dict[str, tuple[list[Sample], str | None]]:
    """Run every trial `rounds` times, round-robin, rotating the order each round.

    Returns, per system, its samples and the failure that stopped it (or None).
    A system whose trial raises is dropped from later rounds; the others go on.
    """
    samples: dict[str, list[Sample]] = {name: [] for name in trials}
    failures: dict[str, str | None] = {
        name: (trial if isinstance(trial, str) else None) for name, trial in trials.items()
    }
    names = [name for name, trial in trials.items() if not isinstance(trial, str)]
    for index in range(rounds):
        shift = index % len(names) if names else 0
        for name in names[shift:] + names[:shift]:
            trial = trials[name]
            if failures[name] is not None or isinstance(trial, str):
                continue
            gc.collect()
            try:
                sample = trial()
            except Exception as exc:
                failures[name] = describe(exc)
                if os.environ.get("BENCH_TRACEBACK"):
                    traceback.print_exc(file=sys.stderr)
                progress(f"  {label} {name}: FAILED {failures[name]}")
                continue
            samples[name].append(sample)
            progress(f"  {label} {name} round {index + 1}/{rounds}: {sample.value:.6g}")
    return {name: (samples[name], failures[name]) for name in trials}


def rows_from(
    workload: str,
    outcome: Mapping[str, tuple[list[Sample], str | None]],
    *,
    unit: str,
    higher_is_better: bool,
    bases: Mapping[str, str] | None = None,
    footnotes: Mapping[str, str] | None = None,
) -> list[Row]:
    rows: list[Row] = []
    for system, (samples, failure) in outcome.items():
        checks = sorted({s.check for s in samples if s.check})
        rows.append(
            Row(
                workload=workload,
                system=system,
                unit=unit,
                higher_is_better=higher_is_better,
                samples=[s.value for s in samples],
                check="; ".join(checks),
                failure=failure,
                footnote=(footnotes or {}).get(system),
                base=(bases or {}).get(system),
            )
        )
    return rows


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- trio helpers --------------------------------------------------------------


def live_tasks() -> set[trio.lowlevel.Task]:
    """Every task of the current Trio run, found by walking the task tree from the root."""
    root = trio.lowlevel.current_root_task()
    found: set[trio.lowlevel.Task] = set()
    stack: list[trio.lowlevel.Task] = [root] if root is not None else []
    while stack:
        task = stack.pop()
        found.add(task)
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return found


# -- peak RSS in a subprocess --------------------------------------------------

RSS_MARK = "BENCH_RSS"


def peak_rss_kib() -> int:
    """Peak resident set size of this process so far, in KiB.

    On Linux this is ``VmHWM`` from ``/proc/self/status``, not
    ``getrusage(RUSAGE_SELF).ru_maxrss``: the kernel carries ``ru_maxrss``
    over ``execve`` from the memory of the process that forked the child, so
    a child started by this (large) benchmark process would report the
    parent's peak. ``VmHWM`` belongs to the child's own address space.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:  # pragma: no cover - not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reset_peak_rss() -> int:
    """Reset the peak to the current RSS (Linux ``clear_refs`` 5) and return the new baseline.

    Without the reset a run that stays below the high-water mark left by
    imports and setup would be invisible. Where the reset is not allowed the
    baseline is simply the peak so far.
    """
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return peak_rss_kib()


def report_rss(baseline_kib: int, seconds: float) -> None:
    """Print the line `measure_rss` parses (called at the end of a child process)."""
    print(f"{RSS_MARK} peak_kib={peak_rss_kib()} baseline_kib={baseline_kib} seconds={seconds:.6f}")


@dataclass(frozen=True)
class RssReading:
    peak_kib: int
    baseline_kib: int
    seconds: float


def measure_rss(script: Path, args: Sequence[str], *, timeout: float = 600.0) -> RssReading:
    """Run `script` with `args` in a fresh interpreter and parse the RSS line it prints."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    )
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    match = re.search(
        rf"{RSS_MARK} peak_kib=(\d+) baseline_kib=(\d+) seconds=([0-9.]+)", proc.stdout
    )
    if proc.returncode != 0 or match is None:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchmarkError(f"child exited {proc.returncode}: {tail[:160]}")
    return RssReading(int(match[1]), int(match[2]), float(match[3]))


# -- machine description ---------------------------------------------------------


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    for line in text.splitlines():
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def version_of(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> list[tuple[str, str]]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count() or 0
    return [
        ("cpu", cpu_model()),
        ("cores", f"{os.cpu_count()} logical, {usable} usable by this process"),
        ("os", platform.platform()),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("trio", trio.__version__),
        ("dagon_actors", version_of("dagon_actors")),
        ("langgraph", version_of("langgraph")),
        ("pydantic-graph", version_of("pydantic-graph")),
    ]


# -- formatting -----------------------------------------------------------------


def fmt(value: float) -> str:
    """Three significant figures, thousands separated."""
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def spread(samples: Sequence[float]) -> str:
    if len(samples) < 2:
        return "—"
    return f"{fmt(min(samples))} to {fmt(max(samples))}"


def speedup(ours: Row, other: Row) -> float:
    """How many times faster ours is than `other` (>1: ours faster)."""
    if ours.higher_is_better:
        return ours.median / other.median
    return other.median / ours.median


def vs_floor(row: Row, floor: Row | None) -> str:
    if floor is None or not row.ok or floor.median == 0:
        return "—"
    return f"{row.median / floor.median:.2f}x"


def describe_speedup(factor: float) -> str:
    if factor >= 1:
        return f"ours {factor:.1f}x faster"
    return f"ours {1 / factor:.1f}x slower"


def cell(text: str) -> str:
    """Text made safe for one Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(results: Iterable[WorkloadResult]) -> str:
    lines = [
        "| workload | system | median | spread (min to max) | unit | vs floor "
        "| ours vs this | check |",
        "| --- | --- | ---: | --- | --- | ---: | --- | --- |",
    ]
    footnotes: list[str] = []
    for result in results:
        for row in result.rows:
            floor = result.row(FLOOR, row.workload)
            ours = result.row(OURS, row.workload)
            label = row.label
            if row.footnote:
                if row.footnote not in footnotes:
                    footnotes.append(row.footnote)
                label += f" [{footnotes.index(row.footnote) + 1}]"
            if not row.ok:
                reason = cell(row.failure or "no samples")
                lines.append(
                    f"| {row.workload} | {label} | {reason} | — | {row.unit} | — | — | — |"
                )
                continue
            against = "—"
            if ours is not None and row.key not in (OURS, FLOOR):
                against = describe_speedup(speedup(ours, row))
            lines.append(
                f"| {row.workload} | {label} | {fmt(row.median)} | {spread(row.samples)} | "
                f"{row.unit} | {vs_floor(row, floor)} | {against} | {cell(row.check) or '—'} |"
            )
    if footnotes:
        lines.append("")
        lines.extend(f"[{i}] {text}" for i, text in enumerate(footnotes, 1))
    return "\n".join(lines)


def verdict(passed: bool | None) -> str:
    if passed is None:
        return "NOT MEASURED"
    return "PASS" if passed else "MISS"
