"""Retry budgets and backoff delays.

:class:`RetryPolicy` says how many times to try, which errors deserve another
try, and how long to wait before each retry. This module only *computes*
delays: :meth:`RetryPolicy.delay` and :meth:`RetryPolicy.delays` are pure
arithmetic over the policy and an injected :class:`random.Random`, and never
read a clock. The one place that waits is :meth:`RetryPolicy.run`, and it waits
with :func:`trio.sleep`, so backoff follows Trio's clock: under
``trio.testing.MockClock`` (pytest-trio's ``autojump_clock``) every retry
happens at an exact, predictable virtual time, and a cancel scope around the
call (an abort, a deadline, the caller's own scope) ends a backoff wait at once.

Randomness (decorrelated jitter and the ``jitter`` factor) is drawn only from
the policy's ``rng``. A policy built with ``rng=random.Random(seed)`` therefore
produces the same delays every time it is rebuilt with the same seed; with
``rng=None`` each :meth:`~RetryPolicy.run` call draws from a fresh unseeded
generator.
"""

from __future__ import annotations

import enum
import math
import random
from typing import TYPE_CHECKING, TypeVar, TypeVarTuple

import attrs
import trio

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable

__all__ = ["BackoffStrategy", "RetryPolicy"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class BackoffStrategy(enum.StrEnum):
    """How the delay before retry *n* (counting from 1) grows.

    ``base`` is :attr:`RetryPolicy.base_delay`; every result is then capped at
    :attr:`RetryPolicy.max_delay` and jittered by :attr:`RetryPolicy.jitter`.
    """

    CONSTANT = "constant"
    """Always ``base``."""

    LINEAR = "linear"
    """``base * n``."""

    EXPONENTIAL = "exponential"
    """``base * multiplier ** (n - 1)``."""

    DECORRELATED_JITTER = "decorrelated_jitter"
    """``uniform(base, 3 * previous)``, where ``previous`` is the delay before
    the previous retry (``base`` for the first); AWS's "decorrelated jitter"."""


# -- attrs converters and validators ------------------------------------------------


def _exception_types(
    value: Iterable[type[BaseException]] | type[BaseException],
) -> tuple[type[BaseException], ...]:
    """Accept a single exception class or any iterable of them, as ``except`` does."""
    if isinstance(value, type):
        return (value,)
    return tuple(value)


def _check_exception_types(
    instance: RetryPolicy,
    attribute: attrs.Attribute[tuple[type[BaseException], ...]],
    value: tuple[type[BaseException], ...],
) -> None:
    for item in value:
        # Checked at run time too: callers without a type checker pass anything.
        if not (isinstance(item, type) and issubclass(item, BaseException)):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                f"RetryPolicy.{attribute.name} must hold exception classes, got {item!r}"
            )


def _check_number(instance: RetryPolicy, attribute: attrs.Attribute[float], value: float) -> None:
    # bool is an int, but `base_delay=True` is certainly a mistake.
    if isinstance(value, bool) or not isinstance(value, int | float):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"RetryPolicy.{attribute.name} must be a number, got {value!r}")


def _non_negative_finite(
    instance: RetryPolicy, attribute: attrs.Attribute[float], value: float
) -> None:
    _check_number(instance, attribute, value)
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(
            f"RetryPolicy.{attribute.name} must be a finite number >= 0, got {value!r}"
        )


def _non_negative(instance: RetryPolicy, attribute: attrs.Attribute[float], value: float) -> None:
    _check_number(instance, attribute, value)
    if not value >= 0:  # also refuses NaN
        raise ValueError(
            f"RetryPolicy.{attribute.name} must be >= 0 (math.inf for no cap), got {value!r}"
        )


def _check_max_attempts(instance: RetryPolicy, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"RetryPolicy.max_attempts must be an int, got {value!r}")
    if value < 1:
        raise ValueError(
            f"RetryPolicy.max_attempts must be >= 1 (1 means no retries), got {value!r}"
        )


