"""Helpers for tests that run the bundled demo suite end to end in a pytester directory."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO_IDS = ("demo-65ce4b7f", "demo-866ff223", "demo-ac9bebc0", "demo-c7a161c8")


def copy_demo(path: Path) -> None:
    """The demo suite and its dataset, with their relative layout, under ``path``."""
    for rel in ("tasks/demo.yaml", "data/demo.jsonl"):
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, path / rel)


def demo_args(cache: Path, results: Path, *extra: str) -> list[str]:
    return [
        "tasks/demo.yaml",
        "-p",
        "no:cacheprovider",
        f"--isobench-cache-dir={cache}",
        f"--isobench-results={results}",
        *extra,
    ]


def run_demo(pytester: pytest.Pytester, cache: Path, results: Path, *extra: str, timeout: float = 400) -> Any:
    """``pytest tasks/demo.yaml`` in a subprocess, records going to ``results``."""
    copy_demo(pytester.path)
    return pytester.runpytest_subprocess(*demo_args(cache, results, *extra), timeout=timeout)


def read_records(results: Path) -> dict[str, dict[str, Any]]:
    """The task records of a results directory, by item id."""
    out = {}
    for path in sorted((results / "tasks").glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        out[record["item_id"]] = record
    return out


def assert_no_worktree(cache: Path) -> None:
    """No file of a worktree is left under the cache, and git knows of none but the clone."""
    left = [p for p in (cache / "worktrees").rglob("*") if p.is_file()] if (cache / "worktrees").exists() else []
    assert left == [], f"files of worktrees left behind: {left[:5]}"
    listing = subprocess.run(
        ["git", "-C", str(cache / "demo-repo"), "worktree", "list", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert listing.count("worktree ") == 1, listing


def junit_properties(path: Path) -> dict[str, dict[str, str]]:
    """The properties of each test case of a junitxml file, by test case name."""
    tree = ET.parse(path)
    found: dict[str, dict[str, str]] = {}
    for case in tree.iter("testcase"):
        props = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        found[case.get("name", "")] = props
    return found
