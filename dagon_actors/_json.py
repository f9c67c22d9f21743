"""JSON-compatible values: the one check-and-copy walk the package uses.

A JSON value here is ``None``, ``bool``, ``int``, a finite ``float``, ``str``,
or a ``list`` / ``str``-keyed ``dict`` of JSON values. Tuples are refused so a
value reads back exactly as it was written.

:func:`json_copy` validates and copies in one pass, so a caller never shares a
mutable container with whoever gave or receives the value, and a refused value
is refused before anything is written.
"""

from __future__ import annotations

import math
from typing import Any, TypeAlias

__all__ = ["JSONValue", "NotJSONError", "json_check", "json_copy"]

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"

_IMMUTABLE = (str, int, bool, type(None))


class NotJSONError(Exception):
    """Internal: a value is not JSON-compatible; ``path`` locates the culprit."""

    def __init__(self, path: str, culprit: object) -> None:
        super().__init__(path)
        self.path = path
        self.culprit = culprit

    def describe(self) -> str:
        kind = type(self.culprit).__name__
        if isinstance(self.culprit, float):
            return f"{self.path or 'value'} is a non-finite float ({self.culprit!r})"
        return f"{self.path or 'value'} holds a {kind}, which is not JSON data"


def json_copy(value: object, path: str = "") -> Any:
    """Return a deep copy of ``value``, raising :class:`NotJSONError` if it is not JSON."""
    cls = type(value)
    if cls in _IMMUTABLE:
        return value
    if cls is float:
        if math.isfinite(value):  # type: ignore[arg-type]
            return value
        raise NotJSONError(path, value)
    if cls is list:
        items: list[Any] = value  # type: ignore[assignment]
        out: list[Any] = []
        append = out.append
        for index, item in enumerate(items):
            if type(item) in _IMMUTABLE:
                append(item)
            else:
                append(json_copy(item, f"{path}[{index}]"))
        return out
    if cls is dict:
        mapping: dict[Any, Any] = value  # type: ignore[assignment]
        copied: dict[str, Any] = {}
        for key, item in mapping.items():
            if type(key) is not str:
                raise NotJSONError(f"{path}[{key!r}]", key)
            copied[key] = (
                item
                if type(item) in _IMMUTABLE
                else json_copy(item, f"{path}.{key}" if path else key)
            )
        return copied
    raise NotJSONError(path, value)


def json_check(value: object, path: str = "") -> None:
    """Raise :class:`NotJSONError` unless ``value`` is JSON; copies nothing."""
    cls = type(value)
    if cls in _IMMUTABLE:
        return
    if cls is float:
        if math.isfinite(value):  # type: ignore[arg-type]
            return
        raise NotJSONError(path, value)
    if cls is list:
        items: list[Any] = value  # type: ignore[assignment]
        for index, item in enumerate(items):
            if type(item) not in _IMMUTABLE:
                json_check(item, f"{path}[{index}]")
        return
    if cls is dict:
        mapping: dict[Any, Any] = value  # type: ignore[assignment]
        for key, item in mapping.items():
            if type(key) is not str:
                raise NotJSONError(f"{path}[{key!r}]", key)
            if type(item) not in _IMMUTABLE:
                json_check(item, f"{path}.{key}" if path else key)
        return
    raise NotJSONError(path, value)