def _check_jitter(instance: RetryPolicy, attribute: attrs.Attribute[float], value: float) -> None:
    _check_number(instance, attribute, value)
    if not 0 <= value < 1:  # also refuses NaN
        raise ValueError(f"RetryPolicy.jitter must satisfy 0 <= jitter < 1, got {value!r}")


# -- the policy ---------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """A retry budget and the backoff between attempts.

    Use it directly with ``await policy.run(fn, *args)``, or set it as a node's
    ``retry`` attribute and the engine retries the node the same way. The
    policy is a frozen value: share it freely between nodes and runs. Change a
    field with :func:`attrs.evolve`.

    Attributes:
        max_attempts: Total attempts, the first included; ``1`` never retries.
        strategy: How the delay grows from one retry to the next.
        base_delay: Seconds; the starting delay of every strategy.
        multiplier: Growth factor of :attr:`BackoffStrategy.EXPONENTIAL`.
        max_delay: Seconds; every delay is capped here *before* jitter is
            applied, so a jittered delay may reach ``max_delay * (1 + jitter)``.
            ``math.inf`` means no cap.
        jitter: Each delay is multiplied by a factor drawn uniformly from
            ``[1 - jitter, 1 + jitter]``; ``0`` draws nothing.
        retry_on: Exception classes worth retrying; empty (the default) means
            every :class:`Exception`. A list or a single class is accepted.
        abort_on: Exception classes never retried, even when they also match
            ``retry_on``.
        rng: Source of every random draw. Seed it for reproducible delays;
            ``None`` gives each :meth:`run` call its own unseeded generator.
            Not part of equality or hashing.
    """

    max_attempts: int = attrs.field(default=3, validator=_check_max_attempts)
    strategy: BackoffStrategy = attrs.field(
        default=BackoffStrategy.EXPONENTIAL,
        validator=attrs.validators.instance_of(BackoffStrategy),
    )
    base_delay: float = attrs.field(default=1.0, validator=_non_negative_finite)
    multiplier: float = attrs.field(default=2.0, validator=_non_negative_finite)
    max_delay: float = attrs.field(default=30.0, validator=_non_negative)
    jitter: float = attrs.field(default=0.1, validator=_check_jitter)
    retry_on: tuple[type[BaseException], ...] = attrs.field(
        default=(), converter=_exception_types, validator=_check_exception_types
    )
    abort_on: tuple[type[BaseException], ...] = attrs.field(
        default=(), converter=_exception_types, validator=_check_exception_types
    )
    rng: random.Random | None = attrs.field(default=None, eq=False)

    # -- pure maths -----------------------------------------------------------------

    def delay(
        self, n: int, previous: float | None = None, *, rng: random.Random | None = None
    ) -> float:
        """Compute the delay, in seconds, before retry ``n``.

        Retry ``n`` follows failed attempt ``n`` (so retry 1 is the second
        attempt). The strategy gives a raw delay, which is capped at
        ``max_delay`` and then multiplied by a jitter factor. Pure: reads no
        clock and never sleeps.

        Args:
            n: Which retry, counting from 1.
            previous: The delay returned for retry ``n - 1``; only
                :attr:`BackoffStrategy.DECORRELATED_JITTER` reads it, and
                ``None`` means ``base_delay`` (the rule for ``n == 1``).
            rng: Where random draws come from; defaults to the policy's
                ``rng``, else a fresh unseeded generator. Draw order is fixed:
                the decorrelated ``uniform`` first, then the jitter factor
                (skipped when ``jitter == 0``).

        Returns:
            A delay ``>= 0``, at most ``max_delay * (1 + jitter)``.

        Raises:
            ValueError: ``n`` is less than 1.
        """
        if n < 1:
            raise ValueError(f"retry number must be >= 1, got {n!r}")
        if rng is None:
            rng = self.rng if self.rng is not None else random.Random()
        base = float(self.base_delay)
        match self.strategy:
            case BackoffStrategy.CONSTANT:
                raw = base
            case BackoffStrategy.LINEAR:
                raw = base * n
            case BackoffStrategy.EXPONENTIAL:
                raw = _exponential(base, float(self.multiplier), n)
            case BackoffStrategy.DECORRELATED_JITTER:
                prev = base if previous is None else previous
                raw = rng.uniform(base, 3.0 * prev)
        capped = min(raw, self.max_delay)
        if self.jitter:
            capped *= 1.0 + rng.uniform(-self.jitter, self.jitter)
        return capped

    def delays(self, *, rng: random.Random | None = None) -> tuple[float, ...]:
        """List the delays of one run that spends the whole budget.

        Element ``i`` is the delay before retry ``i + 1``; there are
        ``max_attempts - 1`` of them. Draws from ``rng`` (defaulting as in
        :meth:`delay`) in the same order :meth:`run` does, so a :meth:`run` on
        an identically seeded generator waits exactly these delays (a prefix
        of them if an attempt succeeds).
        """
        if rng is None:
            rng = self.rng if self.rng is not None else random.Random()
        out: list[float] = []
        previous: float | None = None
        for n in range(1, self.max_attempts):
            previous = self.delay(n, previous, rng=rng)
            out.append(previous)
        return tuple(out)

    def should_retry(self, exc: BaseException) -> bool:
        """Say whether ``exc`` may be retried, ignoring the attempt budget.

        ``abort_on`` wins over ``retry_on``; an empty ``retry_on`` matches
        every :class:`Exception`. A :class:`BaseException` that is not an
        :class:`Exception` (``trio.Cancelled``, ``KeyboardInterrupt``,
        ``SystemExit``) is never retried, whatever the policy lists.
        """
        if not isinstance(exc, Exception):
            return False
        if isinstance(exc, self.abort_on):
            return False
        return not self.retry_on or isinstance(exc, self.retry_on)

    # -- the Trio shell -------------------------------------------------------------

    async def run(
        self,
        fn: Callable[[*Ts], Awaitable[T]],
        *args: *Ts,
        on_retry: Callable[[int, Exception, float], object] | None = None,
    ) -> T:
        """Await ``fn(*args)`` until it succeeds or the policy gives up.

        Each attempt calls ``fn`` afresh. After a failed attempt ``n`` whose
        error :meth:`should_retry` accepts and while attempts remain,
        ``on_retry(n, exc, delay)`` is called and the task waits ``delay``
        seconds with :func:`trio.sleep` before attempt ``n + 1``. The wait is a
        plain Trio checkpoint: cancelling the surrounding scope (abort,
        deadline, ``move_on_after``) ends it at once with ``trio.Cancelled``
        and no further attempt is made. ``Cancelled``, ``KeyboardInterrupt``
        and other non-:class:`Exception` errors raised by ``fn`` propagate
        untouched on the first occurrence.

        Args:
            fn: The async function to call.
            *args: Positional arguments for ``fn``, passed on every attempt.
            on_retry: Optional sync callback, called once for every failed
                attempt but the last, before the wait, with the attempt number
                (from 1), its error and the delay about to be waited. An error
                it raises propagates and stops the retries.

        Returns:
            What the first successful attempt returned.

        Raises:
            Exception: The error of the last attempt, re-raised unchanged (the
                same object), once the budget is spent or when the error is not
                retryable.
        """
        rng = self.rng if self.rng is not None else random.Random()
        previous: float | None = None
        attempt = 1
        while True:
            try:
                return await fn(*args)
            except Exception as exc:
                if attempt >= self.max_attempts or not self.should_retry(exc):
                    raise
                previous = self.delay(attempt, previous, rng=rng)
                if on_retry is not None:
                    on_retry(attempt, exc, previous)
            # Sleep outside the `except` block so a Cancelled raised by the wait
            # does not carry the failed attempt's error as its __context__.
            await trio.sleep(previous)
            attempt += 1


def _exponential(base: float, multiplier: float, n: int) -> float:
    """``base * multiplier ** (n - 1)``, saturating at ``inf`` instead of raising."""
    if base == 0.0:
        return 0.0  # avoids 0 * inf = nan when the power overflows
    try:
        return base * multiplier ** (n - 1)
    except OverflowError:
        return math.inf
