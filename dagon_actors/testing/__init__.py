"""Tools for testing code built on dagon_actors, above all its race behaviour.

Everything here runs inside an ordinary Trio test (pytest-trio, with or without
``autojump_clock``): no nested ``trio.run``, no private Trio APIs.

* :class:`RecordingStore` wraps a store and logs each operation with its
  virtual time and task, so a test can assert the order the actor served them.
* :class:`RecordingNode` wraps a node and logs when each execution started and
  ended, for exact timetables of a run.
* :class:`Rendezvous` makes chosen tasks meet at named points, to force the
  one interleaving a test is about.

Example::

    async def test_naive_counter_loses_an_update(autojump_clock):
        store = RecordingStore(MemoryStore())
        rv = Rendezvous()

        async def naive_increment():
            value = await store.get("n", 0)
            await rv.meet("read", 2)
            await store.set("n", value + 1)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(naive_increment)
            nursery.start_soon(naive_increment)
        assert await store.get("n") == 1
        assert [r.op for r in store.log] == ["get", "get", "set", "set", "get"]
"""

from __future__ import annotations

from ._recording import NodeRecord, RecordingNode, RecordingStore, StoreRecord
from ._rendezvous import Rendezvous

__all__ = [
    "NodeRecord",
    "RecordingNode",
    "RecordingStore",
    "Rendezvous",
    "StoreRecord",
]

# Reprs, tracebacks and docs name the public module, not the private one
# (as trio.testing does).
for _obj in (NodeRecord, RecordingNode, RecordingStore, Rendezvous, StoreRecord):
    _obj.__module__ = __name__
del _obj
