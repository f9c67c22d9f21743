"""RetryPolicy: delay tables, retry filtering, and exact timing under Trio's clock."""

from __future__ import annotations

import itertools
import math
import random
from typing import TYPE_CHECKING

import attrs
import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from dagon_actors._retry import BackoffStrategy, RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from trio.testing import MockClock


class Boom(Exception):
    """A retryable failure raised by the flaky functions below."""


class Fatal(Exception):
    """A failure the tests mark as not worth retrying."""


def flaky(
    failures: Sequence[BaseException], result: str = "ok"
) -> tuple[Callable[[], Awaitable[str]], list[float]]:
    """An async function that raises ``failures`` in turn, then returns ``result``.

    Also returns the list it appends the virtual start time of every attempt to.
    """
    starts: list[float] = []

    async def fn() -> str:
        starts.append(trio.current_time())
        await trio.lowlevel.checkpoint()
        if len(starts) <= len(failures):
            raise failures[len(starts) - 1]
        return result

    return fn, starts


# -- delay tables ---------------------------------------------------------------------


def test_constant_delays_are_base_delay() -> None:
    """CONSTANT waits base_delay before every retry."""
    policy = RetryPolicy(
        strategy=BackoffStrategy.CONSTANT, base_delay=1.5, jitter=0, max_attempts=5
    )
    assert policy.delays() == (1.5, 1.5, 1.5, 1.5)


def test_linear_delays_grow_by_base_and_cap() -> None:
    """LINEAR waits base_delay * n before retry n, never more than max_delay."""
    policy = RetryPolicy(
        strategy=BackoffStrategy.LINEAR, base_delay=0.5, max_delay=2.0, jitter=0, max_attempts=7
    )
    assert policy.delays() == (0.5, 1.0, 1.5, 2.0, 2.0, 2.0)


def test_exponential_delays_multiply_and_cap() -> None:
    """EXPONENTIAL waits base * multiplier ** (n - 1) before retry n, capped at max_delay."""
    policy = RetryPolicy(base_delay=1.0, multiplier=2.0, max_delay=30.0, jitter=0, max_attempts=8)
    assert policy.delays() == (1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0)
    triple = attrs.evolve(policy, base_delay=0.25, multiplier=3.0, max_delay=math.inf)
    assert triple.delays() == (0.25, 0.75, 2.25, 6.75, 20.25, 60.75, 182.25)


def test_exponential_never_overflows() -> None:
    """A huge attempt budget saturates at max_delay instead of overflowing."""
    policy = RetryPolicy(base_delay=1.0, jitter=0, max_delay=60.0)
    assert policy.delay(5000) == 60.0
    assert RetryPolicy(base_delay=0.0, jitter=0).delay(5000) == 0.0


def test_decorrelated_jitter_draws_from_base_to_three_times_previous() -> None:
    """DECORRELATED_JITTER draws uniform(base, 3 * previous delay), starting from base."""
    policy = RetryPolicy(
        strategy=BackoffStrategy.DECORRELATED_JITTER,
        base_delay=1.0,
        max_delay=10.0,
        jitter=0,
        max_attempts=8,
        rng=random.Random(0),
    )
    mirror = random.Random(0)
    expected: list[float] = []
    previous = 1.0
    for _ in range(7):
        previous = min(mirror.uniform(1.0, 3.0 * previous), 10.0)
        expected.append(previous)
    assert policy.delays() == tuple(expected)
    assert 10.0 in expected  # the table reaches the cap
    assert policy.delay(1, rng=random.Random(0)) == random.Random(0).uniform(1.0, 3.0)


def test_jitter_multiplies_capped_delay_by_one_plus_minus_jitter() -> None:
    """Jitter scales each capped delay by a factor drawn from [1 - jitter, 1 + jitter]."""
    policy = RetryPolicy(
        base_delay=1.0, max_delay=5.0, jitter=0.25, max_attempts=6, rng=random.Random(0)
    )
    mirror = random.Random(0)
    expected = tuple(d * (1.0 + mirror.uniform(-0.25, 0.25)) for d in (1, 2, 4, 5, 5))
    got = policy.delays()
    assert got == expected
    # The literal table, rounded for reading; equality above is exact.
    assert got == pytest.approx((1.1722, 2.2580, 3.8411, 4.3973, 5.0282), abs=1e-4)
    assert got[-1] > policy.max_delay  # jitter applies after the cap


