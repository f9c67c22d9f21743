"""The one cattrs converter behind every wire format of the package.

DAG documents, state snapshots, store snapshots, typed-store values and
checkpoints are all (un)structured here, so they share one set of rules:

* primitives are strict: cattrs coerces by default (``"3"`` becomes ``3``,
  ``2.7`` becomes ``2``); these hooks refuse instead, because a checkpoint
  that silently changes a value is worse than one that fails to load;
* extra keys are refused (``forbid_extra_keys``) and failures are detailed,
  so :func:`describe_error` can name the path of every bad field.

Model classes carry no JSON knowledge; this module is the edge.
"""

from __future__ import annotations

import math
from typing import Any, cast

import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)

__all__ = ["CONVERTER", "describe_error", "error_paths", "make_converter"]


def _strict_int(value: object, _: type) -> int:
    if type(value) is not int:
        raise TypeError(f"expected an integer, got {type(value).__name__} {value!r}")
    return value


def _strict_float(value: object, _: type) -> float:
    if type(value) is float:
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {value!r}")
        return value
    if type(value) is int:
        return float(value)
    raise TypeError(f"expected a number, got {type(value).__name__} {value!r}")


def _strict_str(value: object, _: type) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {type(value).__name__} {value!r}")
    return value


def _strict_bool(value: object, _: type) -> bool:
    if type(value) is not bool:
        raise TypeError(f"expected a boolean, got {type(value).__name__} {value!r}")
    return value


def configure_converter(converter: cattrs.Converter) -> None:
    """Install the strict primitive hooks on ``converter``."""
    converter.register_structure_hook(int, _strict_int)
    converter.register_structure_hook(float, _strict_float)
    converter.register_structure_hook(str, _strict_str)
    converter.register_structure_hook(bool, _strict_bool)


def make_converter() -> cattrs.Converter:
    """A fresh converter configured the package's way (strict, no extra keys)."""
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    configure_converter(converter)
    return converter


CONVERTER = make_converter()
"""The shared converter. Register package hooks here, never on another one."""


def error_paths(exc: BaseException, root: str = "") -> list[tuple[str, str]]:
    """Flatten a cattrs validation error into ``(dotted path, problem)`` pairs."""
    found: list[tuple[str, str]] = []

    def join(base: str, extra: str) -> str:
        if not base:
            return extra
        return f"{base}{extra}" if extra.startswith("[") else f"{base}.{extra}"

    def walk(error: BaseException, path: str) -> None:
        if isinstance(error, ForbiddenExtraKeysError):
            found.extend(
                (join(path, key), "extra field not allowed") for key in sorted(error.extra_fields)
            )
            return
        if isinstance(error, ClassValidationError | IterableValidationError):
            with_notes, without = error.group_exceptions()
            for inner, note in with_notes:
                if isinstance(note, AttributeValidationNote):
                    name = note.name
                elif isinstance(note.index, str):
                    name = note.index
                else:
                    name = f"[{note.index!r}]"
                walk(inner, join(path, name))
            for inner in without:
                walk(inner, path)
            return
        if isinstance(error, BaseExceptionGroup):
            group = cast("BaseExceptionGroup[BaseException]", error)
            for inner in group.exceptions:
                walk(inner, path)
            return
        if isinstance(error, KeyError):
            found.append((path, "required field missing"))
            return
        found.append((path, str(error) or type(error).__name__))

    walk(exc, root)
    return found


def describe_error(exc: BaseException, root: str = "") -> str:
    """One readable line per bad field of a cattrs validation error."""
    return "; ".join(
        f"{path or '<document>'}: {problem}" for path, problem in error_paths(exc, root)
    )


def structure(data: object, cls: type[Any]) -> Any:
    """Structure ``data`` as ``cls`` with the shared converter."""
    return CONVERTER.structure(data, cls)
