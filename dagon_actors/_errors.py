"""The exception family of dagon_actors.

Every error the engine raises or records derives from :class:`DAGError`::

    DAGError
     ├── ValidationError      a DAG, placement, path or call that is malformed
     ├── ExecutionError       an engine-made failure inside a run
     │    └── NodeTimeoutError   a node ran past its own ``timeout``
     ├── CheckpointError      a checkpoint that cannot be captured or loaded
     └── StoreError           a store refused an operation (see StoreErrorReason)

Each error carries keyword-only structured fields (``dag_name``, ``placement``,
``field``, ``store``, ``reason`` ...) beside its readable message, so callers can
branch on data rather than parse text.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "CheckpointError",
    "DAGError",
    "ExecutionError",
    "NodeTimeoutError",
    "StoreError",
    "StoreErrorReason",
    "ValidationError",
]


class DAGError(Exception):
    """Root of every dagon_actors error.

    Raised directly for misuse that has no more specific class, for example
    capturing a checkpoint of a finished run or restoring stores that a
    checkpoint holds but the caller did not supply.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(DAGError):
    """A definition or a reference is malformed.

    Raised by ``DAGBuilder.build``, ``Dagonizer.register_dag`` and
    ``DAG.from_dict`` with every finding at once (``findings``), and recorded
    at run time when a placement names something that does not exist on the
    state or in the registry (``placement`` and ``path`` say what). Unlike
    :class:`ExecutionError`, it always means "fix the definition or the call".
    """

    def __init__(
        self,
        message: str,
        *,
        dag_name: str | None = None,
        placement: str | None = None,
        path: str | None = None,
        findings: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.dag_name = dag_name
        self.placement = placement
        self.path = path
        self.findings: tuple[str, ...] = tuple(findings)

    @classmethod
    def from_findings(cls, dag_name: str, findings: Sequence[str]) -> ValidationError:
        """Build the one error that lists every finding of a DAG check.

        Each finding is already formatted as ``<dag>.<placement>: <problem>``.
        """
        lines = ["Invalid DAG:", *(f"  - {finding}" for finding in findings)]
        return cls("\n".join(lines), dag_name=dag_name, findings=findings)


class ExecutionError(DAGError):
    """The engine stopped a placement for a reason of its own.

    Used in error records for failures no node raised: a node returning an
    output its placement does not route, a run exceeding ``max_steps``, and
    similar. ``node`` and ``placement`` name where it happened.
    """

    def __init__(
        self,
        message: str,
        *,
        dag_name: str | None = None,
        placement: str | None = None,
        node: str | None = None,
    ) -> None:
        super().__init__(message)
        self.dag_name = dag_name
        self.placement = placement
        self.node = node


class NodeTimeoutError(ExecutionError):
    """A node's attempt ran longer than the node's own ``timeout``.

    Distinct from a run ``deadline`` (which ends the run ``timed_out``): a
    node timeout fails that placement, and a retry policy may retry it.
    """

    def __init__(
        self,
        message: str,
        *,
        timeout: float,
        dag_name: str | None = None,
        placement: str | None = None,
        node: str | None = None,
    ) -> None:
        super().__init__(message, dag_name=dag_name, placement=placement, node=node)
        self.timeout = timeout


class CheckpointError(DAGError):
    """A checkpoint could not be captured or loaded.

    ``field`` is the dotted path of the offending part of the wire document
    (``"version"``, ``"state.fields.count"``, ``"stores.log.entries"``), so a
    caller can report exactly what was wrong. Nothing is restored when this is
    raised.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class StoreErrorReason(enum.StrEnum):
    """Why a store refused an operation."""

    NOT_SERIALIZABLE = "not_serializable"
    """The value is not JSON-compatible; nothing was written."""
    INCOMPATIBLE_SNAPSHOT = "incompatible_snapshot"
    """A snapshot of another store type or format version."""
    KEY_NOT_FOUND = "key_not_found"
    """A read that requires the key found none."""
    UNKNOWN_KEY = "unknown_key"
    """A typed store's schema does not allow this key."""
    WRONG_TYPE = "wrong_type"
    """A typed store's value does not match the schema's type."""
    REENTRANT = "reentrant"
    """An ``update`` function called the store it is updating (a deadlock)."""
    LEASE_DENIED = "lease_denied"
    """A remote backend refused the lease an operation needs."""
    LEASE_EXPIRED = "lease_expired"
    """A remote backend's lease ran out before the operation finished."""
    UNREACHABLE = "unreachable"
    """A remote backend could not be reached."""


class StoreError(DAGError):
    """A store refused an operation; ``reason`` says why.

    The store is unchanged when this is raised: validation happens before any
    write. ``store`` names the store (its type and namespace) and ``key`` the
    key involved, when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: StoreErrorReason,
        store: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.store = store
        self.key = key