def test_decorrelated_jitter_draws_uniform_then_jitter() -> None:
    """With both, each retry draws the decorrelated delay first, then its jitter factor."""
    policy = RetryPolicy(
        strategy=BackoffStrategy.DECORRELATED_JITTER,
        base_delay=1.0,
        max_delay=30.0,
        jitter=0.1,
        max_attempts=5,
        rng=random.Random(0),
    )
    mirror = random.Random(0)
    expected: list[float] = []
    previous = 1.0
    for _ in range(4):
        raw = min(mirror.uniform(1.0, 3.0 * previous), 30.0)
        previous = raw * (1.0 + mirror.uniform(-0.1, 0.1))
        expected.append(previous)
    assert policy.delays() == tuple(expected)


def test_seeded_policies_are_reproducible() -> None:
    """Two policies seeded alike produce identical delays, for every strategy."""
    for strategy in BackoffStrategy:
        first = RetryPolicy(strategy=strategy, max_attempts=10, rng=random.Random(0))
        second = RetryPolicy(strategy=strategy, max_attempts=10, rng=random.Random(0))
        assert first.delays() == second.delays()


def test_zero_jitter_draws_nothing() -> None:
    """With jitter=0 a deterministic strategy never touches the rng."""
    rng = random.Random(0)
    before = rng.getstate()
    RetryPolicy(jitter=0, max_attempts=10, rng=rng).delays()
    assert rng.getstate() == before


def test_delay_numbers_retries_from_one() -> None:
    """Retry numbers start at 1; 0 is refused."""
    with pytest.raises(ValueError, match="retry number must be >= 1"):
        RetryPolicy().delay(0)


@given(
    strategy=st.sampled_from(BackoffStrategy),
    base=st.floats(0, 100),
    multiplier=st.floats(0, 10),
    cap=st.floats(0, 1000),
    jitter=st.floats(0, 0.99),
    seed=st.integers(0, 2**32),
)
def test_delays_stay_within_bounds(
    strategy: BackoffStrategy,
    base: float,
    multiplier: float,
    cap: float,
    jitter: float,
    seed: int,
) -> None:
    """Every delay is >= 0 and at most max_delay * (1 + jitter), and a seed fixes the table."""
    policy = RetryPolicy(
        strategy=strategy,
        base_delay=base,
        multiplier=multiplier,
        max_delay=cap,
        jitter=jitter,
        max_attempts=12,
    )
    table = policy.delays(rng=random.Random(seed))
    assert len(table) == 11
    assert all(0 <= d <= cap * (1 + jitter) for d in table)
    assert table == policy.delays(rng=random.Random(seed))


# -- which errors are retried ---------------------------------------------------------


def test_should_retry_defaults_to_every_exception() -> None:
    """An empty retry_on retries every Exception."""
    policy = RetryPolicy()
    assert policy.should_retry(Boom())
    assert policy.should_retry(ExceptionGroup("g", [Boom()]))


def test_should_retry_filters_and_abort_on_wins() -> None:
    """retry_on narrows what is retried and abort_on overrides it."""
    policy = RetryPolicy(retry_on=(Exception,), abort_on=(Fatal,))
    assert policy.should_retry(Boom())
    assert not policy.should_retry(Fatal())
    narrow = RetryPolicy(retry_on=(Boom,))
    assert narrow.should_retry(Boom())
    assert not narrow.should_retry(ValueError())


def test_base_exceptions_are_never_retried() -> None:
    """KeyboardInterrupt, SystemExit and friends are never retried, whatever retry_on says."""
    policy = RetryPolicy(retry_on=(BaseException,))
    assert not policy.should_retry(KeyboardInterrupt())
    assert not policy.should_retry(SystemExit())
    assert not policy.should_retry(GeneratorExit())


# -- run: exact timing under autojump_clock ----------------------------------------------


async def test_exponential_attempts_start_at_exact_virtual_times(autojump_clock: MockClock) -> None:
    """Exponential backoff from 0.05 starts attempts at t = 0, 0.05, 0.15."""
    fn, starts = flaky([Boom(), Boom()])
    policy = RetryPolicy(base_delay=0.05, jitter=0)
    assert await policy.run(fn) == "ok"
    # 0.05 + 0.1 is not exactly 0.15 in binary floating point.
    assert starts == pytest.approx([0.0, 0.05, 0.15], abs=1e-12)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps == pytest.approx([0.05, 0.1], abs=1e-12)


async def test_attempt_times_are_exact_with_binary_delays(autojump_clock: MockClock) -> None:
    """With binary-exact delays the whole timetable is exact, end time included."""
    fn, starts = flaky([Boom(), Boom(), Boom()])
    policy = RetryPolicy(base_delay=0.25, jitter=0, max_attempts=4)
    assert await policy.run(fn) == "ok"
    assert starts == [0.0, 0.25, 0.75, 1.75]
    assert trio.current_time() == 1.75


