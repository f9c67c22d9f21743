"""Named meeting points that force an interleaving in a test."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, final

import attrs
import trio

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

__all__ = ["Rendezvous"]


@attrs.define
class _Meeting:
    parties: int
    arrived: int = 0
    met: trio.Event = attrs.Factory(trio.Event)


@attrs.define
class _Turns:
    next: int = 0
    claimed: set[int] = attrs.Factory(set[int])
    abandoned: set[int] = attrs.Factory(set[int])
    wakers: dict[int, trio.Event] = attrs.Factory(dict[int, trio.Event])


@final
class Rendezvous:
    """Named points where chosen tasks wait for each other, in the spirit of
    :class:`trio.testing.Sequencer`.

    A test puts ``await rv.<verb>(point, ...)`` inside the code it races (a
    node body, an update function) to pin down one interleaving exactly. Three
    verbs, each on its own namespace of point names:

    * :meth:`meet` is a one-shot barrier: the first ``parties - 1`` arrivals
      wait until the last one arrives, then all go on together.
    * :meth:`wait` blocks until the test calls :meth:`release` for that point
      (a latch: releasing first makes later waits return at once).
    * :meth:`turn` is an ordered section: ``async with rv.turn(point, i)`` runs
      its body only after the bodies of turns ``0 .. i-1`` have finished.

    :meth:`waiting` says how many tasks are blocked at a point, so a test can
    check that the interleaving it wanted is really in place. Everything waits
    on Trio primitives only, so it runs inside any Trio test (``autojump_clock``
    included) and never needs its own ``trio.run``.

    Example::

        rv = Rendezvous()

        async def reader(store):
            value = await store.get("n")
            await rv.meet("both-read", 2)  # neither writes before both have read
            await store.set("n", value + 1)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader, store)
            nursery.start_soon(reader, store)
        assert await store.get("n") == 1  # the lost update, every time
    """

    def __init__(self) -> None:
        self._meetings: dict[str, _Meeting] = {}
        self._gates: dict[str, trio.Event] = {}
        self._turns: dict[str, _Turns] = {}
        self._waiting: dict[str, int] = {}

    def __repr__(self) -> str:
        busy = {point: count for point, count in self._waiting.items() if count}
        return f"<Rendezvous waiting={busy!r}>"

    def waiting(self, point: str) -> int:
        """How many tasks are blocked at ``point`` right now (any verb)."""
        return self._waiting.get(point, 0)

    async def _block(self, point: str, event: trio.Event) -> None:
        self._waiting[point] = self._waiting.get(point, 0) + 1
        try:
            await event.wait()
        finally:
            self._waiting[point] -= 1

    async def meet(self, point: str, parties: int) -> None:
        """Wait until ``parties`` tasks (this one included) have reached ``point``.

        One-shot: once met, the point is spent; use a new name for another
        meeting. A task cancelled while waiting no longer counts as arrived.
        Always a checkpoint.

        Raises:
            ValueError: ``parties`` is less than 1.
            RuntimeError: the point was already met, or ``parties`` differs
                from the first caller's.
        """
        if parties < 1:
            raise ValueError(f"parties must be at least 1, got {parties}")
        meeting = self._meetings.setdefault(point, _Meeting(parties))
        if meeting.parties != parties:
            raise RuntimeError(f"meeting {point!r} is for {meeting.parties} parties, not {parties}")
        if meeting.met.is_set():
            raise RuntimeError(f"meeting {point!r} already took place; use a new point")
        meeting.arrived += 1
        if meeting.arrived == parties:
            meeting.met.set()
            await trio.lowlevel.checkpoint()
            return
        try:
            await self._block(point, meeting.met)
        except BaseException:
            if not meeting.met.is_set():
                meeting.arrived -= 1
            raise

    def _gate(self, point: str) -> trio.Event:
        gate = self._gates.get(point)
        if gate is None:
            gate = self._gates[point] = trio.Event()
        return gate

    async def wait(self, point: str) -> None:
        """Block until :meth:`release` is called for ``point``; a checkpoint even if released."""
        gate = self._gate(point)
        if gate.is_set():
            await trio.lowlevel.checkpoint()
        else:
            await self._block(point, gate)

    def release(self, point: str) -> None:
        """Let every task waiting at ``point`` go on, and every later one pass."""
        self._gate(point).set()

    @asynccontextmanager
    async def turn(self, point: str, index: int) -> AsyncGenerator[None]:
        """Run the ``async with`` body as turn ``index`` (from 0) at ``point``.

        The body starts only after the bodies of all lower turns have exited,
        normally or by an exception. A turn cancelled while waiting is skipped,
        so it cannot hold the others up.

        Raises:
            RuntimeError: ``index`` was already claimed at ``point``.
        """
        turns = self._turns.setdefault(point, _Turns())
        if index < 0 or index in turns.claimed:
            raise RuntimeError(f"turn {index} at {point!r} is invalid or already claimed")
        turns.claimed.add(index)
        if index == turns.next:
            await trio.lowlevel.checkpoint()
        else:
            waker = turns.wakers[index] = trio.Event()
            try:
                await self._block(point, waker)
            except BaseException:
                turns.wakers.pop(index, None)
                if not waker.is_set():
                    turns.abandoned.add(index)
                else:  # woken and cancelled in the same breath: pass the turn on
                    self._advance(turns)
                raise
        try:
            yield
        finally:
            self._advance(turns)

    @staticmethod
    def _advance(turns: _Turns) -> None:
        turns.next += 1
        while turns.next in turns.abandoned:
            turns.next += 1
        waker = turns.wakers.pop(turns.next, None)
        if waker is not None:
            waker.set()
