"""The one cattrs converter: strict primitives, no extra keys, errors with paths.

DESIGN.md "Checkpoints": cattrs coerces by default (``"3"`` → 3, 2.7 → 2),
so the package's primitive hooks refuse instead. Every wire format (DAG
documents, state snapshots, store snapshots, checkpoints) goes through this
converter, and ``error_paths`` turns a cattrs failure into ``(path, problem)``
pairs so errors can name the field at fault.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import pytest
from cattrs.errors import BaseValidationError, ClassValidationError

from dagon_actors._codec import CONVERTER, describe_error, error_paths, make_converter


@attrs.define
class Inner:
    a: int
    b: list[str] = attrs.field(factory=list)


@attrs.define
class Outer:
    x: int
    inner: Inner
    many: list[Inner] = attrs.field(factory=list)
    by_name: dict[str, Inner] = attrs.field(factory=dict)
    ratios: list[float] = attrs.field(factory=list)
    label: str | None = None


# What a refusal may raise: the strict hooks' TypeError / ValueError, cattrs' validation
# groups, and (for a non-mapping given where a dict is expected) cattrs' own
# AttributeError -- the refusal the user sees is the CheckpointError built from it.
REFUSALS = (TypeError, ValueError, AttributeError, BaseValidationError)


def fails(data: Any, tp: Any) -> list[tuple[str, str]]:
    with pytest.raises(REFUSALS) as info:
        CONVERTER.structure(data, tp)
    return error_paths(info.value)


# ============================================================================ primitives

REFUSED_COERCIONS = [
    pytest.param("3", int, id="str-to-int"),
    pytest.param(2.7, int, id="float-to-int"),
    pytest.param(2.0, int, id="integral-float-to-int"),
    pytest.param(True, int, id="bool-to-int"),
    pytest.param(None, int, id="none-to-int"),
    pytest.param(1, str, id="int-to-str"),
    pytest.param(None, str, id="none-to-str"),
    pytest.param(b"x", str, id="bytes-to-str"),
    pytest.param(1, bool, id="int-to-bool"),
    pytest.param("true", bool, id="str-to-bool"),
    pytest.param(0, bool, id="zero-to-bool"),
    pytest.param("1.5", float, id="str-to-float"),
    pytest.param(True, float, id="bool-to-float"),
    pytest.param(math.nan, float, id="nan-float"),
    pytest.param(math.inf, float, id="inf-float"),
    pytest.param("1", int | None, id="str-to-optional-int"),
    # containers: a string or an object is not a list
    pytest.param("ab", list[str], id="str-to-list-of-str"),
    pytest.param({"a": 1}, list[str], id="object-to-list-of-str"),
    pytest.param("ab", list[int], id="str-to-list-of-int"),
    pytest.param({}, list[float], id="object-to-list-of-float"),
    pytest.param("", list[float], id="empty-str-to-list-of-float"),
    pytest.param({}, list[Inner], id="object-to-list-of-records"),
    pytest.param({"k": 1}, list[list[int]], id="object-to-list-of-lists"),
    pytest.param([["a", 1]], dict[str, int], id="pairs-to-dict"),
    pytest.param("x", dict[str, int], id="str-to-dict"),
]


@pytest.mark.parametrize(("data", "tp"), REFUSED_COERCIONS)
def test_strict_converter_refuses_coercion(data: Any, tp: Any) -> None:
    """No value is silently changed into another type; the problem names the culprit."""
    paths = fails(data, tp)
    assert len(paths) == 1, paths
    path, problem = paths[0]
    assert path == ""
    assert type(data).__name__ in problem or repr(data) in problem, problem


@pytest.mark.parametrize(
    ("data", "tp"),
    [
        (3, int),
        (-(2**70), int),
        ("s", str),
        (True, bool),
        (False, bool),
        (2.5, float),
        (None, int | None),
        ([1, 2], list[int]),
        (["a"], list[str]),
        ([1.5, 2.0], list[float]),
        ({"k": 1}, dict[str, int]),
    ],
    ids=repr,
)
def test_strict_converter_accepts_exact_types(data: Any, tp: Any) -> None:
    got = CONVERTER.structure(data, tp)
    assert got == data
    assert type(got) is type(data)


def test_an_int_is_accepted_for_a_float() -> None:
    """JSON writers may write ``1`` for ``1.0``; that is not a coercion of meaning."""
    got = CONVERTER.structure(1, float)
    assert got == 1.0
    assert type(got) is float


def test_structured_lists_are_new_objects() -> None:
    data = [1, 2]
    got = CONVERTER.structure(data, list[int])
    got.append(3)
    assert data == [1, 2]


# ============================================================================ records


def test_records_round_trip() -> None:
    value = Outer(
        x=1,
        inner=Inner(a=2, b=["p"]),
        many=[Inner(a=3)],
        by_name={"k": Inner(a=4, b=["q", "r"])},
        ratios=[0.5],
        label="l",
    )
    data = CONVERTER.unstructure(value)
    assert data == {
        "x": 1,
        "inner": {"a": 2, "b": ["p"]},
        "many": [{"a": 3, "b": []}],
        "by_name": {"k": {"a": 4, "b": ["q", "r"]}},
        "ratios": [0.5],
        "label": "l",
    }
    assert CONVERTER.structure(data, Outer) == value


def test_extra_keys_are_refused_at_every_level() -> None:
    paths = fails({"x": 1, "inner": {"a": 1, "zz": 0}, "yy": 2}, Outer)
    assert ("inner.zz", "extra field not allowed") in paths
    assert ("yy", "extra field not allowed") in paths


def test_missing_fields_are_named() -> None:
    paths = fails({"inner": {"b": []}}, Outer)
    assert ("x", "required field missing") in paths
    assert ("inner.a", "required field missing") in paths


def test_error_paths_name_every_bad_field() -> None:
    """Attribute names join with dots; list indexes and non-identifier keys in brackets."""
    data = {
        "x": "1",
        "inner": {"a": 1.0, "b": []},
        "many": [{"a": 1}, {"a": "z"}],
        "by_name": {"k": {"a": 1, "c": 3}},
        "ratios": [1.5, "2"],
        "label": 7,
    }
    paths = dict(fails(data, Outer))
    assert set(paths) == {"x", "inner.a", "many[1].a", "by_name.k.c", "ratios[1]", "label"}
    assert "str" in paths["x"]
    assert paths["by_name.k.c"] == "extra field not allowed"


def test_error_paths_name_the_list_holding_a_bad_item() -> None:
    """A bad item of a list of primitives names the list (or the item within it)."""
    paths = fails({"x": 1, "inner": {"a": 1, "b": ["ok", 2]}}, Outer)
    assert len(paths) == 1
    path, problem = paths[0]
    assert path in {"inner.b", "inner.b[1]"}
    assert "2" in problem


def test_describe_error_prefixes_a_root() -> None:
    with pytest.raises(ClassValidationError) as info:
        CONVERTER.structure({"x": "1", "inner": {"a": 1}}, Outer)
    text = describe_error(info.value, "state.fields")
    assert text.startswith("state.fields.x: ")
    assert error_paths(info.value, "state.fields")[0][0] == "state.fields.x"


def test_error_paths_of_a_plain_error_is_the_root() -> None:
    assert error_paths(TypeError("boom")) == [("", "boom")]
    assert error_paths(TypeError("boom"), "version") == [("version", "boom")]


def test_make_converter_is_fresh_and_equally_strict() -> None:
    converter = make_converter()
    assert converter is not CONVERTER
    with pytest.raises(TypeError, match="expected an integer"):
        converter.structure("3", int)
    with pytest.raises(ClassValidationError) as info:
        converter.structure({"a": 1, "extra": 2}, Inner)
    assert error_paths(info.value) == [("extra", "extra field not allowed")]
    converter.register_structure_hook(int, lambda v, _: int(v))
    assert converter.structure("3", int) == 3
    # Hooks on a fresh converter never leak into the shared one.
    with pytest.raises(TypeError, match="expected an integer"):
        CONVERTER.structure("3", int)