async def test_seeded_jittered_run_waits_the_delays_table(autojump_clock: MockClock) -> None:
    """A seeded run waits exactly the delays() of an identically seeded policy."""
    fn, starts = flaky([Boom(), Boom(), Boom()])
    expected = RetryPolicy(max_attempts=4, rng=random.Random(0)).delays()
    waited: list[float] = []
    policy = RetryPolicy(max_attempts=4, rng=random.Random(0))
    await policy.run(fn, on_retry=lambda _n, _e, d: waited.append(d))
    assert tuple(waited) == expected
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps == pytest.approx(list(expected), abs=1e-12)


async def test_run_passes_arguments_and_returns_result(autojump_clock: MockClock) -> None:
    """run calls fn(*args) on every attempt and returns the first success."""
    calls: list[tuple[int, str]] = []

    async def add(x: int, label: str) -> str:
        calls.append((x, label))
        if len(calls) < 2:
            raise Boom
        return f"{label}{x + 1}"

    assert await RetryPolicy(jitter=0).run(add, 41, "n") == "n42"
    assert calls == [(41, "n"), (41, "n")]


async def test_budget_exhausted_reraises_the_last_error(autojump_clock: MockClock) -> None:
    """When every attempt fails, the last attempt's exception object is raised unchanged."""
    errors = [Boom("1"), Boom("2"), Boom("3")]
    fn, starts = flaky(errors)
    with pytest.raises(Boom) as info:
        await RetryPolicy(base_delay=1.0, jitter=0).run(fn)
    assert info.value is errors[-1]
    assert starts == [0.0, 1.0, 3.0]
    assert trio.current_time() == 3.0  # no wait after the last attempt


async def test_single_attempt_never_retries(autojump_clock: MockClock) -> None:
    """max_attempts=1 runs fn once and raises its error without waiting."""
    fn, starts = flaky([Boom()])
    with pytest.raises(Boom):
        await RetryPolicy(max_attempts=1).run(fn)
    assert starts == [0.0]


async def test_retry_on_filters_errors(autojump_clock: MockClock) -> None:
    """An error outside retry_on is raised at once, without retrying or waiting."""
    wrong = ValueError("not retryable")
    fn, starts = flaky([Boom(), wrong])
    with pytest.raises(ValueError, match="not retryable") as info:
        await RetryPolicy(retry_on=[Boom], base_delay=1.0, jitter=0, max_attempts=5).run(fn)
    assert info.value is wrong
    assert starts == [0.0, 1.0]


async def test_abort_on_wins_over_retry_on(autojump_clock: MockClock) -> None:
    """An error in abort_on is raised at once even when retry_on also matches it."""
    fatal = Fatal()
    fn, starts = flaky([fatal])
    with pytest.raises(Fatal) as info:
        await RetryPolicy(retry_on=(Exception,), abort_on=(Fatal,)).run(fn)
    assert info.value is fatal
    assert starts == [0.0]


async def test_on_retry_reports_every_failed_attempt_but_the_last(
    autojump_clock: MockClock,
) -> None:
    """on_retry gets (attempt, error, delay) for each failure that will be retried."""
    errors = [Boom("1"), Boom("2"), Boom("3"), Boom("4")]
    fn, _ = flaky(errors)
    seen: list[tuple[int, BaseException, float]] = []
    policy = RetryPolicy(base_delay=0.5, jitter=0, max_attempts=4)
    with pytest.raises(Boom):
        await policy.run(fn, on_retry=lambda n, exc, delay: seen.append((n, exc, delay)))
    assert seen == [(1, errors[0], 0.5), (2, errors[1], 1.0), (3, errors[2], 2.0)]


async def test_on_retry_not_called_on_success_or_abort(autojump_clock: MockClock) -> None:
    """No warning is reported for a first-try success or a non-retryable error."""
    seen: list[int] = []
    ok, _ = flaky([])
    assert await RetryPolicy().run(ok, on_retry=lambda n, _e, _d: seen.append(n)) == "ok"
    fatal, _ = flaky([Fatal()])
    with pytest.raises(Fatal):
        await RetryPolicy(abort_on=[Fatal]).run(fatal, on_retry=lambda n, _e, _d: seen.append(n))
    assert seen == []


async def test_cancel_during_backoff_stops_immediately(autojump_clock: MockClock) -> None:
    """Cancelling during a backoff wait ends it at the cancel time with no further attempt."""
    fn, starts = flaky([Boom(), Boom()])
    with trio.move_on_after(0.3) as scope:
        await RetryPolicy(base_delay=10.0, jitter=0).run(fn)
    assert scope.cancelled_caught
    assert trio.current_time() == 0.3
    assert starts == [0.0]


