"""Abort: a controller whose signal cancels the cancel scopes of runs in flight.

Abort is Trio-native, not merely cooperative: every run attaches its cancel
scope to the signal it was given, and :meth:`AbortController.abort` cancels
each attached scope. Whatever the run has in flight (a node, every scatter
clone, every embedded child at any depth, parallel members) sees
``trio.Cancelled`` at its next checkpoint. Nodes need not poll, though they
can look at ``ctx.signal.aborted``.
"""

from __future__ import annotations

from typing import final

import attrs
import trio

__all__ = ["AbortController", "AbortSignal"]


@final
@attrs.define(eq=False)
class AbortSignal:
    """The read side of an :class:`AbortController`; pass it as ``abort=``.

    One signal may serve several runs at once; aborting stops them all.
    """

    aborted: bool = attrs.field(default=False, init=False)
    reason: object = attrs.field(default=None, init=False)
    _scopes: set[trio.CancelScope] = attrs.field(
        factory=set["trio.CancelScope"], init=False, repr=False
    )

    def attach(self, scope: trio.CancelScope) -> None:
        """Cancel ``scope`` on abort (at once if already aborted)."""
        if self.aborted:
            scope.cancel()
        else:
            self._scopes.add(scope)

    def detach(self, scope: trio.CancelScope) -> None:
        """Stop watching ``scope``."""
        self._scopes.discard(scope)


@final
@attrs.define(eq=False)
class AbortController:
    """Owns an :class:`AbortSignal` and aborts it.

    ``abort(reason)`` is synchronous and idempotent: the first call wins and
    keeps its reason (surfaced on ``interrupted_at.detail``).
    """

    signal: AbortSignal = attrs.field(factory=AbortSignal, init=False)

    def abort(self, reason: object = None) -> None:
        """Abort every run watching this controller's signal."""
        signal = self.signal
        if signal.aborted:
            return
        signal.aborted = True
        signal.reason = reason
        scopes = list(signal._scopes)  # pyright: ignore[reportPrivateUsage]
        signal._scopes.clear()  # pyright: ignore[reportPrivateUsage]
        for scope in scopes:
            scope.cancel()
