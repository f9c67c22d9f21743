"""JSON-compatible values: the one check-and-copy walk behind stores, snapshots and checkpoints.

A JSON value is ``None``, ``bool``, ``int``, a finite ``float``, ``str``, or a
``list`` / ``str``-keyed ``dict`` of JSON values (DESIGN.md "Shared state").
Tuples are refused so a value reads back exactly as it was written. A refusal
names the path of the culprit; a copy shares no container with the original.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dagon_actors._json import NotJSONError, json_check, json_copy

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)

ACCEPTED = [
    None,
    True,
    False,
    0,
    -(2**80),
    1.5,
    -0.0,
    "",
    "text",
    [],
    {},
    [1, "a", None, 2.5, [True, {"k": []}]],
    {"a": {"b": {"c": [1, {"d": None}]}}},
]


@pytest.mark.parametrize("value", ACCEPTED, ids=repr)
def test_json_values_are_accepted_and_copied_equal(value: Any) -> None:
    json_check(value)
    copied = json_copy(value)
    assert copied == value
    assert type(copied) is type(value)


class Thing:
    pass


# (value, path of the culprit with the root path "")
REFUSED = [
    pytest.param((1, 2), "", id="tuple"),
    pytest.param({1, 2}, "", id="set"),
    pytest.param(frozenset(), "", id="frozenset"),
    pytest.param(b"bytes", "", id="bytes"),
    pytest.param(math.nan, "", id="nan"),
    pytest.param(math.inf, "", id="inf"),
    pytest.param(-math.inf, "", id="minus-inf"),
    pytest.param(object(), "", id="object"),
    pytest.param(Thing(), "", id="instance"),
    pytest.param(len, "", id="function"),
    pytest.param(1j, "", id="complex"),
    pytest.param([1, (2, 3)], "[1]", id="tuple-in-list"),
    pytest.param({"a": [1, {2}]}, "a[1]", id="set-deep"),
    pytest.param({"a": {"b": math.nan}}, "a.b", id="nan-deep"),
    pytest.param([[0, [math.inf]]], "[0][1][0]", id="inf-deep"),
    pytest.param({1: "x"}, "[1]", id="int-key"),
    pytest.param({None: "x"}, "[None]", id="none-key"),
    pytest.param({"a": {(1, 2): "x"}}, "a[(1, 2)]", id="tuple-key-deep"),
    pytest.param({"a": [Thing()]}, "a[0]", id="object-deep"),
]


def _where(path: str) -> str:
    # A path below the root may start with the separator ("." before a key).
    return path.removeprefix(".")


@pytest.mark.parametrize(("value", "path"), REFUSED)
def test_non_json_values_are_refused_naming_the_path(value: Any, path: str) -> None:
    with pytest.raises(NotJSONError) as checked:
        json_check(value)
    assert _where(checked.value.path) == path
    with pytest.raises(NotJSONError) as copied:
        json_copy(value)
    assert _where(copied.value.path) == path


@pytest.mark.parametrize(("value", "path"), REFUSED)
def test_a_root_path_prefixes_the_culprit_path(value: Any, path: str) -> None:
    with pytest.raises(NotJSONError) as info:
        json_copy(value, "entries")
    expected = (
        "entries" if not path else f"entries{path}" if path.startswith("[") else f"entries.{path}"
    )
    assert info.value.path == expected


def test_refusal_describes_the_culprit() -> None:
    with pytest.raises(NotJSONError) as info:
        json_check({"a": (1,)}, "value")
    assert "tuple" in info.value.describe()
    assert "value.a" in info.value.describe()
    with pytest.raises(NotJSONError) as info:
        json_check([math.nan])
    assert "nan" in info.value.describe()


def test_copies_share_no_container_with_the_original() -> None:
    original = {"a": [1, {"b": [2]}], "c": {"d": {}}}
    copied = json_copy(original)
    copied["a"][1]["b"].append(3)
    copied["c"]["d"]["e"] = 1
    copied["new"] = True
    assert original == {"a": [1, {"b": [2]}], "c": {"d": {}}}
    original["a"].append("later")
    assert copied["a"] == [1, {"b": [2, 3]}]
    assert copied["a"] is not original["a"]
    assert copied["a"][1] is not original["a"][1]


def test_check_copies_nothing_and_changes_nothing() -> None:
    value = {"a": [1, 2]}
    inner = value["a"]
    assert json_check(value) is None
    assert value["a"] is inner
    assert value == {"a": [1, 2]}


def test_a_refused_copy_has_no_partial_result() -> None:
    """The walk raises; nothing half-copied escapes (the caller writes nothing)."""
    value = {"ok": [1, 2], "bad": {1, 2}}
    with pytest.raises(NotJSONError):
        json_copy(value)
    assert value == {"ok": [1, 2], "bad": {1, 2}}


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES)
def test_property_copy_equals_the_value_and_its_json_round_trip(value: Any) -> None:
    json_check(value)
    copied = json_copy(value)
    assert copied == value
    assert json.loads(json.dumps(copied, allow_nan=False)) == copied


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES)
def test_property_copy_is_independent(value: Any) -> None:
    copied = json_copy(value)
    before = json.dumps(value, sort_keys=True)

    def vandalise(node: Any) -> None:
        if type(node) is list:
            for item in node:
                vandalise(item)
            node.append("vandal")
        elif type(node) is dict:
            for item in node.values():
                vandalise(item)
            node["vandal"] = None

    vandalise(copied)
    assert json.dumps(value, sort_keys=True) == before


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES, st.sampled_from([(1,), {1}, math.nan, object()]))
def test_property_one_bad_leaf_anywhere_is_found(value: Any, bad: Any) -> None:
    wrapped = {"outer": [value, {"leaf": bad}]}
    with pytest.raises(NotJSONError) as info:
        json_check(wrapped)
    assert _where(info.value.path) == "outer[1].leaf"
