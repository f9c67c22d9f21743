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
from typing import TYPE_CHECKING, Any, NewType, cast, get_args, get_origin

import cattrs
from cattrs import cols
from cattrs.cols import is_mapping, list_structure_factory
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["CONVERTER", "JSONObject", "describe_error", "error_paths", "make_converter"]

JSONObject = NewType("JSONObject", dict[str, Any])
"""A JSON object passed through as is: validated on structure, never walked by cattrs.

Used for payloads that are already plain JSON data (state and store
snapshots), so a checkpoint serialises them once instead of having cattrs
rebuild every nested value.
"""


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


def _structure_json_object(value: object, _: type) -> dict[str, Any]:
    # Only the shape is checked here: the edges that accept such payloads
    # (Checkpoint.load, NodeStateBase.restore, BaseStore.restore) validate the
    # JSON content once, naming the exact path at fault.
    if type(value) is not dict:
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return cast("dict[str, Any]", value)


def _unstructure_json_object(value: dict[str, Any]) -> dict[str, Any]:
    return value


_PRIMITIVES: dict[type[Any], str] = {
    int: "an integer",
    str: "a string",
    bool: "a boolean",
}


def _is_primitive_list(tp: Any) -> bool:
    return get_origin(tp) is list and get_args(tp)[:1] in ((int,), (str,), (bool,))


def _primitive_list_hook(tp: Any) -> Callable[[object, type], list[Any]]:
    # A fast path for list[int] / list[str] / list[bool]: one C-level scan
    # instead of a hook call per element, with the same strictness.
    element: type[Any] = get_args(tp)[0]
    kind = _PRIMITIVES[element]

    def structure(value: object, _: type) -> list[Any]:
        if type(value) is not list:
            raise TypeError(f"expected a list, got {type(value).__name__}")
        items = cast("list[Any]", value)
        if not all(type(item) is element for item in items):
            index = next(i for i, item in enumerate(items) if type(item) is not element)
            raise TypeError(f"item {index}: expected {kind}, got {items[index]!r}")
        return list(items)

    return structure


def _is_other_list(tp: Any) -> bool:
    return (tp is list or get_origin(tp) is list) and not _is_primitive_list(tp)


def _exactly(
    json_type: type[Any],
    what: str,
    make: Callable[[Any, cattrs.Converter], Any],
    converter: cattrs.Converter,
) -> Callable[[Any], Any]:
    """A hook factory that admits only ``json_type`` before cattrs' own hook.

    cattrs turns any iterable into a list (``""`` and ``{}`` become ``[]``) and
    crashes with an unhelpful message on a list where a mapping belongs; JSON
    has exactly one container of each kind, so anything else is refused.
    """

    def factory(tp: Any) -> Callable[[object, type], Any]:
        inner = cast("Callable[[object, type], Any]", make(tp, converter))

        def structure(value: object, cl: type) -> Any:
            if type(value) is not json_type:
                raise TypeError(f"expected {what}, got {type(value).__name__}")
            return inner(value, cl)

        return structure

    return factory


def _is_json_mapping(tp: Any) -> bool:
    return tp is not JSONObject and is_mapping(tp)


def _pass_through(value: object, _: type) -> object:
    return value


def configure_converter(converter: cattrs.Converter) -> None:
    """Install the strict primitive hooks and the JSON pass-through on ``converter``."""
    converter.register_structure_hook(JSONObject, _structure_json_object)
    converter.register_unstructure_hook(JSONObject, _unstructure_json_object)
    converter.register_structure_hook_factory(_is_primitive_list, _primitive_list_hook)
    make_mapping: Any = cols.mapping_structure_factory  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    converter.register_structure_hook_factory(
        _is_other_list, _exactly(list, "a list", list_structure_factory, converter)
    )
    converter.register_structure_hook_factory(
        _is_json_mapping, _exactly(dict, "an object", make_mapping, converter)
    )
    # A field typed ``object`` holds whatever JSON data it was given.
    converter.register_structure_hook_func(lambda tp: tp is object, _pass_through)
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