async def test_cancelled_is_never_retried(autojump_clock: MockClock) -> None:
    """A Cancelled raised inside fn propagates at once, even with retry_on=(BaseException,)."""
    starts: list[float] = []

    async def slow() -> None:
        starts.append(trio.current_time())
        await trio.sleep(5)

    with trio.move_on_after(2.0) as scope:
        await RetryPolicy(retry_on=(BaseException,), base_delay=0.0).run(slow)
    assert scope.cancelled_caught
    assert starts == [0.0]
    assert trio.current_time() == 2.0


async def test_keyboard_interrupt_propagates_untouched(autojump_clock: MockClock) -> None:
    """A KeyboardInterrupt from fn is re-raised on the first attempt."""
    interrupt = KeyboardInterrupt()
    fn, starts = flaky([interrupt])
    with pytest.raises(KeyboardInterrupt) as info:
        await RetryPolicy(retry_on=(BaseException,)).run(fn)
    assert info.value is interrupt
    assert starts == [0.0]


# -- construction and validation ------------------------------------------------------


def test_defaults_match_the_design() -> None:
    """The defaults are the documented ones."""
    policy = RetryPolicy()
    assert (
        policy.max_attempts,
        policy.strategy,
        policy.base_delay,
        policy.multiplier,
        policy.max_delay,
        policy.jitter,
        policy.retry_on,
        policy.abort_on,
        policy.rng,
    ) == (3, BackoffStrategy.EXPONENTIAL, 1.0, 2.0, 30.0, 0.1, (), (), None)
    assert BackoffStrategy.DECORRELATED_JITTER == "decorrelated_jitter"


def test_exception_lists_become_tuples() -> None:
    """retry_on / abort_on accept a list or a single class and store a tuple."""
    policy = RetryPolicy(retry_on=[Boom, ValueError], abort_on=Fatal)
    assert policy.retry_on == (Boom, ValueError)
    assert policy.abort_on == (Fatal,)


def test_rng_is_not_part_of_equality() -> None:
    """Policies differing only in their rng compare and hash equal."""
    a = RetryPolicy(rng=random.Random(0))
    b = RetryPolicy(rng=random.Random(1))
    assert a == b
    assert hash(a) == hash(b)


def test_policy_is_frozen() -> None:
    """A policy cannot be mutated; attrs.evolve makes a changed copy."""
    policy = RetryPolicy()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        policy.max_attempts = 5  # pyright: ignore[reportAttributeAccessIssue]
    assert attrs.evolve(policy, max_attempts=5).max_attempts == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be >= 1"),
        ({"base_delay": -0.1}, "base_delay must be a finite number >= 0"),
        ({"base_delay": math.nan}, "base_delay must be a finite number >= 0"),
        ({"base_delay": math.inf}, "base_delay must be a finite number >= 0"),
        ({"multiplier": -2.0}, "multiplier must be a finite number >= 0"),
        ({"max_delay": -1.0}, "max_delay must be >= 0"),
        ({"max_delay": math.nan}, "max_delay must be >= 0"),
        ({"jitter": 1.0}, "jitter must satisfy 0 <= jitter < 1"),
        ({"jitter": -0.1}, "jitter must satisfy 0 <= jitter < 1"),
    ],
)
def test_bad_values_are_refused(kwargs: dict[str, float], message: str) -> None:
    """Out-of-range parameters raise ValueError naming the field and the rule."""
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)  # pyright: ignore[reportArgumentType]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 2.5}, "max_attempts must be an int"),
        ({"max_attempts": True}, "max_attempts must be an int"),
        ({"base_delay": "1"}, "base_delay must be a number"),
        ({"strategy": "exponential"}, "'strategy' must be <enum 'BackoffStrategy'>"),
        ({"retry_on": [ValueError, 42]}, "retry_on must hold exception classes, got 42"),
        ({"abort_on": [int]}, "abort_on must hold exception classes"),
    ],
)
def test_wrong_types_are_refused(kwargs: dict[str, object], message: str) -> None:
    """Parameters of the wrong type raise TypeError naming the field."""
    with pytest.raises(TypeError, match=message):
        RetryPolicy(**kwargs)  # pyright: ignore[reportArgumentType]


def test_infinite_max_delay_means_no_cap() -> None:
    """max_delay=math.inf disables the cap."""
    policy = RetryPolicy(max_delay=math.inf, jitter=0, max_attempts=7)
    assert policy.delays()[-1] == 32.0
