"""The only module that reads Trio's clock.

Everything that waits or stamps a time goes through here, so a test under
``trio.testing.MockClock`` controls all of it.
"""

from __future__ import annotations

import trio

__all__ = ["deadline_after", "now"]


def now() -> float:
    """Trio's current time (virtual under a MockClock)."""
    return trio.current_time()


def deadline_after(seconds: float | None) -> float:
    """The absolute Trio deadline ``seconds`` from now, or ``inf`` for ``None``."""
    if seconds is None:
        return float("inf")
    return trio.current_time() + seconds
