"""The public contract: names, their module, and which classes are final (DESIGN.md table)."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dagon_actors

CONTRACT = {
    # the DESIGN.md "public contract" table
    "Dagonizer",
    "DAGBuilder",
    "DAG",
    "NodeStateBase",
    "LifecycleVariant",
    "Node",
    "NodeContext",
    "NodeOutput",
    "Execution",
    "ExecutionResult",
    "NodeEvent",
    "AbortController",
    "RetryPolicy",
    "BackoffStrategy",
    "Gather",
    "Store",
    "BaseStore",
    "MemoryStore",
    "TypedStore",
    "StoreSnapshot",
    "StoreError",
    "StoreErrorReason",
    "Checkpoint",
    "RestoredCheckpoint",
    "DAGError",
    "ValidationError",
    "ExecutionError",
    "NodeTimeoutError",
    "CheckpointError",
    "AbortSignal",
    "Interruption",
    "ErrorRecord",
    "GatherRecord",
    # the decorator and the transient-field helper
    "node",
    "transient",
    # what the store API hands back: a shared backing, its statistics
    "MemoryBacking",
    "StoreStatistics",
}

RECEIVED = ["Execution", "ExecutionResult", "NodeEvent", "RestoredCheckpoint"]


def test_all_is_the_contract() -> None:
    """``__all__`` lists exactly the DESIGN.md names plus the few helpers they hand out."""
    assert set(dagon_actors.__all__) == CONTRACT


def isort_key(name: str) -> tuple[int, str]:
    """Ruff's RUF022 (isort-style) order: CONSTANT_CASE, then CamelCase, then the rest."""
    if name.isupper():
        return (0, name)
    return (1, name) if name[0].isupper() else (2, name)


def test_all_is_sorted_and_unique() -> None:
    """``__all__`` is sorted the way ruff sorts ``__all__`` (RUF022), with no repeats."""
    names = list(dagon_actors.__all__)
    assert len(names) == len(set(names))
    assert names == sorted(names, key=isort_key)


def test_every_name_is_importable() -> None:
    """Every listed name exists on the package."""
    for name in dagon_actors.__all__:
        assert hasattr(dagon_actors, name), name


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_exports_report_the_public_module(name: str) -> None:
    """Classes and functions say ``dagon_actors``, not a private module."""
    obj = getattr(dagon_actors, name)
    if inspect.isclass(obj) or inspect.isfunction(obj):
        assert obj.__module__ == "dagon_actors"


@pytest.mark.parametrize("name", RECEIVED)
def test_classes_users_receive_are_final(name: str) -> None:
    """Classes made by the dispatcher or the checkpoint are marked ``typing.final``."""
    assert getattr(getattr(dagon_actors, name), "__final__", False) is True


def test_errors_share_one_root() -> None:
    """Every error class subclasses ``DAGError``."""
    for name in (
        "ValidationError",
        "ExecutionError",
        "NodeTimeoutError",
        "CheckpointError",
        "StoreError",
    ):
        assert issubclass(getattr(dagon_actors, name), dagon_actors.DAGError)
    assert issubclass(dagon_actors.DAGError, Exception)


def test_public_surface_is_fully_typed(tmp_path: Path) -> None:
    """`pyright --verifytypes` finds every public name fully typed (score 100%)."""
    pyright = Path(sys.executable).parent / "pyright"
    if not pyright.exists():
        pytest.skip("pyright is not installed beside this interpreter")
    root = Path(dagon_actors.__file__).resolve().parent.parent
    completed = subprocess.run(
        [
            str(pyright),
            "--pythonpath",
            sys.executable,
            "--verifytypes",
            "dagon_actors",
            "--ignoreexternal",
            "--outputjson",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # outside the checkout: the package resolves as installed
        env={**os.environ, "PYTHONPATH": str(root)},
        check=False,
    )
    report = json.loads(completed.stdout)
    completeness = report["typeCompleteness"]
    assert completeness["completenessScore"] == 1.0, [
        diagnostic["message"] for diagnostic in report["generalDiagnostics"]
    ]
    assert completeness["exportedSymbolCounts"]["withUnknownType"] == 0
