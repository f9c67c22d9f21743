"""Dotted paths into a state: ``"a.b"`` reads attribute or mapping key ``a``, then ``b``.

Used by scatter sources, embedded ``inputs``/``outputs`` and gather targets.
``metadata.x`` is ``state.metadata["x"]``. A missing segment is an error
(:class:`PathError`); containers are never created on the way.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, MutableMapping
from typing import Any

__all__ = ["PathError", "copy_paths", "get_path", "set_path", "split_path"]

_MISSING = object()


class PathError(LookupError):
    """Internal: ``path`` has no segment ``segment``; callers turn it into a ValidationError."""

    def __init__(self, path: str, segment: str, on: object = None) -> None:
        super().__init__(f"{path!r} has no {segment!r}")
        self.path = path
        self.segment = segment
        self.on = on  # the object the path was followed on, when known


def split_path(path: str) -> tuple[str, ...]:
    """Split a dotted path into its segments, refusing empty ones."""
    parts = tuple(path.split("."))
    if not path or any(not part for part in parts):
        raise PathError(path, "")
    return parts


def _step(obj: object, segment: str, path: str) -> Any:
    if isinstance(obj, Mapping):
        mapping: Mapping[str, Any] = obj  # pyright: ignore[reportUnknownVariableType]
        value = mapping.get(segment, _MISSING)
    else:
        value = getattr(obj, segment, _MISSING)
    if value is _MISSING:
        raise PathError(path, segment)
    return value


def get_path(obj: object, path: str) -> Any:
    """Read the value at ``path`` on ``obj``."""
    value: Any = obj
    for segment in split_path(path):
        value = _step(value, segment, path)
    return value


def set_path(obj: object, path: str, value: object) -> None:
    """Write ``value`` at ``path`` on ``obj``.

    Every segment but the last must exist. The last may be a new key of a
    mapping, but must be an existing attribute of an object.
    """
    *parents, last = split_path(path)
    target: Any = obj
    for segment in parents:
        target = _step(target, segment, path)
    if isinstance(target, MutableMapping):
        mapping: MutableMapping[str, Any] = target  # pyright: ignore[reportUnknownVariableType]
        mapping[last] = value
        return
    if not hasattr(target, last):
        raise PathError(path, last)
    setattr(target, last, value)


def copy_paths(mapping: Mapping[str, str], source: object, dest: object, *, deep: bool) -> None:
    """Copy ``{dest_path: source_path}`` from ``source`` to ``dest``.

    Keys are destinations, values are sources (embedded ``inputs`` /
    ``outputs``, scatter ``inputs``). With ``deep`` the values are deep copies.

    Raises:
        PathError: a path is missing; ``on`` is the object it was followed on.
    """
    for dest_path, source_path in mapping.items():
        try:
            value = get_path(source, source_path)
        except PathError as exc:
            raise PathError(exc.path, exc.segment, source) from None
        if deep:
            value = copy.deepcopy(value)
        try:
            set_path(dest, dest_path, value)
        except PathError as exc:
            raise PathError(exc.path, exc.segment, dest) from None
