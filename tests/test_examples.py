"""Run every script in examples/ and compare its output with its golden file."""

import functools
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(EXAMPLES_DIR.glob("*.py"))

# The data lines EXAMPLES.md requires of each example, leading blank line
# included; a closing paragraph of the example's own may follow them.
# Example 02 prints this package's DAG id where the reference prints its urn.
EXPECTED: dict[str, str] = {
    "01_linear.py": """
Linear DAG: classify -> respond -> END
  on_topic  → "Echo: How do I declare a const in TypeScript?"
  off_topic → "I only talk about coding, not the weather."
""",
    "02_builder.py": """
Builder DAG: same shape as 01-linear, constructed via DAGBuilder (02-builder)
  input:  "What is a generic type parameter?"
  reply:  "Echo: What is a generic type parameter?"

  built DAG @id: urn:dagon:dag:chat:1
  nodes:  SingleNode(classify) → SingleNode(respond) → TerminalNode(end)
""",
    "03_schema.py": """
Loaded:  from-json v1 (2 node(s))
Executed: metadata.seen = true
Round-trip equal: true
ValidationError (first failure): Invalid DAG:
""",
    "04_scatter.py": """
Scatter DAG: probe runs once per URL, concurrency=2
  succeeded: ["https://bb.example","https://dddd.example"]
  failed:    ["https://a.example","https://ccc.example"]
""",
    "04b_scatter_collect.py": """
Scatter-collect: scatter over providers, collect candidates, select best
  providers:  ["alpha","bravo","charlie","delta"]
  candidates: 4 collected (none discarded)
    - alpha: score 56
    - bravo: score 50
    - charlie: score 71
    - delta: score 52
  chosen:     charlie (score 71)
""",
    "05_embedded_dags.py": """
EmbeddedDAGNode: parent -> invoke(child) -> END
  seed=41 → child DAG incremented payload → result=42
""",
    "06_cancellation.py": """
Cancellation shapes: AbortSignal vs deadlineMs
  (a) AbortController: lifecycle=cancelled cursor="slow"
  (b) deadlineMs:      lifecycle=timed_out cursor="slow"
""",
    "07_retry.py": """
Retry DAG: fetch with EXPONENTIAL backoff
  attempts=3  result="OK"
  (threw 2 time(s) before succeeding)
""",
    "08_checkpoint.py": """
Checkpoint lifecycle: abort -> snapshot -> restore -> resume
  partial: count=1 cursor="b"
  restored: count=1 cursor="b"
  resumed: count=3 log=["tick:1","tick:2","tick:3"]
""",
    "09_terminals.py": """
Pattern 1: null route (implicit terminal):
  lifecycle.kind = completed

Pattern 2: explicit completed terminal:
  lifecycle.kind = completed

Pattern 3a: check node routes to end-ok:
  lifecycle.kind = completed

Pattern 3b: check node routes to end-fail:
  lifecycle.kind = failed

Pattern 4a: scatter child DAG succeeds -> end-ok:
  lifecycle.kind = completed

Pattern 4b: scatter child DAG errors -> end-fail:
  lifecycle.kind = failed
""",
    "10_shared_state.py": """
Part 1: Normal run:
  log.entries = "step-a,child-step,step-b"

Part 2: Checkpoint captured:
  cursor                  = "run-child"
  log at capture          = "step-a"
  log after restoreStores = "step-a"
  log after resume        = "step-a,child-step,step-b"
""",
}


@functools.cache
def run_example(path: Path) -> subprocess.CompletedProcess[str]:
    """Run one example script once per test session and keep what it did."""
    return subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        encoding="utf-8",
    )


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_example_matches_golden_output(path: Path) -> None:
    """The script exits 0, writes nothing to stderr, and prints exactly its .out file."""
    proc = run_example(path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout == path.with_suffix(".out").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_starts_with_required_lines(name: str) -> None:
    """The output opens with the EXAMPLES.md data lines, then ends or has a paragraph."""
    proc = run_example(EXAMPLES_DIR / name)
    assert proc.stdout.startswith(EXPECTED[name]), proc.stdout
    rest = proc.stdout.removeprefix(EXPECTED[name])
    assert rest == "" or rest.startswith("\n"), "closing paragraph must follow a blank line"


def test_every_example_has_required_lines() -> None:
    """Each script in examples/ is one of the EXAMPLES.md examples, and none is missing."""
    assert [p.name for p in SCRIPTS] == sorted(EXPECTED)
