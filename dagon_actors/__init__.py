"""dagon_actors: a Trio-native DAG execution engine.

Import the public names from here; every other module is private.
"""

from __future__ import annotations

import contextlib

import attrs

from dagon_actors._abort import AbortController, AbortSignal
from dagon_actors._builder import DAGBuilder
from dagon_actors._checkpoint import Checkpoint, RestoredCheckpoint
from dagon_actors._dag import DAG
from dagon_actors._dispatcher import Dagonizer
from dagon_actors._errors import (
    CheckpointError,
    DAGError,
    ExecutionError,
    NodeTimeoutError,
    StoreError,
    StoreErrorReason,
    ValidationError,
)
from dagon_actors._execution import Execution
from dagon_actors._gather import Gather, GatherRecord
from dagon_actors._node import Node, NodeContext, NodeOutput, node
from dagon_actors._records import ExecutionResult, Interruption, NodeEvent
from dagon_actors._retry import BackoffStrategy, RetryPolicy
from dagon_actors._state import ErrorRecord, LifecycleVariant, NodeStateBase, transient
from dagon_actors._store import (
    BaseStore,
    MemoryBacking,
    MemoryStore,
    Store,
    StoreSnapshot,
    StoreStatistics,
)
from dagon_actors._typed_store import TypedStore

__all__ = [
    "DAG",
    "AbortController",
    "AbortSignal",
    "BackoffStrategy",
    "BaseStore",
    "Checkpoint",
    "CheckpointError",
    "DAGBuilder",
    "DAGError",
    "Dagonizer",
    "ErrorRecord",
    "Execution",
    "ExecutionError",
    "ExecutionResult",
    "Gather",
    "GatherRecord",
    "Interruption",
    "LifecycleVariant",
    "MemoryBacking",
    "MemoryStore",
    "Node",
    "NodeContext",
    "NodeEvent",
    "NodeOutput",
    "NodeStateBase",
    "NodeTimeoutError",
    "RestoredCheckpoint",
    "RetryPolicy",
    "Store",
    "StoreError",
    "StoreErrorReason",
    "StoreSnapshot",
    "StoreStatistics",
    "TypedStore",
    "ValidationError",
    "node",
    "transient",
]


def _fixup_module_metadata() -> None:
    # Reprs, tracebacks and pickles say dagon_actors.X, not dagon_actors._mod.X
    # (as trio's fixup_module_metadata does).
    # Resolve attrs annotations first: cattrs resolves them lazily, in the
    # module __module__ names, which is about to change.
    for name in __all__:
        obj = globals()[name]
        if attrs.has(obj):
            # Annotations naming TYPE_CHECKING-only imports belong to classes
            # that are never (un)structured, so nothing needs them resolved.
            with contextlib.suppress(NameError):
                attrs.resolve_types(obj)
    for name in __all__:
        obj = globals()[name]
        if getattr(obj, "__module__", "").startswith("dagon_actors._"):
            try:
                obj.__module__ = __name__
            except (AttributeError, TypeError):  # pragma: no cover - builtin-like objects
                continue


_fixup_module_metadata()
del _fixup_module_metadata
